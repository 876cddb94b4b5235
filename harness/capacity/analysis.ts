import type {
  InFlightResult,
  MinimalProxySeries,
  StepResult,
  Summary,
  TargetCheck,
  TargetSeries,
} from './report-schema.ts'

/**
 * What a run means: saturation points, the gateway's added latency at equal offered load, the
 * targets of issue 8, and the verdict in plain words. Pure functions of the measured steps.
 */

/** Statement submissions through the gateway, as a share of direct submissions in the same run. */
export const submissionRatioMin = 0.6
/** Issue 13: statement submissions through the gateway against the minimal proxy (the floor). */
export const floorSubmissionRatioMin = 0.9
/** Issue 13: follow-up polls through the gateway against the minimal proxy. */
export const floorFollowUpRatioMin = 0.95
/** Issue 13: latency the gateway may add over the minimal proxy at half its saturation, p50. */
export const addedOverFloorLatencyMsP50Max = 0.5
/** Latency the gateway may add at half its saturation rate. */
export const addedLatencyMsP50Max = 0.5
export const addedLatencyMsP99Max = 2
/** Resident memory of the gateway process with `queriesInFlightTarget` queries held open. */
export const rssMbWithQueriesInFlightMax = 150
/** The fraction of saturation the latency targets are judged at. */
export const halfSaturationFraction = 0.5

function round(value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

/** The closed-loop step with the highest throughput; ties go to fewer connections. */
export function saturationStep(steps: readonly StepResult[]): StepResult | undefined {
  let best: StepResult | undefined
  for (const step of steps) {
    if (best === undefined || step.requestsPerSecond > best.requestsPerSecond) best = step
  }
  return best
}

export function summarize(
  direct: TargetSeries,
  gateway: TargetSeries,
  inFlight: InFlightResult | null,
  minimalProxy?: MinimalProxySeries | undefined,
): Summary {
  const directSaturation = saturationStep(direct.closedLoop)
  const gatewaySaturation = saturationStep(gateway.closedLoop)
  const overheadByRate: Summary['overheadByRate'] = []
  for (const gatewayStep of gateway.openLoop) {
    const atRate = (steps: readonly StepResult[] | undefined) =>
      steps?.find((step) => step.offeredRequestsPerSecond === gatewayStep.offeredRequestsPerSecond)
    const directStep = atRate(direct.openLoop)
    if (directStep === undefined || gatewayStep.offeredRequestsPerSecond === null) continue
    const floorStep = atRate(minimalProxy?.openLoop)
    overheadByRate.push({
      offeredRequestsPerSecond: gatewayStep.offeredRequestsPerSecond,
      addedLatencyMsP50: round(gatewayStep.latencyMs.p50 - directStep.latencyMs.p50, 3),
      addedLatencyMsP90: round(gatewayStep.latencyMs.p90 - directStep.latencyMs.p90, 3),
      addedLatencyMsP99: round(gatewayStep.latencyMs.p99 - directStep.latencyMs.p99, 3),
      ...addedByKind(gatewayStep, directStep),
      ...(floorStep === undefined ? {} : addedOverFloor(gatewayStep, floorStep)),
    })
  }
  const halfRate = (gatewaySaturation?.requestsPerSecond ?? 0) * halfSaturationFraction
  let halfSaturation: Summary['halfSaturation'] = null
  for (const entry of overheadByRate) {
    if (
      halfSaturation === null ||
      Math.abs(entry.offeredRequestsPerSecond - halfRate) <
        Math.abs(halfSaturation.offeredRequestsPerSecond - halfRate)
    ) {
      halfSaturation = entry
    }
  }
  const directQps = directSaturation?.queriesPerSecond ?? 0
  const summary: Summary = {
    direct: {
      saturationRequestsPerSecond: directSaturation?.requestsPerSecond ?? 0,
      saturationQueriesPerSecond: directQps,
      saturationConnections: directSaturation?.connections ?? 0,
      mockCpuSecondsPer1000RequestsAtSaturation:
        directSaturation?.mockProcess?.cpuSecondsPer1000Requests ?? null,
    },
    gateway: {
      saturationRequestsPerSecond: gatewaySaturation?.requestsPerSecond ?? 0,
      saturationQueriesPerSecond: gatewaySaturation?.queriesPerSecond ?? 0,
      saturationConnections: gatewaySaturation?.connections ?? 0,
      cpuSecondsPer1000RequestsAtSaturation:
        gatewaySaturation?.gatewayProcess?.cpuSecondsPer1000Requests ?? null,
      rssMbAtSaturation: gatewaySaturation?.gatewayProcess?.rssMbPeak ?? null,
    },
    submissionRatio:
      directQps > 0 && gatewaySaturation !== undefined
        ? round(gatewaySaturation.queriesPerSecond / directQps, 3)
        : null,
    halfSaturation,
    overheadByRate,
    rssMbWithQueriesInFlight: inFlight?.rssMbPeak ?? null,
    queriesInFlightPeak: inFlight?.queriesInFlightPeak ?? null,
  }
  if (minimalProxy === undefined) return summary
  const floorSaturation = saturationStep(minimalProxy.closedLoop)
  const floorQps = floorSaturation?.queriesPerSecond ?? 0
  summary.minimalProxySaturationQueriesPerSecond = floorQps
  summary.minimalProxyRatio =
    directQps > 0 && floorSaturation !== undefined ? round(floorQps / directQps, 3) : null
  summary.gatewayToMinimalProxyRatio =
    floorQps > 0 && gatewaySaturation !== undefined
      ? round(gatewaySaturation.queriesPerSecond / floorQps, 3)
      : null
  summary.floorByKind = floorByKindAt(gatewaySaturation, minimalProxy.closedLoop)
  return summary
}

/**
 * Each request kind through the gateway against the floor at the gateway's saturation step: the
 * floor's step with the same connections, mean latencies compared. In a closed loop every
 * connection runs whole queries, so the kinds' throughputs are tied together; the latency ratio
 * is what each kind alone would reach against the floor (Little's law: throughput = connections /
 * mean latency).
 */
export function floorByKindAt(
  gatewaySaturation: StepResult | undefined,
  floorSteps: readonly StepResult[],
): Summary['floorByKind'] {
  if (gatewaySaturation === undefined) return null
  const floorStep = floorSteps.find((step) => step.connections === gatewaySaturation.connections)
  const viaGateway = gatewaySaturation.latencyMsByKind
  const viaFloor = floorStep?.latencyMsByKind
  if (viaGateway === null || viaGateway === undefined || viaFloor === null || viaFloor === undefined)
    return null
  const against = (gatewayMs: number, floorMs: number) => ({
    gatewayLatencyMsMean: round(gatewayMs, 3),
    minimalProxyLatencyMsMean: round(floorMs, 3),
    ratio: gatewayMs > 0 ? round(floorMs / gatewayMs, 3) : 0,
  })
  return {
    connections: gatewaySaturation.connections,
    submission: against(viaGateway.submission.mean, viaFloor.submission.mean),
    followUp: against(viaGateway.followUp.mean, viaFloor.followUp.mean),
  }
}

export function checkTargets(summary: Summary, queriesInFlightTarget: number): TargetCheck[] {
  const half = summary.halfSaturation
  const atMost = (measured: number | null | undefined, max: number) =>
    measured === null || measured === undefined ? null : measured <= max
  const inFlightReached =
    summary.queriesInFlightPeak !== null && summary.queriesInFlightPeak >= queriesInFlightTarget
  return [
    {
      name: 'statement submissions through the gateway vs direct',
      expected: `>= ${submissionRatioMin * 100}% of direct`,
      measured: summary.submissionRatio === null ? null : round(summary.submissionRatio * 100, 1),
      unit: '%',
      met: summary.submissionRatio === null ? null : summary.submissionRatio >= submissionRatioMin,
    },
    {
      name: 'added latency p50 at half saturation',
      expected: `<= ${addedLatencyMsP50Max} ms`,
      measured: half?.addedLatencyMsP50 ?? null,
      unit: 'ms',
      met: atMost(half?.addedLatencyMsP50, addedLatencyMsP50Max),
    },
    {
      name: 'added latency p99 at half saturation',
      expected: `<= ${addedLatencyMsP99Max} ms`,
      measured: half?.addedLatencyMsP99 ?? null,
      unit: 'ms',
      met: atMost(half?.addedLatencyMsP99, addedLatencyMsP99Max),
    },
    ...floorTargets(summary),
    {
      name: `gateway resident memory with ${queriesInFlightTarget} queries in flight`,
      expected: `< ${rssMbWithQueriesInFlightMax} MB`,
      measured: summary.rssMbWithQueriesInFlight,
      unit: 'MB',
      // Not judged when the phase never held the target number of queries open.
      met:
        summary.rssMbWithQueriesInFlight === null || !inFlightReached
          ? null
          : summary.rssMbWithQueriesInFlight < rssMbWithQueriesInFlightMax,
    },
  ]
}

/** Issue 13's targets against the minimal proxy, by request kind; none when no floor was measured. */
function floorTargets(summary: Summary): TargetCheck[] {
  if (summary.floorByKind === undefined) return []
  const byKind = summary.floorByKind
  const half = summary.halfSaturation
  const percent = (ratio: number | undefined) => (ratio === undefined ? null : round(ratio * 100, 1))
  const atMost = (measured: number | null | undefined) =>
    measured === null || measured === undefined ? null : measured <= addedOverFloorLatencyMsP50Max
  return [
    {
      name: 'statement submissions through the gateway vs the minimal proxy (mean latency at saturation)',
      expected: `>= ${floorSubmissionRatioMin * 100}% of the minimal proxy`,
      measured: percent(byKind?.submission.ratio),
      unit: '%',
      met: byKind === null ? null : byKind.submission.ratio >= floorSubmissionRatioMin,
    },
    {
      name: 'follow-up polls through the gateway vs the minimal proxy (mean latency at saturation)',
      expected: `>= ${floorFollowUpRatioMin * 100}% of the minimal proxy`,
      measured: percent(byKind?.followUp.ratio),
      unit: '%',
      met: byKind === null ? null : byKind.followUp.ratio >= floorFollowUpRatioMin,
    },
    {
      name: 'statement submissions: added p50 over the minimal proxy at half saturation',
      expected: `<= ${addedOverFloorLatencyMsP50Max} ms`,
      measured: half?.addedOverFloorSubmissionLatencyMsP50 ?? null,
      unit: 'ms',
      met: atMost(half?.addedOverFloorSubmissionLatencyMsP50),
    },
    {
      name: 'follow-up polls: added p50 over the minimal proxy at half saturation',
      expected: `<= ${addedOverFloorLatencyMsP50Max} ms`,
      measured: half?.addedOverFloorFollowUpLatencyMsP50 ?? null,
      unit: 'ms',
      met: atMost(half?.addedOverFloorFollowUpLatencyMsP50),
    },
  ]
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

function ms(value: number): string {
  return `${value.toFixed(Math.abs(value) < 10 ? 2 : 1)} ms`
}

/**
 * Where the gateway stands against the floor: how much of the gap to direct any Node.js proxy
 * has on this machine, and how much is the gateway's own. Undefined when no floor was measured.
 */
export function floorSentence(summary: Summary): string | undefined {
  const floorRatio = summary.minimalProxyRatio
  if (floorRatio === null || floorRatio === undefined) return undefined
  const gatewayShare = summary.gatewayToMinimalProxyRatio
  const byKind = summary.floorByKind
  const half = summary.halfSaturation
  const overFloor =
    half?.addedOverFloorSubmissionLatencyMsP50 === null ||
    half?.addedOverFloorSubmissionLatencyMsP50 === undefined ||
    half.addedOverFloorFollowUpLatencyMsP50 === null ||
    half.addedOverFloorFollowUpLatencyMsP50 === undefined
      ? ''
      : ` At about half saturation it adds ${ms(half.addedOverFloorSubmissionLatencyMsP50)} (submissions) and ${ms(half.addedOverFloorFollowUpLatencyMsP50)} (follow-ups) at p50 over the minimal proxy.`
  return (
    `A minimal Node.js proxy (no routing, no history) reaches ${Math.round(floorRatio * 100)}% of direct in the same run` +
    `${gatewayShare === null || gatewayShare === undefined ? '' : `; the gateway reaches ${Math.round(gatewayShare * 100)}% of the minimal proxy`}.` +
    (byKind === null || byKind === undefined
      ? ''
      : ` By request kind at ${byKind.connections} connections (mean latency), statement submissions reach ${Math.round(byKind.submission.ratio * 100)}% and follow-up polls ${Math.round(byKind.followUp.ratio * 100)}% of the minimal proxy.`) +
    overFloor
  )
}

/**
 * The plain-language verdict: how fast the gateway saturates against direct, what it adds at
 * which rates, its memory, and which targets hold. Numbers only from the summary.
 */
export function verdictText(
  summary: Summary,
  targets: readonly TargetCheck[],
  context: { requestsPerQuery: number; loadAverage1m: number; cpus: number },
): string {
  const sentences: string[] = []
  const gateway = summary.gateway
  const direct = summary.direct
  if (gateway.saturationRequestsPerSecond > 0) {
    const ratio =
      summary.submissionRatio === null ? '' : `, ${Math.round(summary.submissionRatio * 100)}% of the `
    sentences.push(
      `Through the gateway, the Trino protocol saturates at ${integer.format(gateway.saturationQueriesPerSecond)} queries/s ` +
        `(${integer.format(gateway.saturationRequestsPerSecond)} HTTP requests/s, ${context.requestsPerQuery} per query) ` +
        `with ${gateway.saturationConnections} connections${ratio}${
          summary.submissionRatio === null
            ? ''
            : `${integer.format(direct.saturationQueriesPerSecond)} queries/s a mock coordinator takes directly in the same run`
        }.`,
    )
  } else {
    sentences.push('The gateway answered no request successfully: no saturation point was measured.')
  }
  const floor = floorSentence(summary)
  if (floor !== undefined) sentences.push(floor)
  const byRate = [...summary.overheadByRate].sort(
    (a, b) => a.offeredRequestsPerSecond - b.offeredRequestsPerSecond,
  )
  // The highest rate up to which every measured rate stays within the p99 target.
  let reach: { rate: number; worstP99: number } | undefined
  for (const entry of byRate) {
    if (entry.addedLatencyMsP99 > addedLatencyMsP99Max) break
    reach = {
      rate: entry.offeredRequestsPerSecond,
      worstP99: Math.max(reach?.worstP99 ?? Number.NEGATIVE_INFINITY, entry.addedLatencyMsP99),
    }
  }
  if (summary.halfSaturation !== null) {
    const half = summary.halfSaturation
    sentences.push(
      `At ${integer.format(half.offeredRequestsPerSecond)} requests/s offered (about half its saturation) it adds ` +
        `${ms(half.addedLatencyMsP50)} at p50 and ${ms(half.addedLatencyMsP99)} at p99 over the direct path.`,
    )
  }
  if (reach !== undefined) {
    const added = reach.worstP99 <= 0 ? 'no measurable latency' : `at most ${ms(reach.worstP99)}`
    sentences.push(
      `It adds ${added} at p99 up to ${integer.format(
        Math.round(reach.rate / context.requestsPerQuery),
      )} queries/s (${integer.format(reach.rate)} requests/s offered).`,
    )
  } else if (byRate.length > 0) {
    sentences.push(
      `Already at the lowest open-loop rate measured it adds more than ${addedLatencyMsP99Max} ms at p99.`,
    )
  }
  if (gateway.cpuSecondsPer1000RequestsAtSaturation !== null) {
    sentences.push(
      `Each 1,000 requests/s costs the gateway ${gateway.cpuSecondsPer1000RequestsAtSaturation.toFixed(2)} CPU cores at saturation${
        direct.mockCpuSecondsPer1000RequestsAtSaturation === null
          ? ''
          : ` (the mock coordinator serving them directly: ${direct.mockCpuSecondsPer1000RequestsAtSaturation.toFixed(2)})`
      }.`,
    )
  }
  if (summary.rssMbWithQueriesInFlight !== null) {
    sentences.push(
      `With ${integer.format(summary.queriesInFlightPeak ?? 0)} queries in flight its resident memory peaked at ${Math.round(summary.rssMbWithQueriesInFlight)} MB.`,
    )
  }
  const missed = targets.filter((target) => target.met === false)
  const unjudged = targets.filter((target) => target.met === null)
  if (missed.length === 0 && unjudged.length === 0) sentences.push('All targets are met.')
  else {
    if (missed.length > 0) sentences.push(`Missed: ${missed.map((target) => target.name).join('; ')}.`)
    if (unjudged.length > 0)
      sentences.push(`Not judged (no measurement): ${unjudged.map((target) => target.name).join('; ')}.`)
  }
  if (context.loadAverage1m > context.cpus) {
    sentences.push(
      `The machine was busy (1-minute load average ${context.loadAverage1m.toFixed(1)} on ${context.cpus} cores), so absolute figures are low; the gateway/direct comparisons were taken under the same load.`,
    )
  }
  return sentences.join(' ')
}

/** Gateway minus the minimal proxy at one offered rate, p50: all requests and by kind. */
function addedOverFloor(
  gatewayStep: StepResult,
  floorStep: StepResult,
): Pick<
  Summary['overheadByRate'][number],
  'addedOverFloorLatencyMsP50' | 'addedOverFloorSubmissionLatencyMsP50' | 'addedOverFloorFollowUpLatencyMsP50'
> {
  const viaGateway = gatewayStep.latencyMsByKind
  const viaFloor = floorStep.latencyMsByKind
  const split =
    viaGateway === null || viaGateway === undefined || viaFloor === null || viaFloor === undefined
      ? undefined
      : { viaGateway, viaFloor }
  return {
    addedOverFloorLatencyMsP50: round(gatewayStep.latencyMs.p50 - floorStep.latencyMs.p50, 3),
    addedOverFloorSubmissionLatencyMsP50:
      split === undefined ? null : round(split.viaGateway.submission.p50 - split.viaFloor.submission.p50, 3),
    addedOverFloorFollowUpLatencyMsP50:
      split === undefined ? null : round(split.viaGateway.followUp.p50 - split.viaFloor.followUp.p50, 3),
  }
}

/** Gateway minus direct p50 and p99 for submissions and for follow-ups, when both steps split them. */
function addedByKind(
  gatewayStep: StepResult,
  directStep: StepResult,
): Pick<
  Summary['overheadByRate'][number],
  | 'addedSubmissionLatencyMsP50'
  | 'addedSubmissionLatencyMsP99'
  | 'addedFollowUpLatencyMsP50'
  | 'addedFollowUpLatencyMsP99'
> {
  const viaGateway = gatewayStep.latencyMsByKind
  const direct = directStep.latencyMsByKind
  if (viaGateway === null || viaGateway === undefined || direct === null || direct === undefined) return {}
  return {
    addedSubmissionLatencyMsP50: round(viaGateway.submission.p50 - direct.submission.p50, 3),
    addedSubmissionLatencyMsP99: round(viaGateway.submission.p99 - direct.submission.p99, 3),
    addedFollowUpLatencyMsP50: round(viaGateway.followUp.p50 - direct.followUp.p50, 3),
    addedFollowUpLatencyMsP99: round(viaGateway.followUp.p99 - direct.followUp.p99, 3),
  }
}
