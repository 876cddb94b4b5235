import { CodedError } from '../common/errors.ts'

/**
 * The simulator's and the replay's one error catalog. Every code means exit status 2 (the run
 * could not be judged); expectations that fail and decisions that differ exit 1.
 */
export const simErrors = {
  SIM_USAGE: 'the command line is invalid',
  SIM_UNSUPPORTED: 'the scenario uses something the simulator does not model',
  SIM_SCENARIO_FILE_UNREADABLE: 'a file the scenario names could not be read',
  SIM_RUNAWAY: 'the simulation exceeded its bounds',
  REPLAY_INPUT_INVALID: 'the replay input is invalid',
  REPLAY_INPUT_UNREADABLE: 'the replay input could not be read',
} as const

export type SimErrorCode = keyof typeof simErrors

export function simError(
  code: SimErrorCode,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): CodedError {
  return new CodedError(code, `${simErrors[code]}: ${message}`, 500, details)
}
