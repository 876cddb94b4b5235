import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isHarnessError } from '../errors.ts'
import { checkScenarioText, loadScenarioFile, parseScenarioText, resolveScenarioPath } from './loader.ts'

const minimal = `name: tiny
description: one query on one cluster
seed: 7
clusters:
  - name: trino-a
clients:
  - name: one
    sql: SELECT 1
expectations:
  - kind: ranOn
    clusters: [trino-a]
`

function problemsOf(text: string) {
  const result = checkScenarioText(text)
  if (result.ok) throw new Error('expected the text to be invalid')
  return result.problems
}

describe('scenario loader', () => {
  it('fills the defaults of a minimal file', () => {
    const scenario = parseScenarioText(minimal, 'tiny.yaml')
    expect(scenario.database).toBe('embedded')
    expect(scenario.gateway.instances).toBe(1)
    expect(scenario.clusters[0]).toMatchObject({ routingGroup: 'adhoc', active: true, register: true })
    expect(scenario.clients[0]).toMatchObject({
      queries: 1,
      gateway: 0,
      start: { at: '0ms' },
      headers: { user: 'harness' },
    })
    expect(scenario.actions).toEqual([])
  })

  it.each([
    {
      what: 'a value of the wrong type, with its line and column',
      edit: (text: string) => text.replace('seed: 7', 'seed: seven'),
      path: 'seed',
      line: 3,
      column: 7,
      value: 'seven',
      message: /expected number/,
    },
    {
      what: 'an unknown key, pointing at the key',
      edit: (text: string) => text.replace('    sql: SELECT 1', '    sql: SELECT 1\n    concurency: 2'),
      path: 'clients[0]',
      line: 9,
      column: 5,
      value: undefined,
      message: /unknown key "concurency"/,
    },
    {
      what: 'a missing key, pointing at the map that lacks it',
      edit: (text: string) => text.replace('    sql: SELECT 1\n', ''),
      path: 'clients[0].sql',
      line: 7,
      column: 5,
      value: undefined,
      message: /missing/,
    },
    {
      what: 'a bad duration with the expected form',
      edit: (text: string) =>
        text.replace('    sql: SELECT 1', '    sql: SELECT 1\n    queryTimeout: 10 seconds'),
      path: 'clients[0].queryTimeout',
      line: 9,
      column: 19,
      value: '10 seconds',
      message: /Airlift duration.*500ms/,
    },
    {
      what: 'a reference to a cluster that is not declared',
      edit: (text: string) => text.replace('clusters: [trino-a]', 'clusters: [trino-z]'),
      path: 'expectations[0].clusters[0]',
      line: 11,
      column: 16,
      value: 'trino-z',
      message: /declared clusters \(trino-a\)/,
    },
    {
      what: 'an unknown expectation kind, listing the known ones',
      edit: (text: string) => text.replace('kind: ranOn', 'kind: ranEverywhere'),
      path: 'expectations[0].kind',
      line: 10,
      column: 11,
      value: 'ranEverywhere',
      message: /ranOn/,
    },
  ])('reports $what', ({ edit, path: issuePath, line, column, value, message }) => {
    const problems = problemsOf(edit(minimal))
    const problem = problems.find((candidate) => candidate.path === issuePath)
    expect(problem, JSON.stringify(problems)).toBeDefined()
    expect(problem).toMatchObject({ line, column })
    expect(problem?.value).toEqual(value)
    expect(problem?.message).toMatch(message)
  })

  it('reports every problem of a file at once, cross-references included', () => {
    const text = minimal
      .replace('seed: 7', 'seed: -1')
      .replace('clusters: [trino-a]', 'clusters: [nope]')
      .replace('    sql: SELECT 1', '    sql: SELECT 1\n    concurrency: 0')
    const paths = problemsOf(text).map((problem) => problem.path)
    expect(paths).toEqual(['seed', 'clients[0].concurrency', 'expectations[0].clusters[0]'])
  })

  it('rejects an action that does two things or none', () => {
    const text = `${minimal}actions:\n  - at: 1s\n  - deactivate: trino-a\n    activate: trino-a\n`
    const problems = problemsOf(text)
    expect(problems.map((problem) => [problem.path, problem.line])).toEqual([
      ['actions[0]', 13],
      ['actions[1].activate', 15],
    ])
    expect(problems[1]?.message).toContain('got deactivate and activate')
  })

  it("judges the inline gateway config with the gateway's own parser, located in the file", () => {
    const text = minimal.replace(
      'clusters:',
      'gateway:\n  config:\n    monitor:\n      taskDelay: soon\nclusters:',
    )
    expect(problemsOf(text)).toEqual([
      {
        path: 'gateway.config.monitor.taskDelay',
        line: 7,
        column: 18,
        message: expect.stringMatching(/^CONFIG_INVALID: expected an Airlift duration.*\(got "soon"\)$/),
      },
    ])
  })

  it('reports YAML syntax errors with their position', () => {
    const problems = problemsOf('name: a\nclusters: [unclosed\n')
    expect(problems[0]?.message).toMatch(/^YAML syntax/)
    expect(problems[0]?.line).toBeGreaterThan(0)
  })

  it('throws SCENARIO_INVALID whose message names the file, line, column, path and value', () => {
    try {
      parseScenarioText(minimal.replace('seed: 7', 'seed: seven'), 'scenarios/tiny.yaml')
      expect.unreachable()
    } catch (error) {
      expect(isHarnessError(error) && error.code).toBe('SCENARIO_INVALID')
      expect((error as Error).message).toContain(
        'scenarios/tiny.yaml:3:7 seed: expected number, received string (got "seven")',
      )
    }
  })

  it('returns problems and never throws for arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('*!', '&a [*a, *a]', 'a: *b', '---\n---')),
        (text) => {
          const result = checkScenarioText(text)
          if (!result.ok) expect(result.problems.length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('finds scenario files by path and refuses unknown names', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tgl-scenario-'))
    const file = path.join(dir, 'mine.yaml')
    await writeFile(file, minimal)
    expect(resolveScenarioPath(file)).toBe(file)
    const loaded = await loadScenarioFile(file)
    expect(loaded.dir).toBe(dir)
    expect(() => resolveScenarioPath('no-such-scenario')).toThrow(/SCENARIO|no scenario file found/)
  })
})
