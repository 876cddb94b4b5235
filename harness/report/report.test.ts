import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type DigestedDecision, routingDecisionDigest } from './digest.ts'
import { escapeXml, junitXml } from './junit.ts'
import { codeVersion, type Report, reportMarkdown, writeReportFiles } from './report.ts'

const decision = (
  traceToken: string,
  backend: string,
  fields: Partial<DigestedDecision> = {},
): DigestedDecision => ({
  traceToken,
  requestedGroup: null,
  selectedGroup: 'adhoc',
  fallback: false,
  backend,
  candidates: ['trino-a', 'trino-b'],
  errorCode: null,
  ...fields,
})

const report: Report = {
  scenario: 'tiny',
  seed: 7,
  codeVersion: 'git:abc',
  passed: false,
  expectations: [
    { name: 'ran on a', passed: true, expected: 'on a', actual: '2 of 2 on a' },
    { name: 'no <errors> & such', passed: false, expected: 'no errors', actual: 'HTTP_500 1' },
  ],
  queries: [
    {
      client: 'c',
      seq: 1,
      traceToken: 'tiny/c/1',
      cluster: 'a',
      routingGroup: 'adhoc',
      resourceGroup: 'global',
      state: 'FINISHED',
      errorName: null,
      queuedMs: 1,
      runMs: 2,
      totalMs: 3,
    },
    {
      client: 'c',
      seq: 2,
      traceToken: 'tiny/c/2',
      cluster: null,
      routingGroup: null,
      resourceGroup: null,
      state: 'FAILED',
      errorName: 'HTTP_500',
      queuedMs: 0,
      runMs: 0,
      totalMs: 5,
    },
  ],
  routingDecisionDigest: 'sha256:00',
}

describe('routing decision digest', () => {
  it('does not depend on the order decisions arrived in', () => {
    const decisions = Array.from({ length: 20 }, (_, i) =>
      decision(`s/c/${i}`, i % 3 === 0 ? 'trino-a' : 'trino-b'),
    )
    fc.assert(
      fc.property(fc.shuffledSubarray(decisions, { minLength: decisions.length }), (shuffled) => {
        expect(routingDecisionDigest(shuffled)).toBe(routingDecisionDigest(decisions))
      }),
    )
  })

  it('changes when any decision changes', () => {
    const base = [decision('s/c/1', 'trino-a'), decision('s/c/2', 'trino-b')]
    const digest = routingDecisionDigest(base)
    expect(routingDecisionDigest([decision('s/c/1', 'trino-b'), decision('s/c/2', 'trino-b')])).not.toBe(
      digest,
    )
    expect(
      routingDecisionDigest([decision('s/c/1', 'trino-a', { fallback: true }), base[1] as DigestedDecision]),
    ).not.toBe(digest)
    expect(routingDecisionDigest([...base, decision('s/c/2', 'trino-b')])).not.toBe(digest)
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('ignores the order of the candidate list', () => {
    expect(routingDecisionDigest([decision('t', 'a', { candidates: ['b', 'a'] })])).toBe(
      routingDecisionDigest([decision('t', 'a', { candidates: ['a', 'b'] })]),
    )
  })
})

describe('reports', () => {
  it('writes report.json, report.md, junit.xml and trace.jsonl', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tgl-report-'))
    await writeReportFiles(
      dir,
      report,
      {
        runId: 'r1',
        scenarioFile: 'scenarios/tiny.yaml',
        description: 'Tiny.',
        rerunCommand: 'npm run scenario -- tiny --seed 7',
        durationMs: 1200,
        decisionSource: 'gateway',
      },
      [{ traceToken: 'tiny/c/1', backend: 'a' }],
    )
    expect(JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8'))).toEqual(report)
    expect(Object.keys(JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')))).toEqual([
      'scenario',
      'seed',
      'codeVersion',
      'passed',
      'expectations',
      'queries',
      'routingDecisionDigest',
    ])
    expect(await readFile(path.join(dir, 'trace.jsonl'), 'utf8')).toBe(
      '{"traceToken":"tiny/c/1","backend":"a"}\n',
    )
    const markdown = await readFile(path.join(dir, 'report.md'), 'utf8')
    expect(markdown).toContain('# Scenario tiny: FAILED')
    expect(markdown).toContain('npm run scenario -- tiny --seed 7')
    expect(markdown).toMatch(/\| a \| 1 \| 50.0% \| 1 \| 0 \|/)
    expect(markdown).toContain('| tiny/c/2 | (none) | HTTP_500 |')
    expect(await readFile(path.join(dir, 'junit.xml'), 'utf8')).toContain(
      '<testsuite name="tiny" tests="2" failures="1"',
    )
  })

  it('renders failures and topology errors as JUnit, escaping XML', () => {
    const xml = junitXml([
      { report, durationMs: 1500 },
      {
        scenario: 'broken',
        error: { code: 'TOPOLOGY_START_FAILED', message: 'port <0> "busy"\nsecond line' },
        durationMs: 10,
      },
    ])
    expect(xml).toContain('<testsuites name="scenarios" tests="3" failures="1" errors="1" time="1.510">')
    expect(xml).toContain('name="no &lt;errors&gt; &amp; such"')
    expect(xml).toContain(
      '<failure type="expectation" message="expected no errors">expected no errors\nactual HTTP_500 1</failure>',
    )
    expect(xml).toContain('<error type="TOPOLOGY_START_FAILED" message="port &lt;0&gt; &quot;busy&quot;">')
    expect(escapeXml('a\u0001b')).toBe('ab')
  })

  it('names the code version by commit or package version', () => {
    expect(codeVersion()).toMatch(/^(git:[0-9a-f]{40}(\+dirty)?|package:\d+\.\d+\.\d+)$/)
    expect(codeVersion(tmpdir())).toMatch(/^package:/)
  })

  it('summarises per cluster, group and client', () => {
    const markdown = reportMarkdown(report, {
      runId: 'r',
      scenarioFile: 'f',
      description: 'd',
      rerunCommand: 'x',
      durationMs: 1,
      decisionSource: 'observed',
    })
    for (const heading of [
      '### Per cluster',
      '### Per routing group',
      '### Per resource group',
      '### Per client',
    ]) {
      expect(markdown).toContain(heading)
    }
    expect(markdown).toContain('the gateway was a black box')
  })
})
