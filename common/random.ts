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
  return arc4Rng(`${seed}\u0000${key}`)
}

/** A PRNG for a whole run, for sequential draws whose order is itself deterministic. */
export function rngForRun(seed: number | string): Rng {
  return arc4Rng(String(seed))
}

/** seedrandom's reference implementation, for the test that holds `arc4Rng` to it. */
export const referenceRng = (seed: string): Rng => seedrandom(seed)

const arc4Width = 256
const arc4Mask = arc4Width - 1
const startDenominator = 2 ** 48
const significance = 2 ** 52
const overflow = 2 ** 53

/**
 * `seedrandom(seed)` (its default ARC4 generator, RC4-drop[256]) draw for draw, without what a
 * seeded call does not need: seedrandom also mixes every new state into a global entropy pool,
 * which costs more than the generator and never changes a seeded sequence. A PRNG is built per
 * routed query and per simulated query, so this is on the hot path; random.test.ts checks the
 * two agree on arbitrary seeds.
 */
function arc4Rng(seed: string): Rng {
  // mixkey: the seed's characters smeared into at most 256 key bytes.
  const keyLength = Math.min(seed.length, arc4Width)
  const key = new Int32Array(Math.max(1, keyLength))
  let smear = 0
  for (let j = 0; j < seed.length; j++) {
    smear ^= key[arc4Mask & j]! * 19
    key[arc4Mask & j] = arc4Mask & (smear + seed.charCodeAt(j))
  }
  const length = Math.max(1, keyLength)
  const s = new Uint8Array(arc4Width)
  for (let i = 0; i < arc4Width; i++) s[i] = i
  for (let i = 0, j = 0; i < arc4Width; i++) {
    const t = s[i]!
    j = arc4Mask & (j + key[i % length]! + t)
    s[i] = s[j]!
    s[j] = t
  }
  let i = 0
  let j = 0
  const g = (count: number): number => {
    let r = 0
    for (let n = 0; n < count; n++) {
      i = arc4Mask & (i + 1)
      const t = s[i]!
      j = arc4Mask & (j + t)
      const u = s[j]!
      s[i] = u
      s[j] = t
      r = r * arc4Width + s[arc4Mask & (u + t)]!
    }
    return r
  }
  g(arc4Width)
  return () => {
    let n = g(6)
    let d = startDenominator
    let x = 0
    while (n < significance) {
      n = (n + x) * arc4Width
      d *= arc4Width
      x = g(1)
    }
    while (n >= overflow) {
      n /= 2
      d /= 2
      x >>>= 1
    }
    return (n + x) / d
  }
}

/** A uniform integer in [0, n). */
export function pickIndex(rng: Rng, n: number): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`pickIndex needs a positive integer, got ${n}`)
  return Math.min(n - 1, Math.floor(rng() * n))
}
