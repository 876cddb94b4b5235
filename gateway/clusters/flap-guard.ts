/**
 * Hysteresis for health (our answer to Trino Gateway #671, where one slow or failed probe takes a
 * cluster out of routing until the next round). Pure: the monitor keeps one `FlapGuardState` per
 * backend and asks `guardStatus` what status a probe result should put in force.
 *
 * - `monitor.failureThreshold` (default 1, Trino Gateway's behaviour): a HEALTHY cluster stays
 *   HEALTHY until this many probes in a row fail.
 * - `monitor.successThreshold` (default 1): a cluster the monitor took out (UNHEALTHY or UNKNOWN)
 *   returns to HEALTHY only after this many successful probes in a row. A cluster never taken out
 *   (new, activated, starting) becomes HEALTHY on its first success, so adding one is not slowed.
 * - PENDING (`starting: true`) is the cluster's own word, not a failure: it applies at once.
 */
import type { TrinoStatus } from './trino-status.ts'

/** The largest threshold accepted: at a 1 s round, a minute of failures. */
export const healthThresholdMax = 60

export interface HealthThresholds {
  failureThreshold: number
  successThreshold: number
}

export const defaultHealthThresholds: HealthThresholds = { failureThreshold: 1, successThreshold: 1 }

export interface FlapGuardState {
  consecutiveFailures: number
  consecutiveSuccesses: number
  /** True once the guard put a failure status in force, until a recovery is accepted. */
  demoted: boolean
}

export const initialFlapGuardState: FlapGuardState = {
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  demoted: false,
}

export interface FlapGuardStep {
  /** The status to put in force. */
  status: TrinoStatus
  state: FlapGuardState
  /** True when the probe's own status was not applied (a failure or a success below its threshold). */
  held: boolean
}

function isFailure(status: TrinoStatus): boolean {
  return status === 'UNHEALTHY' || status === 'UNKNOWN'
}

/**
 * `current` is the status in force before this probe (undefined: never probed), `probed` what the
 * probe found. Returns the status to apply and the guard's next state.
 */
export function guardStatus(
  current: TrinoStatus | undefined,
  probed: TrinoStatus,
  state: FlapGuardState,
  thresholds: HealthThresholds,
): FlapGuardStep {
  if (isFailure(probed)) {
    const failures = state.consecutiveFailures + 1
    const next = { consecutiveFailures: failures, consecutiveSuccesses: 0, demoted: state.demoted }
    if (current === 'HEALTHY' && failures < thresholds.failureThreshold) {
      return { status: 'HEALTHY', state: next, held: true }
    }
    return { status: probed, state: { ...next, demoted: true }, held: false }
  }
  if (probed === 'HEALTHY') {
    const successes = state.consecutiveSuccesses + 1
    const next = { consecutiveFailures: 0, consecutiveSuccesses: successes, demoted: state.demoted }
    if (state.demoted && successes < thresholds.successThreshold) {
      return { status: current ?? 'UNKNOWN', state: next, held: true }
    }
    return { status: 'HEALTHY', state: { ...next, demoted: false }, held: false }
  }
  return {
    status: probed,
    state: { consecutiveFailures: 0, consecutiveSuccesses: 0, demoted: state.demoted },
    held: false,
  }
}
