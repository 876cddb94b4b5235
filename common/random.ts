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
  return arc4Rng(`${seed}\u0000`, key)
}

/**
 * `rngFor(seed, key)` for draws made at once, as a query's plan is drawn: the generator's state is
 * one buffer shared by every call, so nothing is allocated, and the PRNG returned may be drawn from
 * only until the next `scratchRngFor` call (a later draw throws). Building a PRNG's 256-entry state
 * per simulated query was the simulator's largest allocation.
 */
export function scratchRngFor(seed: number | string, key: string): Rng {
  const generation = ++scratchGeneration
  scratchArc4.reset(`${seed}\u0000`, key)
  return () => {
    if (generation !== scratchGeneration) {
      throw new Error('a scratch PRNG was drawn from after the next scratchRngFor call')
    }
    return scratchArc4.next()
  }
}

/** A PRNG for a whole run, for sequential draws whose order is itself deterministic. */
export function rngForRun(seed: number | string): Rng {
  return arc4Rng(String(seed), '')
}

/** seedrandom's reference implementation, for the test that holds `arc4Rng` to it. */
export const referenceRng = (seed: string): Rng => seedrandom(seed)

const arc4Width = 256
const arc4Mask = arc4Width - 1
const startDenominator = 2 ** 48
const significance = 2 ** 52
const overflow = 2 ** 53
/**
 * The ARC4 state starts as a copy of this. A plain array, not a Uint8Array: allocating a small
 * typed array costs V8 more than the whole key schedule, and a PRNG is built per query.
 */
const arc4Identity: readonly number[] = Array.from({ length: arc4Width }, (_, index) => index)
/** mixkey's key bytes; scratch, as the key is read only while the state is built. */
const arc4Key = new Uint8Array(arc4Width)

/**
 * `seedrandom(seed)` (its default ARC4 generator, RC4-drop[256]) draw for draw, without what a
 * seeded call does not need: seedrandom also mixes every new state into a global entropy pool,
 * which costs more than the generator and never changes a seeded sequence. A PRNG is built per
 * routed query and per simulated query, so this is on the hot path; random.test.ts checks the
 * two agree on arbitrary seeds.
 */
function arc4Rng(seedHead: string, seedTail: string): Rng {
  const state = new Arc4(arc4Identity.slice())
  state.reset(seedHead, seedTail)
  return () => state.next()
}

class Arc4 {
  readonly #s: number[]
  #i = 0
  #j = 0

  /** `s` is the state's storage, overwritten by `reset`. */
  constructor(s: number[]) {
    this.#s = s
  }

  /**
   * Keys the generator with the seed `seedHead + seedTail`, as seedrandom does; given in two
   * parts so that a PRNG per query does not build (and flatten) a new string for its seed.
   */
  reset(seedHead: string, seedTail: string): void {
    // mixkey: the seed's characters smeared into at most 256 key bytes (one 0 byte for "").
    const key = arc4Key
    const keyLength = Math.max(1, Math.min(seedHead.length + seedTail.length, arc4Width))
    key.fill(0, 0, keyLength)
    const smear = mixKey(key, seedHead, 0, 0)
    mixKey(key, seedTail, seedHead.length, smear)
    // The key schedule, then the 256 dropped bytes (RC4-drop[256]), whose output nobody reads.
    const s = this.#s
    for (let i = 0; i < arc4Width; i++) s[i] = i
    let j = 0
    for (let i = 0, k = 0; i < arc4Width; i++) {
      const t = s[i]!
      j = arc4Mask & (j + key[k]! + t)
      s[i] = s[j]!
      s[j] = t
      if (++k === keyLength) k = 0
    }
    j = 0
    for (let count = 1; count <= arc4Width; count++) {
      const i = arc4Mask & count
      const t = s[i]!
      j = arc4Mask & (j + t)
      s[i] = s[j]!
      s[j] = t
    }
    // 256 steps bring i back to 0.
    this.#i = 0
    this.#j = j
  }

  /** seedrandom's prng(): 6 bytes, then more until 52 significant bits, scaled into [0, 1). */
  next(): number {
    let n = 0
    for (let count = 0; count < 6; count++) n = n * arc4Width + this.#byte()
    let d = startDenominator
    let x = 0
    while (n < significance) {
      n = (n + x) * arc4Width
      d *= arc4Width
      x = this.#byte()
    }
    while (n >= overflow) {
      n /= 2
      d /= 2
      x >>>= 1
    }
    return (n + x) / d
  }

  /** One output byte of ARC4. */
  #byte(): number {
    const s = this.#s
    const i = arc4Mask & (this.#i + 1)
    const t = s[i]!
    const j = arc4Mask & (this.#j + t)
    const u = s[j]!
    s[i] = u
    s[j] = t
    this.#i = i
    this.#j = j
    return s[arc4Mask & (u + t)]!
  }
}

/** seedrandom's mixkey over `text` at seed position `offset`; returns the smear carried on. */
function mixKey(key: Uint8Array, text: string, offset: number, smearIn: number): number {
  let smear = smearIn
  for (let index = 0; index < text.length; index++) {
    const at = arc4Mask & (offset + index)
    smear ^= key[at]! * 19
    key[at] = arc4Mask & (smear + text.charCodeAt(index))
  }
  return smear
}

const scratchArc4 = new Arc4(arc4Identity.slice())
let scratchGeneration = 0

/** A uniform integer in [0, n). */
export function pickIndex(rng: Rng, n: number): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`pickIndex needs a positive integer, got ${n}`)
  return Math.min(n - 1, Math.floor(rng() * n))
}
