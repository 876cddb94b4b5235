import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rngFor } from '../../common/random.ts'
import { cpuTimeMsAfter, drawValue, planQuery, workloadSchema } from './model.ts'

describe('load model', () => {
  it('gives a query the same plan for the same seed and trace token, whatever was drawn before', () => {
    const workload = workloadSchema.parse({
      durationMs: { kind: 'lognormal', median: 200, sigma: 1 },
      rows: { kind: 'uniform', min: 0, max: 100 },
      failures: [{ errorName: 'EXCEEDED_TIME_LIMIT', probability: 0.3 }],
    })
    const first = planQuery(workload, 42, 'trace-1')
    planQuery(workload, 42, 'trace-2')
    expect(planQuery(workload, 42, 'trace-1')).toEqual(first)
    expect(planQuery(workload, 43, 'trace-1')).not.toEqual(first)
  })

  it('lets a directive override a key without shifting the other draws', () => {
    const workload = workloadSchema.parse({
      durationMs: { kind: 'uniform', min: 0, max: 1000 },
      rows: { kind: 'uniform', min: 0, max: 1000 },
    })
    const plain = planQuery(workload, 1, 'k')
    const overridden = planQuery(workload, 1, 'k', { durationMs: 5 })
    // CPU time follows the run time at the drawn rate (default one core).
    expect(overridden).toEqual({ ...plain, durationMs: 5, cpuTimeMs: 5 })
    expect(planQuery(workload, 1, 'k', { fail: 'QUERY_REJECTED' }).failure).toEqual({
      errorName: 'QUERY_REJECTED',
    })
  })

  it('models CPU time as the drawn rate times the duration, and memory as drawn, unless a directive says', () => {
    const workload = workloadSchema.parse({
      durationMs: 2000,
      cpuTimeMsPerSecond: 4000,
      peakMemoryBytes: { kind: 'uniform', min: 100, max: 200 },
    })
    const plan = planQuery(workload, 5, 'q')
    expect(plan.cpuTimeMs).toBe(8000)
    expect(plan.peakMemoryBytes).toBeGreaterThanOrEqual(100)
    expect(plan.peakMemoryBytes).toBeLessThanOrEqual(200)
    expect(planQuery(workload, 5, 'q')).toEqual(plan)
    expect(planQuery(workload, 5, 'q', { cpuTimeMs: 7, peakMemoryBytes: 9 })).toEqual({
      ...plan,
      cpuTimeMs: 7,
      peakMemoryBytes: 9,
    })
    expect([0, 500, 2000, 5000].map((elapsedMs) => cpuTimeMsAfter(plan, elapsedMs))).toEqual([
      0, 2000, 8000, 8000,
    ])
  })

  it('keeps the plans drawn before CPU and memory were modelled (they are drawn last)', () => {
    const workload = workloadSchema.parse({
      durationMs: { kind: 'uniform', min: 0, max: 1000 },
      rows: { kind: 'uniform', min: 0, max: 1000 },
      peakMemoryBytes: { kind: 'uniform', min: 0, max: 1000 },
    })
    const rng = rngFor(11, 'k')
    const durationMs = Math.round(rng() * 1000)
    const rows = Math.round(rng() * 1000)
    const plan = planQuery(workload, 11, 'k')
    expect([plan.durationMs, plan.rows]).toEqual([durationMs, rows])
  })

  it('fails queries at the configured rate with the configured error', () => {
    const workload = workloadSchema.parse({
      failures: [{ errorName: 'CLUSTER_OUT_OF_MEMORY', probability: 0.25 }],
    })
    let failed = 0
    for (let i = 0; i < 4000; i++)
      if (planQuery(workload, 9, `seq/${i}`).failure?.errorName === 'CLUSTER_OUT_OF_MEMORY') failed++
    expect(failed / 4000).toBeGreaterThan(0.2)
    expect(failed / 4000).toBeLessThan(0.3)
  })

  it('draws within the bounds of each distribution', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.string(),
        (a, b, key) => {
          const rng = rngFor(3, key)
          const [min, max] = a <= b ? [a, b] : [b, a]
          const uniform = drawValue({ kind: 'uniform', min, max }, rng)
          expect(uniform).toBeGreaterThanOrEqual(min)
          expect(uniform).toBeLessThanOrEqual(max)
          expect(drawValue({ kind: 'exponential', mean: a }, rng)).toBeGreaterThanOrEqual(0)
          expect(Number.isFinite(drawValue({ kind: 'lognormal', median: a, sigma: 2 }, rng))).toBe(true)
        },
      ),
    )
  })

  it('refuses failure probabilities adding up to more than one, naming the field', () => {
    const result = workloadSchema.safeParse({
      failures: [
        { errorName: 'QUERY_REJECTED', probability: 0.6 },
        { errorName: 'USER_CANCELED', probability: 0.6 },
      ],
    })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path).toEqual(['failures'])
  })

  it('refuses unknown Trino error names', () => {
    expect(workloadSchema.safeParse({ failures: [{ errorName: 'NOPE', probability: 0.1 }] }).success).toBe(
      false,
    )
  })
})
