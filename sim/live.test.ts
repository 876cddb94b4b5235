/**
 * A live run (gateway, mock coordinators, clients on loopback) against a simulated run of the same
 * scenario and seed: every routing decision must be equal, trace token by trace token. Header and
 * rule routing and the seeded random choice are order-independent; the least-loaded choice depends
 * on the counts of the monitor's last round, so least-loaded.yaml sends its queries in waves
 * (clients[].waves): the harness has the gateway run a round before each wave and sends the wave's
 * POSTs one at a time, and the simulator takes its rounds at the same points.
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

  it('least-loaded: every routing decision is equal, the counts the router saw fixed by the waves', async () => {
    const { dir, live, liveTrace, result, built } = await liveAndSimulated('least-loaded')
    expect(live.report.passed).toBe(true)
    expect(built.report.passed).toBe(true)
    // The waves' monitor rounds all came before any query ended: the counts each round measured
    // follow from the scenario alone. A machine too slow for that has nothing to compare.
    expect(live.report.monitorRounds, 'a query ended before the last monitor round').toEqual({
      driven: 10,
      queriesEndedBeforeLast: 0,
    })
    const routed = liveTrace.filter((record) => record.kind === 'routed')
    expect(routed.length).toBe(50)
    expect(routed.every((record) => record.loads !== undefined)).toBe(true)
    const liveDecisions = decisionsByToken(liveTrace)
    const simDecisions = decisionsByToken(result.trace)
    expect(Object.fromEntries(simDecisions)).toEqual(Object.fromEntries(liveDecisions))
    // The counts each decision compared, too: the same rounds, the same local increments.
    const loadsOf = (records: readonly RoutingDecisionRecord[]) =>
      Object.fromEntries(
        records
          .filter((record) => record.kind === 'routed')
          .map((record) => [record.traceToken, record.loads]),
      )
    expect(loadsOf(result.trace)).toEqual(loadsOf(liveTrace))
    expect(built.report.routingDecisionDigest).toBe(live.report.routingDecisionDigest)
    const { result: replayed } = await runReplay([path.join(dir, 'trace.jsonl')])
    expect(replayed.differences).toEqual([])
    expect(replayed.replayed).toBe(routed.length)
  })
})
