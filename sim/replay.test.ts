import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { loadScenarioFile, resolveScenarioPath } from '../harness/scenario/loader.ts'
import { runReplay } from './replay-cli.ts'
import { buildReport, writeSimReport } from './report.ts'
import { simulate } from './simulate.ts'
import { buildTopology } from './topology.ts'

let dir: string
let trace: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tgl-replay-'))
  const loaded = await loadScenarioFile(resolveScenarioPath('rule-precedence'))
  const result = await simulate(buildTopology(loaded))
  await writeSimReport(dir, buildReport(result, {}, 'test'), result, {
    scenarioFile: loaded.file,
    description: 'replay test',
    rerunCommand: '',
  })
  trace = path.join(dir, 'trace.jsonl')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function rulesWith(priorities: Record<string, number>): Promise<string> {
  const { scenario } = await loadScenarioFile(resolveScenarioPath('rule-precedence'))
  const rules = (scenario.gateway.rules ?? []).map((rule) => ({
    ...rule,
    priority: priorities[rule.name] ?? rule.priority,
  }))
  const file = path.join(dir, `rules-${Object.values(priorities).join('-')}.yaml`)
  await writeFile(file, rules.map((rule) => stringify(rule)).join('---\n'))
  return file
}

describe('replay', () => {
  it('reproduces every decision of a trace with the rules that made it', async () => {
    const { result } = await runReplay([trace])
    expect(result.replayed).toBe(16)
    expect(result.differences).toEqual([])
  })

  it('names exactly the decisions that move when one rule changes priority', async () => {
    // small-cluster now runs first, so customers' rule (priority 0) writes last for tagged customers.
    const { result, lines } = await runReplay([trace, '--rules', await rulesWith({ 'small-cluster': -1 })])
    const { scenario } = await loadScenarioFile(resolveScenarioPath('rule-precedence'))
    const moved = Array.from({ length: 4 }, (_, seq) => `${scenario.name}/customers-small-cluster/${seq + 1}`)
    expect(result.differences.map((difference) => difference.key).sort()).toEqual(moved)
    for (const difference of result.differences) {
      expect(difference.fields).toEqual(['selectedGroup', 'backend'])
      expect(difference.recorded).toBe('internal -> trino-b')
      expect(difference.replayed).toBe('adhoc -> trino-a')
      expect(difference.why).toMatch(
        /rule "customers" set routingGroup last \(matched: small-cluster, customers\)/,
      )
    }
    expect(lines.at(-1)).toMatch(/16 decisions replayed .* 4 differ/)
  })

  it('finds nothing moved when a priority change keeps the order', async () => {
    const { result } = await runReplay([trace, '--rules', await rulesWith({ 'small-cluster': 5 })])
    expect(result.differences).toEqual([])
  })

  it('replays a query_history export by routing group', async () => {
    const rows = (await readFile(trace, 'utf8'))
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            traceToken: string
            selectedGroup: string
            user: string
            request: { headers: Record<string, string> }
          },
      )
      .map((record) => ({
        query_id: record.traceToken,
        query_text: 'SELECT 1',
        user_name: record.user,
        source: record.request.headers['x-trino-source'] ?? null,
        routing_group: record.selectedGroup,
        backend_url: 'http://127.0.0.1:1',
      }))
    const file = path.join(dir, 'history.jsonl')
    await writeFile(file, rows.map((row) => JSON.stringify(row)).join('\n'))
    const { result } = await runReplay([file, '--scenario', 'rule-precedence'])
    expect(result.format).toBe('query_history')
    // The export keeps no X-Trino-Tag: the tagged customers' queries replay into adhoc.
    expect(result.differences.map((difference) => difference.key).sort()).toEqual(
      Array.from({ length: 4 }, (_, seq) => `rule-precedence/customers-small-cluster/${seq + 1}`),
    )
  })

  it('refuses a line that is not a decision record, naming it', async () => {
    const file = path.join(dir, 'bad.jsonl')
    await writeFile(file, '{"kind":"routed"}\n')
    await expect(runReplay([file, '--scenario', 'rule-precedence'])).rejects.toMatchObject({
      code: 'REPLAY_INPUT_INVALID',
      message: expect.stringContaining('bad.jsonl:1'),
    })
  })
})
