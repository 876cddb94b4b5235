import type { CapacityReport } from './report-schema.ts'

/**
 * `--compare FILE`: the current run against a baseline report, figure by figure. A figure regresses
 * when it moved the wrong way by more than the threshold (relative to the baseline) and, for
 * latencies, by more than an absolute floor too, since a 0.1 ms change is noise on a shared machine.
 * Absolute throughput moves with the machine's load, so it is shown but not judged; the
 * gateway/direct ratio, measured under the same load, is judged instead.
 */

/**
 * Consecutive quick runs on the shared 2-core machine moved the gateway/direct ratio between 15%
 * and 27% with no code change: a tighter default would fail CI on load alone.
 */
export const regressionThresholdPercentDefault = 50
/** Added latency must also grow by at least this much to count as a regression. */
export const latencyRegressionFloorMs = 0.5
/** Resident memory must also grow by at least this much to count as a regression. */
export const rssRegressionFloorMb = 10

export interface CompareOptions {
  thresholdPercent: number
}

export interface FigureComparison {
  name: string
  unit: string
  better: 'higher' | 'lower'
  baseline: number | null
  current: number | null
  /** (current - baseline) / baseline in percent; null when either side is missing or baseline is 0. */
  changePercent: number | null
  judged: boolean
  regressed: boolean
}

interface FigureSpec {
  name: string
  unit: string
  better: 'higher' | 'lower'
  judged: boolean
  floor: number
  pick: (report: CapacityReport) => number | null
}

const figures: readonly FigureSpec[] = [
  {
    name: 'gateway/direct statement-submission ratio',
    unit: '',
    better: 'higher',
    judged: true,
    floor: 0,
    pick: (r) => r.summary.submissionRatio,
  },
  {
    name: 'added latency p50 at half saturation',
    unit: 'ms',
    better: 'lower',
    judged: true,
    floor: latencyRegressionFloorMs,
    pick: (r) => r.summary.halfSaturation?.addedLatencyMsP50 ?? null,
  },
  {
    // Shown, not judged: a quick step of ~1,000 responses puts p99 on its ten slowest, and on the
    // shared machine it moved between 2.7 and 199 ms from run to run with no code change.
    name: 'added latency p99 at half saturation',
    unit: 'ms',
    better: 'lower',
    judged: false,
    floor: latencyRegressionFloorMs,
    pick: (r) => r.summary.halfSaturation?.addedLatencyMsP99 ?? null,
  },
  {
    // Relative to the mock's own cost per request in the same run, which cancels the machine's speed.
    name: "gateway CPU per request at saturation, in multiples of the mock's",
    unit: 'x',
    better: 'lower',
    judged: true,
    floor: 0,
    pick: (r) => {
      const gateway = r.summary.gateway.cpuSecondsPer1000RequestsAtSaturation
      const mock = r.summary.direct.mockCpuSecondsPer1000RequestsAtSaturation
      return gateway === null || mock === null || mock === 0 ? null : Math.round((gateway / mock) * 100) / 100
    },
  },
  {
    name: 'gateway CPU seconds per 1,000 requests at saturation',
    unit: 's',
    better: 'lower',
    judged: false,
    floor: 0,
    pick: (r) => r.summary.gateway.cpuSecondsPer1000RequestsAtSaturation,
  },
  {
    name: 'gateway RSS with queries in flight',
    unit: 'MB',
    better: 'lower',
    judged: true,
    floor: rssRegressionFloorMb,
    pick: (r) => r.summary.rssMbWithQueriesInFlight,
  },
  {
    name: 'gateway errors, non-2xx and timeouts (all steps)',
    unit: '',
    better: 'lower',
    judged: true,
    // Any new failure counts: a healthy run has none.
    floor: 0,
    pick: (r) => gatewayFailures(r),
  },
  {
    name: 'gateway saturation (queries/s)',
    unit: 'queries/s',
    better: 'higher',
    judged: false,
    floor: 0,
    pick: (r) => r.summary.gateway.saturationQueriesPerSecond,
  },
  {
    name: 'direct saturation (queries/s)',
    unit: 'queries/s',
    better: 'higher',
    judged: false,
    floor: 0,
    pick: (r) => r.summary.direct.saturationQueriesPerSecond,
  },
]

export function gatewayFailures(report: CapacityReport): number {
  let total = 0
  for (const step of [...report.gateway.closedLoop, ...report.gateway.openLoop]) {
    total += step.errors + step.non2xx + step.timeouts
  }
  return total
}

export function compareFigure(
  spec: Pick<FigureSpec, 'better' | 'floor'>,
  baseline: number | null,
  current: number | null,
  thresholdPercent: number,
): { changePercent: number | null; regressed: boolean } {
  if (baseline === null || current === null) return { changePercent: null, regressed: false }
  const changePercent = baseline === 0 ? null : ((current - baseline) / Math.abs(baseline)) * 100
  const allowed = Math.max(spec.floor, (Math.abs(baseline) * thresholdPercent) / 100)
  const worseBy = spec.better === 'higher' ? baseline - current : current - baseline
  // Failures counted from zero: any growth beyond the floor regresses.
  const regressed = baseline === 0 && spec.floor === 0 ? worseBy > 0 : worseBy > allowed
  return { changePercent: changePercent === null ? null : Math.round(changePercent * 10) / 10, regressed }
}

export function compareReports(
  baseline: CapacityReport,
  current: CapacityReport,
  options: CompareOptions,
): FigureComparison[] {
  return figures.map((spec) => {
    const before = spec.pick(baseline)
    const after = spec.pick(current)
    const { changePercent, regressed } = compareFigure(spec, before, after, options.thresholdPercent)
    return {
      name: spec.name,
      unit: spec.unit,
      better: spec.better,
      baseline: before,
      current: after,
      changePercent,
      judged: spec.judged,
      regressed: spec.judged && regressed,
    }
  })
}

export function formatComparison(comparisons: readonly FigureComparison[], thresholdPercent: number): string {
  const lines = [`Compared with the baseline (threshold ${thresholdPercent}%):`]
  for (const c of comparisons) {
    const value = (v: number | null) =>
      v === null ? 'n/a' : `${Number(v.toFixed(3))}${c.unit ? ` ${c.unit}` : ''}`
    const change = c.changePercent === null ? '' : ` (${c.changePercent > 0 ? '+' : ''}${c.changePercent}%)`
    const status = !c.judged ? 'info' : c.regressed ? 'REGRESSED' : 'ok'
    lines.push(`  ${status.padEnd(9)} ${c.name}: ${value(c.baseline)} -> ${value(c.current)}${change}`)
  }
  return lines.join('\n')
}
