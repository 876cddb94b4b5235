import type { LatencyMs } from './report-schema.ts'

/**
 * Latency percentiles and coordinated-omission correction, over plain arrays of samples in ms.
 *
 * Why our own correction: autocannon 8 corrects rate-limited runs with
 * `recordValueWithExpectedInterval(value, Math.ceil(1 / rate))`, i.e. an expected interval of 1 ms
 * whatever the rate, which adds a ramp of fake 1..value ms samples to every response slower than
 * 1 ms and pulls the percentiles down. We run autocannon with `ignoreCoordinatedOmission`, collect
 * each response time, and correct with the interval the schedule really has (HdrHistogram's rule:
 * a response slower than the interval hid the sends that should have happened meanwhile, so record
 * value - interval, value - 2 x interval, ... while at least one interval remains).
 */

/** Bounds the synthetic samples one very slow response can add. */
export const correctedSamplesPerValueMax = 10_000

export function correctedSamples(valueMs: number, expectedIntervalMs: number): number[] {
  const samples = [valueMs]
  if (!(expectedIntervalMs > 0) || !Number.isFinite(expectedIntervalMs)) return samples
  let missing = valueMs - expectedIntervalMs
  while (missing >= expectedIntervalMs && samples.length <= correctedSamplesPerValueMax) {
    samples.push(missing)
    missing -= expectedIntervalMs
  }
  return samples
}

/** Corrects every sample; `expectedIntervalMs` undefined (closed loop) keeps them as they are. */
export function correctForCoordinatedOmission(
  samplesMs: readonly number[],
  expectedIntervalMs: number | undefined,
): number[] {
  if (expectedIntervalMs === undefined) return [...samplesMs]
  const out: number[] = []
  for (const value of samplesMs)
    for (const sample of correctedSamples(value, expectedIntervalMs)) out.push(sample)
  return out
}

/** Nearest-rank percentile of sorted samples (as HdrHistogram reports: a value that was observed). */
export function percentileOfSorted(sorted: readonly number[], percentile: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((percentile / 100) * sorted.length)
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1))
  return sorted[index] as number
}

/** Rounded to microseconds, which is below what a loopback HTTP request can resolve. */
function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}

export function summarizeLatency(samplesMs: readonly number[]): LatencyMs {
  const sorted = Float64Array.from(samplesMs).sort()
  const values = Array.from(sorted)
  const sum = values.reduce((total, value) => total + value, 0)
  return {
    p50: round3(percentileOfSorted(values, 50)),
    p90: round3(percentileOfSorted(values, 90)),
    p99: round3(percentileOfSorted(values, 99)),
    p999: round3(percentileOfSorted(values, 99.9)),
    max: round3(values.length === 0 ? 0 : (values[values.length - 1] as number)),
    mean: round3(values.length === 0 ? 0 : sum / values.length),
  }
}
