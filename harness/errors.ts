import { CodedError } from '../common/errors.ts'

/**
 * The harness's one error catalog. Codes appear in CLI output, reports and tests; the exit status
 * of `npm run scenario` follows from the code (every error here means "exit 2": the scenario could
 * not be judged, as opposed to expectations that failed).
 */
export const harnessErrors = {
  SCENARIO_NOT_FOUND: 'no scenario file found',
  SCENARIO_INVALID: 'the scenario file is invalid',
  SCENARIO_UNREADABLE: 'the scenario file could not be read',
  TOPOLOGY_START_FAILED: 'the topology could not start',
  CLUSTER_NOT_HEALTHY: 'a cluster did not become HEALTHY in time',
  ADMIN_API_FAILED: "a call to the gateway's admin API failed",
  ACTION_FAILED: 'a timed action failed',
  RUN_TIMEOUT: 'the run exceeded its time bound',
  INTERRUPTED: 'the run was interrupted',
  USAGE: 'the command line is invalid',
} as const

export type HarnessErrorCode = keyof typeof harnessErrors

export class HarnessError extends CodedError {
  constructor(code: HarnessErrorCode, message: string, details?: Readonly<Record<string, unknown>>) {
    super(code, `${harnessErrors[code]}: ${message}`, 500, details)
    this.name = 'HarnessError'
  }
}

export function isHarnessError(error: unknown): error is HarnessError {
  return error instanceof HarnessError
}
