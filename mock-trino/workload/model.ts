import { z } from 'zod'
import { type Rng, scratchRngFor } from '../../common/random.ts'
import { type TrinoErrorName, trinoErrorNames } from '../errors.ts'
import type { Directive } from './directive.ts'

/**
 * The load model of mock.yaml: how long a query runs, how many rows it returns, how big a page is,
 * and how often it fails. Every draw of a query comes from `rngFor(seed, key)` with the query's
 * trace token (or sequence number) as key, so a query behaves the same in every run.
 */

const nonNegative = z.number().finite().nonnegative()

export const distributionSchema = z.union([
  nonNegative.transform((value) => ({ kind: 'fixed' as const, value })),
  z.strictObject({ kind: z.literal('fixed'), value: nonNegative }),
  z
    .strictObject({ kind: z.literal('uniform'), min: nonNegative, max: nonNegative })
    .refine((d) => d.min <= d.max, { message: 'min must not exceed max' }),
  z.strictObject({ kind: z.literal('exponential'), mean: nonNegative }),
  z.strictObject({ kind: z.literal('lognormal'), median: nonNegative, sigma: nonNegative }),
])

export type Distribution = z.output<typeof distributionSchema>

export const failureSchema = z.strictObject({
  errorName: z.enum(trinoErrorNames),
  probability: z.number().min(0).max(1),
  /** Defaults to the error's usual message. */
  message: z.string().min(1).optional(),
})

/** The largest page a query returns, a bound on one response's size. */
export const pageRowsMaxLimit = 100_000
export const modelRowsMax = 10_000_000

export const workloadSchema = z
  .strictObject({
    durationMs: distributionSchema.default({ kind: 'fixed', value: 0 }),
    /** Caps every drawn duration (long tails of exponential and lognormal models). */
    durationMsMax: nonNegative.default(3_600_000),
    rows: distributionSchema.default({ kind: 'fixed', value: 1 }),
    pageRows: z.number().int().min(1).max(pageRowsMaxLimit).default(1000),
    failures: z.array(failureSchema).max(64).default([]),
    /**
     * CPU time a query uses per second of its run (1000 = one busy core); it accrues evenly from
     * admission to `durationMs`, and is what resource groups' CPU limits count.
     */
    cpuTimeMsPerSecond: distributionSchema.default({ kind: 'fixed', value: 1000 }),
    /** Memory a query holds from admission until it ends; what `softMemoryLimit` counts. */
    peakMemoryBytes: distributionSchema.default({ kind: 'fixed', value: 0 }),
  })
  .refine((w) => w.failures.reduce((sum, f) => sum + f.probability, 0) <= 1 + 1e-9, {
    message: 'the failure probabilities must add up to at most 1',
    path: ['failures'],
  })

export type Workload = z.output<typeof workloadSchema>

export const defaultWorkload: Workload = workloadSchema.parse({})

/** What a query will do once it runs. */
export interface QueryPlan {
  durationMs: number
  rows: number
  /** Total CPU time once the query has run `durationMs`. */
  cpuTimeMs: number
  /** Memory held while running. */
  peakMemoryBytes: number
  failure?: { errorName: TrinoErrorName; message?: string }
}

export function drawValue(distribution: Distribution, rng: Rng): number {
  switch (distribution.kind) {
    case 'fixed':
      return distribution.value
    case 'uniform':
      return distribution.min + rng() * (distribution.max - distribution.min)
    case 'exponential':
      return -distribution.mean * Math.log(1 - rng())
    case 'lognormal': {
      // Box-Muller; 1 - u keeps the logarithm finite.
      const u1 = 1 - rng()
      const u2 = rng()
      const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
      return distribution.median * Math.exp(distribution.sigma * normal)
    }
  }
}

/** The largest memory a query may be modelled to hold (1 PB), a bound against typos. */
export const peakMemoryBytesMax = 1024 ** 5

/**
 * Draws a query's plan. The draws happen in a fixed order (duration, rows, failure, CPU rate,
 * memory) whatever the directive overrides, so a directive on one key never shifts another key's
 * draw, and the CPU and memory draws, added last, left every earlier plan as it was.
 */
export function planQuery(workload: Workload, seed: number, key: string, directive?: Directive): QueryPlan {
  // Every draw is made here, before anything else builds a PRNG: the scratch one allocates nothing.
  const rng = scratchRngFor(seed, key)
  const drawnDurationMs = Math.min(workload.durationMsMax, Math.round(drawValue(workload.durationMs, rng)))
  const drawnRows = Math.min(modelRowsMax, Math.round(drawValue(workload.rows, rng)))
  const failureDraw = rng()
  const cpuTimeMsPerSecond = drawValue(workload.cpuTimeMsPerSecond, rng)
  const drawnPeakMemoryBytes = Math.min(
    peakMemoryBytesMax,
    Math.round(drawValue(workload.peakMemoryBytes, rng)),
  )
  const durationMs = directive?.durationMs ?? drawnDurationMs
  const plan: QueryPlan = {
    durationMs,
    rows: directive?.rows ?? drawnRows,
    cpuTimeMs: directive?.cpuTimeMs ?? Math.round((cpuTimeMsPerSecond * durationMs) / 1000),
    peakMemoryBytes: directive?.peakMemoryBytes ?? drawnPeakMemoryBytes,
  }
  if (directive?.fail !== undefined) {
    plan.failure = { errorName: directive.fail }
    return plan
  }
  let cumulative = 0
  for (const failure of workload.failures) {
    cumulative += failure.probability
    if (failureDraw < cumulative) {
      plan.failure =
        failure.message === undefined
          ? { errorName: failure.errorName }
          : { errorName: failure.errorName, message: failure.message }
      break
    }
  }
  return plan
}

/** A running query's cumulative CPU time after `elapsedMs` of its run: it accrues evenly. */
export function cpuTimeMsAfter(plan: QueryPlan, elapsedMs: number): number {
  if (plan.durationMs <= 0) return plan.cpuTimeMs
  return Math.round(plan.cpuTimeMs * Math.min(1, Math.max(0, elapsedMs) / plan.durationMs))
}
