import fc from 'fast-check'
import { Agent } from 'undici'
import { describe, expect, it } from 'vitest'
import type { BackendRecord } from '../store/types.ts'
import {
  defaultHealthThresholds,
  type FlapGuardState,
  guardStatus,
  type HealthThresholds,
  initialFlapGuardState,
} from './flap-guard.ts'
import { createHealthMonitor } from './monitor.ts'
import type { ProbeResult } from './probes/index.ts'
import { BackendRegistry } from './registry.ts'
import type { TrinoStatus } from './trino-status.ts'

/** Feeds probe results through the guard as the monitor does; returns the status in force after each. */
function run(probes: readonly TrinoStatus[], thresholds: HealthThresholds): TrinoStatus[] {
  let current: TrinoStatus | undefined
  let state: FlapGuardState = initialFlapGuardState
  return probes.map((probed) => {
    const step = guardStatus(current, probed, state, thresholds)
    current = step.status
    state = step.state
    return step.status
  })
}

const H = 'HEALTHY' as const
const U = 'UNHEALTHY' as const
const K = 'UNKNOWN' as const
const P = 'PENDING' as const

describe('flap guard (monitor.failureThreshold / successThreshold)', () => {
  it('keeps a cluster HEALTHY through one slow probe when failureThreshold is 2', () => {
    expect(run([H, U, H, U, H], { failureThreshold: 2, successThreshold: 1 })).toEqual([H, H, H, H, H])
  })

  it('flaps on every failed probe with the defaults, as Trino Gateway does (#671)', () => {
    expect(run([H, U, H, U, H], defaultHealthThresholds)).toEqual([H, U, H, U, H])
  })

  it.each([
    // [probes, thresholds, statuses in force]
    [[H, U, U, U], { failureThreshold: 3, successThreshold: 1 }, [H, H, H, U]],
    [[H, K, K], { failureThreshold: 2, successThreshold: 1 }, [H, H, K]],
    [[H, U, U, H, H, H], { failureThreshold: 2, successThreshold: 3 }, [H, H, U, U, U, H]],
    [[H, U, H, U, H], { failureThreshold: 1, successThreshold: 2 }, [H, U, U, U, U]],
    // A cluster never taken out becomes HEALTHY at once, whatever successThreshold says.
    [[P, H], { failureThreshold: 1, successThreshold: 3 }, [P, H]],
    [[H], { failureThreshold: 1, successThreshold: 3 }, [H]],
    // Down from the start: taken out, so its recovery needs the successes.
    [[U, H, H], { failureThreshold: 2, successThreshold: 2 }, [U, U, H]],
    // Starting is the cluster's own word: PENDING applies at once.
    [[H, P, H], { failureThreshold: 3, successThreshold: 1 }, [H, P, H]],
  ] as Array<[TrinoStatus[], HealthThresholds, TrinoStatus[]]>)(
    'puts %j through %j in force as %j',
    (probes, thresholds, expected) => {
      expect(run(probes, thresholds)).toEqual(expected)
    },
  )

  it('leaves HEALTHY only after failureThreshold failures in a row, and returns only after successThreshold successes', () => {
    const probe = fc.constantFrom<TrinoStatus>(H, H, U, K)
    fc.assert(
      fc.property(
        fc.array(probe, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (probes, failureThreshold, successThreshold) => {
          const statuses = run(probes, { failureThreshold, successThreshold })
          for (let i = 1; i < statuses.length; i++) {
            const recent = (n: number) => probes.slice(Math.max(0, i - n + 1), i + 1)
            if (statuses[i - 1] === H && statuses[i] !== H) {
              const last = recent(failureThreshold)
              if (last.length < failureThreshold || last.some((p) => p === H)) return false
            }
            if (statuses[i - 1] !== H && statuses[i] === H) {
              const last = recent(successThreshold)
              // The first success of a never-demoted cluster is the one exception.
              const everFailedBefore = probes.slice(0, i).some((p) => p === U || p === K)
              if (everFailedBefore && (last.length < successThreshold || last.some((p) => p !== H)))
                return false
            }
          }
          return true
        },
      ),
    )
  })
})

describe('flap guard in the health monitor', () => {
  const silent = { debug() {}, warn() {} }
  const backend: BackendRecord = {
    name: 'c1',
    routingGroup: 'adhoc',
    proxyTo: 'http://127.0.0.1:1',
    externalUrl: null,
    active: true,
  }
  const measured = (trinoStatus: TrinoStatus, running: number): ProbeResult => ({
    trinoStatus,
    runningQueryCount: running,
    queuedQueryCount: 0,
    numWorkerNodes: trinoStatus === 'HEALTHY' ? 1 : 0,
    userQueuedCount: null,
    ...(trinoStatus === 'HEALTHY' ? {} : { problem: 'GET /metrics: no answer in time' }),
  })

  /** Runs one monitor round per scripted probe result; returns the status and counts after each. */
  async function rounds(script: ProbeResult[], thresholds: HealthThresholds) {
    const registry = new BackendRegistry()
    const fed: Array<[string, number]> = []
    let next = 0
    const dispatcher = new Agent()
    const monitor = createHealthMonitor({
      registry,
      backends: { list: async () => [backend] },
      monitorType: 'METRICS',
      taskDelayMs: 3_600_000,
      retries: 0,
      dispatcher,
      logger: silent,
      statsProbe: async () => script[next++] ?? measured('UNKNOWN', 0),
      thresholds,
      onStats: (name, stats) => fed.push([name, stats.runningQueryCount]),
    })
    const seen: Array<[TrinoStatus, number]> = []
    for (let i = 0; i < script.length; i++) {
      await monitor.runRound()
      const stats = registry.statsOf('c1')
      seen.push([stats.trinoStatus, stats.runningQueryCount])
      expect(stats).not.toHaveProperty('problem')
    }
    await monitor.close()
    await dispatcher.close()
    return { seen, fed }
  }

  const script = [measured('HEALTHY', 4), measured('UNHEALTHY', 0), measured('HEALTHY', 6)]

  it('keeps the cluster HEALTHY with its last counts through one timed-out probe (failureThreshold 2)', async () => {
    const { seen, fed } = await rounds(script, { failureThreshold: 2, successThreshold: 1 })
    expect(seen).toEqual([
      ['HEALTHY', 4],
      ['HEALTHY', 4],
      ['HEALTHY', 6],
    ])
    // The router only hears of measured counts, never of the held failure's zeros.
    expect(fed).toEqual([
      ['c1', 4],
      ['c1', 6],
    ])
  })

  it('takes the cluster out on that probe with Trino Gateway’s default thresholds', async () => {
    const { seen } = await rounds(script, defaultHealthThresholds)
    expect(seen.map(([status]) => status)).toEqual(['HEALTHY', 'UNHEALTHY', 'HEALTHY'])
  })
})
