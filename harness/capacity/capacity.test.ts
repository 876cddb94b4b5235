import { spawn } from 'node:child_process'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import {
  addedLatencyMsP99Max,
  checkTargets,
  floorSentence,
  saturationStep,
  summarize,
  verdictText,
} from './analysis.ts'
import { parseCapacityArgs, runIdOf } from './cli.ts'
import { compareFigure, compareReports, formatComparison, gatewayFailures } from './compare.ts'
import { fixtureReport, fixtureStep } from './fixture.ts'
import {
  correctedSamples,
  correctedSamplesPerValueMax,
  correctForCoordinatedOmission,
  percentileOfSorted,
  summarizeLatency,
} from './latency.ts'
import { nextPathOf } from './load.ts'
import {
  expectedIntervalMs,
  floorOpenLoopFraction,
  openLoopConnectionsMax,
  plannedLoadSeconds,
  planOpenLoop,
  planSweep,
  quickRunBudgetS,
  quickStartupAllowanceS,
} from './plan.ts'
import {
  parseProcStatCpuSeconds,
  parseProcStatusRssMb,
  processTreePids,
  readStartScriptNodeFlags,
  sampleProcess,
  sampleProcessTree,
  startScriptNodeFlags,
  withProperties,
} from './processes.ts'
import { progressLine } from './progress.ts'
import { escapeXml, lineChart, renderHtml, renderMarkdown } from './render.ts'
import { type CapacityReport, capacityReportSchema } from './report-schema.ts'
import { directTargetOf, headersOf, redactedUrl } from './run.ts'

/** The fixture with its summary, targets and verdict derived as a run derives them. */
function derived(mutate: (report: CapacityReport) => void = () => undefined): CapacityReport {
  const report = fixtureReport()
  mutate(report)
  report.summary = summarize(report.direct, report.gateway, report.gateway.inFlight, report.minimalProxy)
  report.targets = checkTargets(report.summary, 1000)
  report.verdict = verdictText(report.summary, report.targets, {
    requestsPerQuery: report.protocol.requestsPerQuery,
    loadAverage1m: report.machine.loadAverage1mStart,
    cpus: report.machine.cpus,
  })
  return report
}

/** The fixture with a minimal proxy series: best 900 queries/s against direct's 1,000 and the gateway's 750. */
function withFloor(report: CapacityReport): void {
  const usage = {
    cpuSeconds: 4,
    cpuSecondsPerSecond: 0.4,
    cpuSecondsPer1000Requests: 0.111,
    rssMbPeak: 70,
    rssMbPer1000RequestsPerSecond: 19.4,
  }
  report.minimalProxy = {
    closedLoop: [
      fixtureStep({ connections: 4, requestsPerSecond: 2800, queriesPerSecond: 700 }),
      fixtureStep({
        connections: 16,
        requestsPerSecond: 3600,
        queriesPerSecond: 900,
        minimalProxyProcess: usage,
      }),
    ],
  }
}

describe('sweep planning', () => {
  it('keeps the quick plan inside the 60 s budget with time left to start processes', () => {
    expect(plannedLoadSeconds(planSweep('quick'))).toBeLessThanOrEqual(
      quickRunBudgetS - quickStartupAllowanceS,
    )
  })

  it('counts the minimal proxy warm-up, closed loop and half-saturation open-loop step in the planned load', () => {
    for (const plan of [planSweep('quick'), planSweep('full')]) {
      const closedLoopS = plan.closedLoop.reduce((sum, step) => sum + step.durationS, 0)
      const perTarget = plan.warmupS + closedLoopS + plan.openLoopFractions.length * plan.openLoopDurationS
      const withoutFloor = 2 * perTarget + plan.inFlight.durationS
      expect(plan.openLoopFractions).toContain(floorOpenLoopFraction)
      expect(plannedLoadSeconds(plan)).toBe(
        withoutFloor + plan.warmupS + closedLoopS + plan.openLoopDurationS,
      )
    }
  })

  it('sweeps connections upward and measures latency around half saturation in both modes', () => {
    for (const mode of ['quick', 'full'] as const) {
      const plan = planSweep(mode)
      const connections = plan.closedLoop.map((step) => step.connections)
      expect(connections).toEqual([...connections].sort((a, b) => a - b))
      expect(plan.openLoopFractions).toContain(0.5)
      expect(plan.inFlight.queries).toBe(1000)
    }
  })

  it.each([
    // saturation req/s, requests per query, expected offered rates and connections of the quick plan
    { saturation: 4000, perQuery: 4, offered: [1000, 2000, 3000], connections: [250, 256, 256] },
    { saturation: 400, perQuery: 4, offered: [100, 200, 300], connections: [25, 50, 75] },
    { saturation: 6, perQuery: 4, offered: [1, 3, 4], connections: [1, 1, 1] },
    { saturation: 2, perQuery: 4, offered: [1], connections: [1] },
    { saturation: 0, perQuery: 4, offered: [], connections: [] },
  ])('offers fractions of saturation $saturation req/s', ({ saturation, perQuery, offered, connections }) => {
    const steps = planOpenLoop(planSweep('quick'), saturation, perQuery)
    expect(steps.map((s) => s.offeredRequestsPerSecond)).toEqual(offered)
    expect(steps.map((s) => s.connections)).toEqual(connections)
  })

  it('never opens more connections than the offered rate or the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 64 }),
        (rate, perQuery) => {
          for (const step of planOpenLoop(planSweep('full'), rate, perQuery)) {
            expect(step.connections).toBeGreaterThanOrEqual(1)
            expect(step.connections).toBeLessThanOrEqual(
              Math.min(openLoopConnectionsMax, step.offeredRequestsPerSecond),
            )
          }
        },
      ),
    )
  })

  it('spreads the offered rate over connections for the expected send interval', () => {
    expect(expectedIntervalMs(1000, 100)).toBe(100)
    expect(expectedIntervalMs(0, 10)).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('coordinated-omission correction', () => {
  it.each([
    { value: 5, interval: 10, expected: [5] },
    { value: 10, interval: 10, expected: [10] },
    { value: 25, interval: 10, expected: [25, 15] },
    { value: 40, interval: 10, expected: [40, 30, 20, 10] },
  ])('records $value ms at interval $interval ms as $expected', ({ value, interval, expected }) => {
    expect(correctedSamples(value, interval)).toEqual(expected)
  })

  it('leaves closed-loop samples as they are', () => {
    expect(correctForCoordinatedOmission([1, 50, 3], undefined)).toEqual([1, 50, 3])
  })

  it('bounds the samples one very slow response adds', () => {
    expect(correctedSamples(1e9, 1).length).toBe(correctedSamplesPerValueMax + 1)
  })

  it('only adds samples, each below the value and at least one interval', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 0.5, max: 1e4, noNaN: true }),
        (value, interval) => {
          const samples = correctedSamples(value, interval)
          expect(samples[0]).toBe(value)
          for (const sample of samples.slice(1)) {
            expect(sample).toBeLessThan(value)
            expect(sample).toBeGreaterThanOrEqual(interval)
          }
        },
      ),
    )
  })

  it('raises the tail percentiles when responses were slower than the schedule', () => {
    const samples = [...Array.from({ length: 98 }, () => 1), 500, 500]
    const raw = summarizeLatency(samples)
    const corrected = summarizeLatency(correctForCoordinatedOmission(samples, 10))
    expect(raw.p90).toBe(1)
    expect(corrected.p90).toBeGreaterThan(100)
    expect(corrected.max).toBe(raw.max)
  })
})

describe('percentiles', () => {
  it.each([
    { p: 50, expected: 5 },
    { p: 90, expected: 9 },
    { p: 99, expected: 10 },
    { p: 100, expected: 10 },
    { p: 0, expected: 1 },
  ])('nearest-rank p$p of 1..10 is $expected', ({ p, expected }) => {
    expect(percentileOfSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p)).toBe(expected)
  })

  it('summarizes no samples as zeros', () => {
    expect(summarizeLatency([])).toEqual({ p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 })
  })

  it('orders p50 <= p90 <= p99 <= p999 <= max for any samples', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 500 }),
        (samples) => {
          const s = summarizeLatency(samples)
          expect(s.p50).toBeLessThanOrEqual(s.p90)
          expect(s.p90).toBeLessThanOrEqual(s.p99)
          expect(s.p99).toBeLessThanOrEqual(s.p999)
          expect(s.p999).toBeLessThanOrEqual(s.max)
        },
      ),
    )
  })
})

describe('summary, targets and verdict', () => {
  it('takes the best closed-loop step as saturation and compares open-loop steps at equal offered rates', () => {
    const report = derived()
    expect(report.summary.gateway.saturationRequestsPerSecond).toBe(3000)
    expect(report.summary.direct.saturationQueriesPerSecond).toBe(1000)
    expect(report.summary.submissionRatio).toBe(0.75)
    expect(report.summary.overheadByRate).toEqual([
      {
        offeredRequestsPerSecond: 1000,
        addedLatencyMsP50: 0.3,
        addedLatencyMsP90: 0.4,
        addedLatencyMsP99: 1,
      },
      { offeredRequestsPerSecond: 1500, addedLatencyMsP50: 0.9, addedLatencyMsP90: 2, addedLatencyMsP99: 4 },
    ])
    // Half of 3000 req/s is 1500.
    expect(report.summary.halfSaturation?.offeredRequestsPerSecond).toBe(1500)
    expect(report.summary.gateway.cpuSecondsPer1000RequestsAtSaturation).toBe(0.33)
    expect(saturationStep([])).toBeUndefined()
  })

  it('splits the added latency into statement submissions and follow-ups when both targets measured the split', () => {
    const byKind = (submission: number, followUp: number) => ({
      submission: {
        p50: submission,
        p90: submission,
        p99: submission * 2,
        p999: submission * 2,
        max: 9,
        mean: submission,
      },
      followUp: {
        p50: followUp,
        p90: followUp,
        p99: followUp * 2,
        p999: followUp * 2,
        max: 9,
        mean: followUp,
      },
    })
    const report = derived((r) => {
      for (const step of r.direct.openLoop) step.latencyMsByKind = byKind(0.5, 0.2)
      for (const step of r.gateway.openLoop) step.latencyMsByKind = byKind(2.5, 0.3)
      // One direct step without the split: its rate gets no split figures.
      const first = r.direct.openLoop[0]
      if (first !== undefined) first.latencyMsByKind = null
    })
    const [withoutSplit, withSplit] = report.summary.overheadByRate
    expect(withoutSplit?.addedSubmissionLatencyMsP50).toBeUndefined()
    expect(withSplit).toMatchObject({
      addedSubmissionLatencyMsP50: 2,
      addedSubmissionLatencyMsP99: 4,
      addedFollowUpLatencyMsP50: 0.1,
      addedFollowUpLatencyMsP99: 0.2,
    })
    expect(capacityReportSchema.parse(report)).toBeTruthy()
    expect(renderMarkdown(report)).toContain('| 1500 | 0.90 | 2.00 | 4.00 | 2.00 | 4.00 | 0.10 | 0.20 |')
  })

  it('sets each request kind against the minimal proxy, closed loop at saturation and open loop by rate', () => {
    const kinds = (submissionMs: number, followUpMs: number) => {
      const latency = (ms: number) => ({ p50: ms, p90: ms, p99: ms * 2, p999: ms * 2, max: 9, mean: ms })
      return { submission: latency(submissionMs), followUp: latency(followUpMs) }
    }
    const report = derived((r) => {
      withFloor(r)
      for (const step of [...r.gateway.closedLoop, ...r.gateway.openLoop]) step.latencyMsByKind = kinds(2, 1)
      for (const step of r.minimalProxy?.closedLoop ?? []) step.latencyMsByKind = kinds(1.6, 0.98)
      for (const step of r.direct.openLoop) step.latencyMsByKind = kinds(0.5, 0.2)
      if (r.minimalProxy !== undefined)
        r.minimalProxy.openLoop = r.gateway.openLoop.map((step) => ({
          ...step,
          latencyMs: { ...step.latencyMs, p50: step.latencyMs.p50 - 0.25 },
          latencyMsByKind: kinds(1.2, 0.7),
        }))
    })
    // The gateway saturates at 16 connections; the floor's 16-connection step is compared.
    expect(report.summary.floorByKind).toEqual({
      connections: 16,
      submission: { gatewayLatencyMsMean: 2, minimalProxyLatencyMsMean: 1.6, ratio: 0.8 },
      followUp: { gatewayLatencyMsMean: 1, minimalProxyLatencyMsMean: 0.98, ratio: 0.98 },
    })
    expect(report.summary.halfSaturation).toMatchObject({
      addedOverFloorLatencyMsP50: 0.25,
      addedOverFloorSubmissionLatencyMsP50: 0.8,
      addedOverFloorFollowUpLatencyMsP50: 0.3,
    })
    const floorTargets = report.targets.filter((target) => target.name.includes('minimal proxy'))
    expect(floorTargets.map((target) => [target.measured, target.met])).toEqual([
      [80, false],
      [98, true],
      [0.8, false],
      [0.3, true],
    ])
    expect(report.verdict).toContain(
      'By request kind at 16 connections (mean latency), statement submissions reach 80% and follow-up polls 98% of the minimal proxy. At about half saturation it adds 0.80 ms (submissions) and 0.30 ms (follow-ups) at p50 over the minimal proxy.',
    )
    expect(capacityReportSchema.parse(JSON.parse(JSON.stringify(report)))).toBeTruthy()
    const md = renderMarkdown(report)
    expect(md).toContain('| statement submissions | 2.00 | 1.60 | 0.800 |')
    expect(md).toContain('| follow-up polls | 1.00 | 0.98 | 0.980 |')
    expect(md.match(/^\| minimal proxy \| open \|/gm)?.length).toBe(2)
    expect(renderHtml(report)).toContain('<h2>Against the minimal proxy, by request kind</h2>')
  })

  it('leaves the by-kind floor targets unjudged when the steps did not split the kinds', () => {
    const report = derived(withFloor)
    expect(report.summary.floorByKind).toBeNull()
    const floorTargets = report.targets.filter((target) => target.name.includes('minimal proxy'))
    expect(floorTargets).toHaveLength(4)
    expect(floorTargets.every((target) => target.met === null)).toBe(true)
    // Without any floor (older reports) there are no such targets at all.
    expect(derived().targets.some((target) => target.name.includes('minimal proxy'))).toBe(false)
  })

  it('judges each target against its stated limit', () => {
    const report = derived()
    expect(report.targets.map((t) => [t.measured, t.met])).toEqual([
      [75, true],
      [0.9, false],
      [4, false],
      [120, true],
    ])
  })

  it('does not judge memory when the in-flight phase never reached its target', () => {
    const report = derived((r) => {
      if (r.gateway.inFlight) r.gateway.inFlight.queriesInFlightPeak = 400
    })
    expect(report.targets[3]?.met).toBeNull()
    expect(report.verdict).toContain('Not judged')
  })

  it('states saturation, the direct baseline, added latency, reach, cost, memory and misses in words', () => {
    const { verdict } = derived()
    expect(verdict).toContain(
      'saturates at 750 queries/s (3,000 HTTP requests/s, 4 per query) with 16 connections',
    )
    expect(verdict).toContain('75% of the 1,000 queries/s a mock coordinator takes directly')
    expect(verdict).toContain(
      'At 1,500 requests/s offered (about half its saturation) it adds 0.90 ms at p50 and 4.00 ms at p99',
    )
    expect(verdict).toContain('It adds at most 1.00 ms at p99 up to 250 queries/s (1,000 requests/s offered)')
    expect(verdict).toContain(
      '0.33 CPU cores at saturation (the mock coordinator serving them directly: 0.12)',
    )
    expect(verdict).toContain('peaked at 120 MB')
    expect(verdict).toContain(
      'Missed: added latency p50 at half saturation; added latency p99 at half saturation.',
    )
    expect(verdict).not.toContain('busy')
  })

  it('says when all targets are met and when the machine was busy', () => {
    const report = derived((r) => {
      for (const step of r.gateway.openLoop) step.latencyMs = { ...step.latencyMs, p50: 0.6, p99: 2 }
      r.machine.loadAverage1mStart = 9
    })
    expect(report.verdict).toContain('All targets are met.')
    expect(report.verdict).toContain('load average 9.0 on 2 cores')
  })

  it('says so when the lowest rate already exceeds the p99 target', () => {
    const report = derived((r) => {
      for (const step of r.gateway.openLoop) step.latencyMs = { ...step.latencyMs, p99: 50 }
    })
    expect(report.verdict).toContain(`more than ${addedLatencyMsP99Max} ms at p99`)
  })

  it('produces a report that its own schema accepts', () => {
    expect(capacityReportSchema.safeParse(derived()).success).toBe(true)
  })

  it('accepts a report without the minimal proxy (older reports, the committed baseline) and with it', () => {
    const older = derived()
    expect(older.minimalProxy).toBeUndefined()
    expect(older.summary.minimalProxyRatio).toBeUndefined()
    expect(capacityReportSchema.safeParse(JSON.parse(JSON.stringify(older))).success).toBe(true)
    const current = derived(withFloor)
    expect(capacityReportSchema.safeParse(JSON.parse(JSON.stringify(current))).success).toBe(true)
    // Still strict: a misspelt field is refused.
    const misspelt = { ...current, minimalProxi: current.minimalProxy }
    expect(capacityReportSchema.safeParse(misspelt).success).toBe(false)
  })

  it('sets the minimal proxy against direct and the gateway against the minimal proxy, at saturation', () => {
    const { summary } = derived(withFloor)
    expect(summary.minimalProxySaturationQueriesPerSecond).toBe(900)
    expect(summary.minimalProxyRatio).toBe(0.9)
    // 750 / 900
    expect(summary.gatewayToMinimalProxyRatio).toBe(0.833)
    // The gateway's own series and the submission target are unchanged by the floor.
    expect(summary.submissionRatio).toBe(0.75)
  })

  it('states the floor in one verdict sentence, only when it was measured', () => {
    const { verdict } = derived(withFloor)
    expect(verdict).toContain(
      'A minimal Node.js proxy (no routing, no history) reaches 90% of direct in the same run; the gateway reaches 83% of the minimal proxy.',
    )
    expect(derived().verdict).not.toContain('minimal')
    const base = derived().summary
    expect(floorSentence({ ...base, minimalProxyRatio: 0.62, gatewayToMinimalProxyRatio: 0.71 })).toBe(
      'A minimal Node.js proxy (no routing, no history) reaches 62% of direct in the same run; the gateway reaches 71% of the minimal proxy.',
    )
    expect(floorSentence({ ...base, minimalProxyRatio: 0.5, gatewayToMinimalProxyRatio: null })).toBe(
      'A minimal Node.js proxy (no routing, no history) reaches 50% of direct in the same run.',
    )
    expect(floorSentence({ ...base, minimalProxyRatio: null })).toBeUndefined()
  })
})

describe('comparison with a baseline', () => {
  it.each([
    // better, floor, baseline, current, threshold %, regressed
    { better: 'higher', floor: 0, baseline: 0.8, current: 0.7, threshold: 25, regressed: false },
    { better: 'higher', floor: 0, baseline: 0.8, current: 0.5, threshold: 25, regressed: true },
    { better: 'lower', floor: 0.5, baseline: 0.2, current: 0.6, threshold: 25, regressed: false },
    { better: 'lower', floor: 0.5, baseline: 0.2, current: 0.8, threshold: 25, regressed: true },
    { better: 'lower', floor: 0, baseline: 0, current: 1, threshold: 25, regressed: true },
    { better: 'lower', floor: 0, baseline: 0, current: 0, threshold: 25, regressed: false },
    { better: 'lower', floor: 10, baseline: 100, current: 130, threshold: 25, regressed: true },
    { better: 'lower', floor: 10, baseline: 100, current: 120, threshold: 25, regressed: false },
  ] as const)('$better is better: $baseline -> $current regressed=$regressed', (row) => {
    expect(compareFigure(row, row.baseline, row.current, row.threshold).regressed).toBe(row.regressed)
  })

  it('finds no regression against itself', () => {
    const report = derived()
    expect(compareReports(report, report, { thresholdPercent: 25 }).some((c) => c.regressed)).toBe(false)
  })

  it('flags a worse ratio, worse added p50 and new errors but only shows absolute throughput and p99', () => {
    const baseline = derived()
    const current = derived((r) => {
      for (const step of r.gateway.closedLoop) step.queriesPerSecond /= 4
      const open = r.gateway.openLoop[1]
      if (open) open.latencyMs = { ...open.latencyMs, p50: 3, p99: 12 }
      const first = r.gateway.closedLoop[0]
      if (first) first.non2xx = 3
      for (const step of r.direct.closedLoop) step.queriesPerSecond /= 2
    })
    const comparisons = compareReports(baseline, current, { thresholdPercent: 25 })
    const regressed = comparisons.filter((c) => c.regressed).map((c) => c.name)
    expect(regressed).toEqual([
      'gateway/direct statement-submission ratio',
      'added latency p50 at half saturation',
      'gateway errors, non-2xx and timeouts (all steps)',
    ])
    // Shown but not judged: too few samples behind a quick run's p99.
    expect(comparisons.find((c) => c.name === 'added latency p99 at half saturation')).toMatchObject({
      judged: false,
      regressed: false,
      current: 10,
    })
    expect(comparisons.find((c) => c.name === 'gateway saturation (queries/s)')?.judged).toBe(false)
    expect(gatewayFailures(current)).toBe(3)
    expect(formatComparison(comparisons, 25)).toContain('REGRESSED')
  })

  it("judges the gateway's CPU per request against the mock's, not in absolute seconds", () => {
    const baseline = derived()
    // A machine twice as slow: both costs double, nothing regressed.
    const slower = derived((r) => {
      for (const step of [...r.direct.closedLoop, ...r.gateway.closedLoop]) {
        for (const usage of [step.gatewayProcess, step.mockProcess]) {
          if (usage?.cpuSecondsPer1000Requests) usage.cpuSecondsPer1000Requests *= 2
        }
      }
    })
    expect(compareReports(baseline, slower, { thresholdPercent: 50 }).some((c) => c.regressed)).toBe(false)
    // The gateway alone twice as costly: regressed.
    const costlier = derived((r) => {
      for (const step of r.gateway.closedLoop) {
        if (step.gatewayProcess?.cpuSecondsPer1000Requests)
          step.gatewayProcess.cpuSecondsPer1000Requests *= 2.5
      }
    })
    const regressed = compareReports(baseline, costlier, { thresholdPercent: 50 }).filter((c) => c.regressed)
    expect(regressed.map((c) => c.name)).toEqual([
      "gateway CPU per request at saturation, in multiples of the mock's",
    ])
    expect(regressed[0]).toMatchObject({ baseline: 2.75, current: 6.88 })
  })

  it('does not compare a figure missing on either side', () => {
    const baseline = derived((r) => {
      r.gateway.inFlight = null
    })
    const rss = compareReports(baseline, derived(), { thresholdPercent: 25 }).find((c) =>
      c.name.includes('RSS'),
    )
    expect(rss).toMatchObject({ baseline: null, regressed: false, changePercent: null })
  })
})

describe('rendering', () => {
  it('writes the verdict, targets, overhead table and every step into markdown', () => {
    const md = renderMarkdown(derived())
    expect(md).toContain('# Capacity report 2026-01-01T00-00-00Z-quick')
    expect(md).toContain('| added latency p99 at half saturation | <= 2 ms | 4 ms | MISSED |')
    expect(md).toContain('| 1500 | 0.90 | 2.00 | 4.00 | n/a | n/a | n/a | n/a |')
    expect(md.match(/^\| (direct|gateway) \| (closed|open) \|/gm)?.length).toBe(8)
    expect(md).toContain('load average 1.5 at start, 1.7 at end')
  })

  it('writes the minimal proxy steps with its own process usage when the run measured it', () => {
    const md = renderMarkdown(derived(withFloor))
    const rows = md.match(/^\| minimal proxy \| closed \|.*$/gm) ?? []
    expect(rows.length).toBe(2)
    // Its CPU and RSS in the proxy columns, then the (absent) mock CPU.
    expect(rows[1]).toMatch(/\| 0\.111 \| 70 \| n\/a \|$/)
    expect(md.match(/^\| (direct|gateway) \| (closed|open) \|/gm)?.length).toBe(8)
    const html = renderHtml(derived(withFloor))
    expect(html).toContain('<td>minimal proxy</td>')
    expect(html).toContain('minimal proxy: 16, 3600')
  })

  it('writes a self-contained HTML page with inline SVG charts and no external resources', () => {
    const html = renderHtml(derived())
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html.match(/<svg /g)?.length).toBe(3)
    expect(html).not.toMatch(/<script|<link|src=|href=/)
    expect(html).toContain('class="missed"')
    expect(html).toContain('Open loop: latency percentiles')
  })

  it('escapes text in charts', () => {
    const svg = lineChart({ title: 'a<b & "c"', xLabel: 'x', yLabel: 'y', series: [] })
    expect(svg).toContain('a&lt;b &amp; &quot;c&quot;')
    expect(escapeXml("'")).toBe('&#39;')
  })

  it('plots a series point for each step', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 's',
          color: '#000',
          points: [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
        },
      ],
    })
    expect(svg.match(/<circle /g)?.length).toBe(3)
  })
})

describe('shell helpers', () => {
  it.each([
    {
      body: '{"id":"q","nextUri":"http://127.0.0.1:8080/v1/statement/queued/q/s/1","stats":{}}',
      path: '/v1/statement/queued/q/s/1',
    },
    {
      body: '{"nextUri" : "https://gw.example:443/v1/statement/executing/q/s/0"}',
      path: '/v1/statement/executing/q/s/0',
    },
    { body: '{"id":"q","stats":{"state":"FINISHED"}}', path: undefined },
  ])('takes the path of the nextUri in $body', ({ body, path }) => {
    expect(nextPathOf(body)).toBe(path)
  })

  it('walks a process tree and sums its CPU and memory (a gateway with workers)', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' })
    try {
      await waitFor(async () => (await processTreePids(process.pid)).includes(child.pid as number), {
        timeoutMs: 10_000,
        what: 'the child in the tree',
      })
      const [own, withChild] = await Promise.all([sampleProcess(process.pid), sampleProcessTree(process.pid)])
      expect(withChild.rssMb).toBeGreaterThan(own.rssMb)
      expect((await processTreePids(child.pid as number))[0]).toBe(child.pid)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('reads CPU seconds from /proc/<pid>/stat even when the command name has spaces and parentheses', () => {
    const stat = '1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 1000 200'
    expect(parseProcStatCpuSeconds(stat, 100)).toBe(3)
    expect(parseProcStatusRssMb('Name:\tnode\nVmRSS:\t  102400 kB\n')).toBe(100)
    expect(() => parseProcStatusRssMb('Name: node')).toThrow(/VmRSS/)
  })

  it.each([
    { script: 'node --max-semi-space-size=4 dist/gateway/main.js', flags: ['--max-semi-space-size=4'] },
    { script: 'node dist/gateway/main.js', flags: [] },
    { script: '  node --a=1 --b  dist/gateway/main.js --config x', flags: ['--a=1', '--b'] },
  ])('starts the gateway with the Node flags of npm start: $script', ({ script, flags }) => {
    expect(startScriptNodeFlags(script)).toEqual(flags)
  })

  it.each([
    { script: undefined, why: 'no start script' },
    { script: 'tsx --max-semi-space-size=4 gateway/main.ts', why: 'not plain node' },
    { script: 'node --max-semi-space-size=4 gateway/main.ts', why: 'not the build' },
    { script: 'node --import tsx dist/gateway/main.js', why: 'a flag value after a space' },
    { script: 'node --max-semi-space-size=4', why: 'no file' },
  ])('refuses a start script that does not run the build ($why)', ({ script }) => {
    expect(() => startScriptNodeFlags(script)).toThrow(
      /scripts\.start must be "node \[--flag=value \.\.\.\] dist\/gateway\/main\.js"/,
    )
  })

  it("reads the flags of this repository's npm start", async () => {
    expect(await readStartScriptNodeFlags()).toContain('--max-semi-space-size=4')
  })

  it('overrides config.properties keys and keeps the others', () => {
    expect(withProperties('a=1\n# c\nquery.client.timeout=5m\n', { 'query.client.timeout': '10s' })).toBe(
      'a=1\n# c\nquery.client.timeout=10s\n',
    )
    expect(withProperties('', { x: '1' })).toBe('x=1\n')
  })

  it('draws a progress line with the share done and the time left', () => {
    expect(progressLine(15, 30, 'gateway closed loop', 10)).toBe(
      '[#####.....]  50%  gateway closed loop  15 s left',
    )
    expect(progressLine(40, 30, 'done', 4)).toBe('[####] 100%  done  0 s left')
  })

  it('turns scenario client headers into Trino headers', () => {
    expect(headersOf(undefined)).toEqual({ 'x-trino-user': 'capacity', 'x-trino-source': 'capacity' })
    expect(
      headersOf({
        headers: {
          user: 'u',
          clientTags: ['a', 'b'],
          routingGroup: 'etl',
          session: { x: 1 },
          extra: { 'X-Y': 'z' },
        },
      } as never),
    ).toEqual({
      'x-trino-user': 'u',
      'x-trino-source': 'capacity',
      'x-trino-client-tags': 'a,b',
      'x-trino-routing-group': 'etl',
      'x-trino-session': 'x=1',
      'x-y': 'z',
    })
  })

  it('hides a database password in the report', () => {
    expect(redactedUrl('postgres://gw:secret@127.0.0.1:5432/gateway')).toBe(
      'postgres://gw:***@127.0.0.1:5432/gateway',
    )
    expect(redactedUrl('postgres://postgres@127.0.0.1:5432/test')).toBe(
      'postgres://postgres@127.0.0.1:5432/test',
    )
  })

  it('aims direct runs at the first active cluster of the routed group', () => {
    const clusters = [
      { name: 'a', routingGroup: 'adhoc', active: false },
      { name: 'b', routingGroup: 'etl', active: true },
      { name: 'c', routingGroup: 'adhoc', active: true },
    ]
    expect(directTargetOf(clusters, {}, 'adhoc')).toBe('c')
    expect(directTargetOf(clusters, { 'x-trino-routing-group': 'etl' }, 'adhoc')).toBe('b')
    expect(directTargetOf(clusters, {}, 'none')).toBe('b')
  })

  it.each([
    {
      argv: ['--quick', '--threshold-percent', '0'],
      message: /--threshold-percent: expected a number above 0/,
    },
    { argv: ['--seed', 'x'], message: /--seed: expected an integer/ },
    { argv: ['--bogus'], message: /Unknown option '--bogus'/ },
    { argv: ['--report-dir', ''], message: /--report-dir: expected a value/ },
    { argv: ['--database-url', 'mysql://x'], message: /--database-url: expected postgres:/ },
    { argv: ['--workers', '0'], message: /--workers: expected an integer from 1 to 256 \(got "0"\)/ },
    { argv: ['--workers', 'two'], message: /--workers: expected an integer/ },
  ])('refuses $argv with a USAGE error naming the flag', ({ argv, message }) => {
    expect(() => parseCapacityArgs(argv)).toThrow(message)
  })

  it('parses the flags of the issue', () => {
    expect(
      parseCapacityArgs([
        '--scenario',
        'header-routing',
        '--quick',
        '--report-dir',
        'r',
        '--compare',
        'b.json',
        '--workers',
        '2',
      ]),
    ).toMatchObject({
      scenario: 'header-routing',
      quick: true,
      reportDir: 'r',
      compare: 'b.json',
      thresholdPercent: 50,
      workers: 2,
    })
    expect(runIdOf(new Date('2026-01-02T03:04:05.678Z'), 'quick')).toBe('2026-01-02T03-04-05Z-quick')
  })
})
