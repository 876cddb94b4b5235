import { describe, expect, it } from 'vitest'
import { loadScenarioFile, parseScenarioText, resolveScenarioPath } from '../harness/scenario/loader.ts'
import { benchScenarioFile } from './bench.ts'
import { buildReport } from './report.ts'
import { simulate } from './simulate.ts'
import { buildTopology, type SimOverrides } from './topology.ts'

async function simulated(file: string, overrides: SimOverrides = {}) {
  const loaded = await loadScenarioFile(file)
  const result = await simulate(buildTopology(loaded, overrides))
  return { result, built: buildReport(result, overrides, 'test') }
}

describe('simulate', () => {
  it.each(['weighted-fair', 'least-loaded'])('%s passes in simulation as it does live', async (name) => {
    const { built } = await simulated(resolveScenarioPath(name))
    expect(built.expectations.filter((e) => !e.passed).map((e) => e.message)).toEqual([])
    expect(built.report.passed).toBe(true)
  })

  it('runs a monitor round before each wave: the wave decides on the counts the earlier waves left', async () => {
    const { result } = await simulated(resolveScenarioPath('least-loaded'))
    const loadsOf = (seq: number) =>
      result.trace.find((record) => record.traceToken === `least-loaded/load-test/${seq}`)?.loads
    const counts = (running: number, queued: number) => ({
      runningQueryCount: running,
      queuedQueryCount: queued,
      userQueuedCount: {},
    })
    // Wave 1 (queries 1-5) went fast, slow, fast, slow, fast; the round before query 6 counts them.
    expect(loadsOf(6)).toEqual({ 'trino-fast': counts(3, 0), 'trino-slow': counts(2, 0) })
    // Within a wave only the router's local increments move: query 6 went to trino-slow.
    expect(loadsOf(7)).toEqual({ 'trino-fast': counts(3, 0), 'trino-slow': counts(3, 0) })
    // Wave 3 starts on the slow cluster's four slots full and a fifth query queued.
    expect(loadsOf(11)).toEqual({ 'trino-fast': counts(5, 0), 'trino-slow': counts(4, 1) })
  })

  it('gives byte-identical reports for the same seed, and other decisions for another seed', async () => {
    const overrides = { queries: 3000, clusters: 20, ratePerSecond: 200 }
    const first = await simulated(benchScenarioFile, overrides)
    const second = await simulated(benchScenarioFile, overrides)
    expect(second.built.json).toBe(first.built.json)
    expect(second.built.reportDigest).toBe(first.built.reportDigest)
    const other = await simulated(benchScenarioFile, { ...overrides, seed: 15 })
    expect(other.built.report.routingDecisionDigest).not.toBe(first.built.report.routingDecisionDigest)
  })

  it('spreads --queries over the clients in proportion and copies clusters for --clusters', async () => {
    const { result, built } = await simulated(resolveScenarioPath('weighted-fair'), {
      queries: 1000,
      clusters: 3,
    })
    expect(result.queries.length).toBe(1000)
    expect(built.report.simulation.clients.map((row) => [row.key, row.queries])).toEqual([
      ['everyone-else', 400],
      ['large-customer', 600],
    ])
    expect(result.clusters.map((cluster) => cluster.name)).toEqual(['trino-a', 'trino-a-2', 'trino-a-3'])
  })

  it('counts starvation: a group with waiting queries and none running', async () => {
    const scenario = parseScenarioText(
      `
name: starved
description: a group that can run nothing
seed: 1
resourceGroups:
  groups:
    - { name: global, maxQueued: 10, hardConcurrencyLimit: 2 }
    - { name: stuck, parent: global, maxQueued: 10, hardConcurrencyLimit: 0 }
    - { name: busy, parent: global, maxQueued: 10, hardConcurrencyLimit: 2 }
  selectors:
    - { group: global.stuck, priority: 10, userRegex: stuck }
    - { group: global.busy, priority: 1, userRegex: .* }
clusters:
  - { name: trino-a, resourceGroupSource: db, mock: { workload: { durationMs: 1000 } } }
clients:
  - { name: stuck, headers: { user: stuck }, sql: SELECT 1, queries: 1, queryTimeout: 5s }
  - { name: busy, headers: { user: busy }, sql: SELECT 1, queries: 4, concurrency: 1 }
expectations:
  - kind: errors
`,
      'starved.yaml',
    )
    const result = await simulate(buildTopology({ scenario, file: '/tmp/starved.yaml', dir: '/tmp' }))
    const built = buildReport(result, {}, 'test')
    const rows = Object.fromEntries(
      built.report.simulation.resourceGroups.map((row) => [row.resourceGroup, row]),
    )
    expect(rows['global.stuck']?.starvationMs).toBe(5000)
    expect(rows['global.busy']?.starvationMs).toBe(0)
    expect(result.queries.find((query) => query.client.spec.spec.name === 'stuck')?.errorName).toBe(
      'CLIENT_TIMEOUT',
    )
    expect(built.report.passed).toBe(false)
  })
})
