/**
 * A live run (gateway, mock coordinators, clients on loopback) against a simulated run of the same
 * scenario and seed. Where the decisions are order-independent (header and rule routing, seeded
 * random choice, one cluster per group) every decision must be equal, trace token by trace token.
 * The least-loaded choice depends on when the monitor last counted, which a live run does not
 * reproduce even against itself; there the live trace, which records the counts the router saw,
 * must replay through the core unchanged, and both runs must pass the scenario's expectations.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { RoutingDecisionRecord } from '../gateway/routing/decision.ts'
import { runScenario } from '../harness/run.ts'
import { loadScenarioFile, resolveScenarioPath } from '../harness/scenario/loader.ts'
import { runReplay } from './replay-cli.ts'
import { buildReport } from './report.ts'
import { simulate } from './simulate.ts'
import { buildTopology } from './topology.ts'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

/** What a decision chose, keyed by trace token: the last routed decision of each (retries re-decide). */
function decisionsByToken(records: readonly RoutingDecisionRecord[]): Map<string, string> {
  const byToken = new Map<string, string>()
  for (const record of records) {
    if (record.kind !== 'routed' || record.traceToken === null) continue
    byToken.set(
      record.traceToken,
      JSON.stringify([
        record.requestedGroup,
        record.selectedGroup,
        record.fallback,
        record.backend,
        [...record.candidates].sort(),
        record.errorCode,
      ]),
    )
  }
  return byToken
}

async function liveAndSimulated(name: string) {
  const loaded = await loadScenarioFile(resolveScenarioPath(name))
  const dir = await mkdtemp(path.join(tmpdir(), `tgl-live-${name}-`))
  dirs.push(dir)
  const live = await runScenario(loaded, { reportDir: dir })
  const liveTrace = (await readFile(path.join(dir, 'trace.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as RoutingDecisionRecord)
  const result = await simulate(buildTopology(loaded))
  const built = buildReport(result, {}, live.report.codeVersion)
  return { dir, live, liveTrace, result, built }
}

describe('a live run and a simulated run of the same scenario and seed', () => {
  it.each(['weighted-fair', 'rule-precedence', 'adhoc-fallback'])(
    '%s: every routing decision is equal, and so is the digest',
    async (name) => {
      const { live, liveTrace, result, built } = await liveAndSimulated(name)
      expect(live.report.passed).toBe(true)
      expect(built.report.passed).toBe(true)
      const liveDecisions = decisionsByToken(liveTrace)
      const simDecisions = decisionsByToken(result.trace)
      expect(liveDecisions.size).toBe(result.queries.length)
      expect(Object.fromEntries(simDecisions)).toEqual(Object.fromEntries(liveDecisions))
      // Retried POSTs are decided again live; without retries the digests agree exactly.
      if (liveTrace.filter((record) => record.kind === 'routed').length === result.decisions.length) {
        expect(built.report.routingDecisionDigest).toBe(live.report.routingDecisionDigest)
      }
    },
  )

  it('least-loaded: both pass, and the live trace replays through the routing core unchanged', async () => {
    const { dir, live, liveTrace, result, built } = await liveAndSimulated('least-loaded')
    expect(live.report.passed).toBe(true)
    expect(built.report.passed).toBe(true)
    const routed = liveTrace.filter((record) => record.kind === 'routed')
    expect(routed.length).toBeGreaterThanOrEqual(50)
    expect(routed.every((record) => record.loads !== undefined)).toBe(true)
    const { result: replayed } = await runReplay([path.join(dir, 'trace.jsonl')])
    expect(replayed.differences).toEqual([])
    expect(replayed.replayed).toBe(routed.length)
    // How far the simulation's timing matches the live one's: informational, not asserted.
    const liveDecisions = decisionsByToken(liveTrace)
    const simDecisions = decisionsByToken(result.trace)
    const same = [...simDecisions].filter(([token, decision]) => liveDecisions.get(token) === decision).length
    console.info(`least-loaded: ${same} of ${simDecisions.size} decisions equal live and simulated`)
  })
})
