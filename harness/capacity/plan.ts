/**
 * Sweep planning: which steps a run takes and how long each lasts. Pure, so the quick plan's time
 * budget is checked by a test rather than discovered by a slow run.
 */

export interface ClosedLoopStep {
  connections: number
  durationS: number
}

export interface OpenLoopStep {
  /** Share of the gateway's saturation rate this step offers. */
  fraction: number
  offeredRequestsPerSecond: number
  connections: number
  durationS: number
}

export interface SweepPlan {
  mode: 'quick' | 'full'
  /** Unmeasured load before each target's first step (JIT, connection pools). */
  warmupS: number
  closedLoop: ClosedLoopStep[]
  openLoopFractions: number[]
  openLoopDurationS: number
  /** `durationS` is the most it may take: the phase ends once `queries` are in flight. */
  inFlight: { queries: number; durationS: number }
}

/** The target of the resident-memory check: queries held open through the gateway at once. */
export const queriesInFlightTarget = 1000
/** `--quick` must finish within this, start-up and reports included. */
export const quickRunBudgetS = 60
/** Time allowed for starting processes and writing reports in the quick budget. */
export const quickStartupAllowanceS = 15
/** Open loop never opens more connections per target than this. */
export const openLoopConnectionsMax = 256
/** autocannon's rate limit works per connection and per whole second; below 1 it sends nothing. */
export const openLoopRequestsPerConnectionMin = 1

export function planSweep(mode: 'quick' | 'full'): SweepPlan {
  if (mode === 'quick') {
    return {
      mode,
      warmupS: 1,
      // Few, short steps: start-up takes 10 to 20 s of the 60 s budget on the loaded 2-core machine,
      // and autocannon ends a run on its next one-second tick, so steps last whole seconds.
      closedLoop: [8, 64].map((connections) => ({ connections, durationS: 2 })),
      openLoopFractions: [0.25, 0.5, 0.75],
      openLoopDurationS: 2,
      // On the loaded machine 2 s was not always enough to get 1,000 POSTs through; the phase ends
      // as soon as the target is reached, usually within 3 to 4 s.
      inFlight: { queries: queriesInFlightTarget, durationS: 6 },
    }
  }
  return {
    mode,
    warmupS: 3,
    closedLoop: [1, 4, 16, 64, 256].map((connections) => ({ connections, durationS: 10 })),
    // wrk2's advice: runs shorter than 10-20 s say little about the tail.
    openLoopFractions: [0.1, 0.25, 0.5, 0.75, 0.9],
    openLoopDurationS: 15,
    inFlight: { queries: queriesInFlightTarget, durationS: 15 },
  }
}

/** The open-loop fraction the minimal proxy (the floor) also runs: where issue 13's latency target is judged. */
export const floorOpenLoopFraction = 0.5

/**
 * Seconds of load the plan generates: every step runs against the mock directly and through the
 * gateway; the warm-up, the closed loop and the half-saturation open-loop step also through the
 * minimal proxy (the floor); the in-flight phase through the gateway only.
 */
export function plannedLoadSeconds(plan: SweepPlan): number {
  const closedLoopS = plan.closedLoop.reduce((sum, step) => sum + step.durationS, 0)
  const perTarget = plan.warmupS + closedLoopS + plan.openLoopFractions.length * plan.openLoopDurationS
  const floorOpenLoopS = plan.openLoopFractions.includes(floorOpenLoopFraction) ? plan.openLoopDurationS : 0
  const minimalProxy = plan.warmupS + closedLoopS + floorOpenLoopS
  return 2 * perTarget + minimalProxy + plan.inFlight.durationS
}

/**
 * Open-loop steps at fractions of the gateway's saturation rate. Direct and gateway get the same
 * offered rates, so their latencies compare at equal load. Connections: enough that no connection
 * needs more than `requestsPerQuery` requests a second (one query per connection per second keeps
 * autocannon's per-second bursts short), capped at `openLoopConnectionsMax`.
 */
export function planOpenLoop(
  plan: SweepPlan,
  gatewaySaturationRequestsPerSecond: number,
  requestsPerQuery: number,
): OpenLoopStep[] {
  const steps: OpenLoopStep[] = []
  for (const fraction of plan.openLoopFractions) {
    const offeredRequestsPerSecond = Math.floor(gatewaySaturationRequestsPerSecond * fraction)
    if (offeredRequestsPerSecond < openLoopRequestsPerConnectionMin) continue
    // Steps are matched across targets by offered rate, so each rate is measured once.
    if (steps.some((step) => step.offeredRequestsPerSecond === offeredRequestsPerSecond)) continue
    const wanted = Math.ceil(offeredRequestsPerSecond / Math.max(1, requestsPerQuery))
    const connections = Math.max(1, Math.min(openLoopConnectionsMax, wanted, offeredRequestsPerSecond))
    steps.push({ fraction, offeredRequestsPerSecond, connections, durationS: plan.openLoopDurationS })
  }
  return steps
}

/**
 * The interval at which one connection is meant to send, for coordinated-omission correction:
 * autocannon spreads `offered` requests a second evenly over `connections`.
 */
export function expectedIntervalMs(offeredRequestsPerSecond: number, connections: number): number {
  if (offeredRequestsPerSecond <= 0) return Number.POSITIVE_INFINITY
  return (1000 * connections) / offeredRequestsPerSecond
}
