/**
 * Backend choice inside a routing group. The picker is pure: the shell passes the candidates
 * (active, in the group, HEALTHY) and a PRNG derived from (seed, the query's trace token).
 */
import { pickIndex, type Rng } from '../../common/random.ts'
import type { BackendRecord } from '../store/types.ts'
import type { LocalStats } from './query-count-router.ts'

export interface PickContext {
  /** PRNG for this query: `rngFor(seed, traceToken ?? per-request key)`. */
  rng: Rng
  /** `X-Trino-User`, for pickers that balance per user (the query-count router). */
  user: string | undefined
  routingGroup: string
}

/** A strategy choosing one backend among non-empty candidates (Trino Gateway's RoutingManager). */
export interface BackendPicker {
  readonly name: string
  pick(candidates: readonly BackendRecord[], context: PickContext): BackendRecord
  /** A load-aware picker's counts for one backend, as its next pick would compare them. */
  statsOf?(name: string): LocalStats | undefined
}

/** Uniform random choice (Trino Gateway's StochasticRoutingManager). */
export function pickRandomBackend(candidates: readonly BackendRecord[], rng: Rng): BackendRecord {
  const chosen = candidates[pickIndex(rng, candidates.length)]
  if (chosen === undefined) throw new RangeError('pickRandomBackend needs at least one candidate')
  return chosen
}

export const randomBackendPicker: BackendPicker = {
  name: 'random',
  pick: (candidates, context) => pickRandomBackend(candidates, context.rng),
}
