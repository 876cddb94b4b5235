import { randomInt } from 'node:crypto'
import seedrandom from 'seedrandom'

/**
 * The one source of randomness. Every random choice draws from a PRNG derived from the run's seed
 * and a stable key of the thing being decided (a query's trace token, a sequence number), so that
 * decisions do not depend on arrival order. `Math.random` is never used in source.
 */
export type Rng = () => number

export const seedMax = 2 ** 31 - 1

/** A fresh seed for runs where the user gave none; callers log it so the run can be repeated. */
export function randomSeed(): number {
  return randomInt(1, seedMax)
}

/** A PRNG for (seed, key): the same pair always yields the same sequence. */
export function rngFor(seed: number | string, key: string): Rng {
  return seedrandom(`${seed}\u0000${key}`)
}

/** A PRNG for a whole run, for sequential draws whose order is itself deterministic. */
export function rngForRun(seed: number | string): Rng {
  return seedrandom(String(seed))
}

/** A uniform integer in [0, n). */
export function pickIndex(rng: Rng, n: number): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`pickIndex needs a positive integer, got ${n}`)
  return Math.min(n - 1, Math.floor(rng() * n))
}
