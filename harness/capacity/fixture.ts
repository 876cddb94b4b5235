import type { CapacityReport, StepResult } from './report-schema.ts'

/**
 * A small hand-written capacity result for the tests of the pure parts (summary, verdict,
 * comparison, rendering): two closed-loop and two open-loop steps per target.
 */

const usage = (cpuSecondsPer1000Requests: number, rssMbPeak: number) => ({
  cpuSeconds: 10,
  cpuSecondsPerSecond: 1,
  cpuSecondsPer1000Requests,
  rssMbPeak,
  rssMbPer1000RequestsPerSecond: 30,
})

export function fixtureStep(overrides: Partial<StepResult>): StepResult {
  return {
    mode: 'closed',
    connections: 16,
    offeredRequestsPerSecond: null,
    durationS: 10,
    requests: 40_000,
    requestsPerSecond: 4000,
    queriesPerSecond: 1000,
    latencyMs: { p50: 1, p90: 2, p99: 4, p999: 8, max: 20, mean: 1.2 },
    coordinatedOmissionCorrected: false,
    errors: 0,
    non2xx: 0,
    timeouts: 0,
    resets: 0,
    unfinishedQueries: 0,
    droppedRequests: 0,
    loadGeneratorCpuSecondsPerSecond: 0.8,
    gatewayProcess: null,
    mockProcess: null,
    ...overrides,
  }
}

export function fixtureReport(): CapacityReport {
  return {
    schemaVersion: 1,
    runId: '2026-01-01T00-00-00Z-quick',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:50.000Z',
    mode: 'quick',
    scenario: null,
    seed: 7,
    codeVersion: 'abc1234',
    machine: {
      cpus: 2,
      cpuModel: 'Test CPU',
      node: 'v20.0.0',
      platform: 'linux x64',
      memoryTotalMb: 8192,
      loadAverage1mStart: 1.5,
      loadAverage1mEnd: 1.7,
    },
    topology: {
      clusters: [{ name: 'trino-a', routingGroup: 'adhoc' }],
      directTarget: 'trino-a',
      database: 'embedded PGlite in its own process',
      processes: 'separate processes',
    },
    protocol: {
      sql: 'SELECT 1 /* mock: duration=0ms rows=1 */',
      requestsPerQuery: 4,
      headers: { 'x-trino-user': 'capacity' },
    },
    direct: {
      closedLoop: [
        fixtureStep({ connections: 4, requestsPerSecond: 3000, queriesPerSecond: 750 }),
        fixtureStep({
          connections: 16,
          requestsPerSecond: 4000,
          queriesPerSecond: 1000,
          mockProcess: usage(0.12, 60),
        }),
      ],
      openLoop: [
        fixtureStep({
          mode: 'open',
          offeredRequestsPerSecond: 1000,
          requestsPerSecond: 1000,
          queriesPerSecond: 250,
          coordinatedOmissionCorrected: true,
          latencyMs: { p50: 0.5, p90: 0.8, p99: 1.5, p999: 3, max: 5, mean: 0.6 },
        }),
        fixtureStep({
          mode: 'open',
          offeredRequestsPerSecond: 1500,
          requestsPerSecond: 1500,
          queriesPerSecond: 375,
          coordinatedOmissionCorrected: true,
          latencyMs: { p50: 0.6, p90: 1, p99: 2, p999: 4, max: 6, mean: 0.7 },
        }),
      ],
    },
    gateway: {
      closedLoop: [
        fixtureStep({
          connections: 4,
          requestsPerSecond: 2000,
          queriesPerSecond: 500,
          gatewayProcess: usage(0.5, 90),
        }),
        fixtureStep({
          connections: 16,
          requestsPerSecond: 3000,
          queriesPerSecond: 750,
          gatewayProcess: usage(0.33, 95),
        }),
      ],
      openLoop: [
        fixtureStep({
          mode: 'open',
          offeredRequestsPerSecond: 1000,
          requestsPerSecond: 1000,
          queriesPerSecond: 250,
          coordinatedOmissionCorrected: true,
          latencyMs: { p50: 0.8, p90: 1.2, p99: 2.5, p999: 5, max: 7, mean: 0.9 },
          gatewayProcess: usage(0.4, 92),
        }),
        fixtureStep({
          mode: 'open',
          offeredRequestsPerSecond: 1500,
          requestsPerSecond: 1500,
          queriesPerSecond: 375,
          coordinatedOmissionCorrected: true,
          latencyMs: { p50: 1.5, p90: 3, p99: 6, p999: 9, max: 12, mean: 1.7 },
          gatewayProcess: usage(0.38, 94),
        }),
      ],
      inFlight: {
        queriesInFlightTarget: 1000,
        queriesInFlightPeak: 1000,
        connections: 1000,
        durationS: 3,
        rssMbBefore: 95,
        rssMbPeak: 120,
        errors: 0,
        non2xx: 0,
        timeouts: 0,
      },
    },
    // Filled by withDerived().
    summary: {
      direct: {
        saturationRequestsPerSecond: 0,
        saturationQueriesPerSecond: 0,
        saturationConnections: 0,
        mockCpuSecondsPer1000RequestsAtSaturation: null,
      },
      gateway: {
        saturationRequestsPerSecond: 0,
        saturationQueriesPerSecond: 0,
        saturationConnections: 0,
        cpuSecondsPer1000RequestsAtSaturation: null,
        rssMbAtSaturation: null,
      },
      submissionRatio: null,
      halfSaturation: null,
      overheadByRate: [],
      rssMbWithQueriesInFlight: null,
      queriesInFlightPeak: null,
    },
    targets: [],
    verdict: '',
  }
}
