import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pickIndex, referenceRng, rngFor, rngForRun, scratchRngFor } from './random.ts'

describe('seeded randomness', () => {
  it('gives the same draws for the same seed and key, whatever else was drawn before', () => {
    const first = rngFor(42, 'scenario/client/1')
    rngFor(42, 'other')()
    const second = rngFor(42, 'scenario/client/1')
    expect([first(), first()]).toEqual([second(), second()])
  })

  it('gives different draws for different keys', () => {
    expect(rngFor(42, 'a')()).not.toBe(rngFor(42, 'b')())
  })

  it('picks indexes inside the range', () => {
    const rng = rngFor(1, 'k')
    for (let i = 0; i < 1000; i++) {
      const index = pickIndex(rng, 3)
      expect(index).toBeGreaterThanOrEqual(0)
      expect(index).toBeLessThan(3)
    }
    expect(() => pickIndex(rng, 0)).toThrow('positive integer')
  })

  it('draws exactly what seedrandom draws for the same seed, for any seed text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 40 })),
        (seed) => {
          const ours = rngForRun(seed)
          const reference = referenceRng(seed)
          for (let draw = 0; draw < 20; draw++) expect(ours()).toBe(reference())
        },
      ),
      { numRuns: 300 },
    )
    // rngFor keys with the seed and the key apart; the key bytes must be those of the whole text.
    fc.assert(
      fc.property(fc.integer(), fc.string({ maxLength: 400 }), (seed, key) => {
        const ours = rngFor(seed, key)
        const reference = referenceRng(`${seed}\u0000${key}`)
        for (let draw = 0; draw < 5; draw++) expect(ours()).toBe(reference())
      }),
      { numRuns: 300 },
    )
    const keyed = rngFor(2024, 'weighted-fair/large-customer/1')
    const reference = referenceRng('2024\u0000weighted-fair/large-customer/1')
    expect([keyed(), keyed(), keyed()]).toEqual([reference(), reference(), reference()])
  })

  it('scratchRngFor draws what rngFor draws, and refuses a draw once the next one is built', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.string({ maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        (seed, key, draws) => {
          const keyed = rngFor(seed, key)
          const scratch = scratchRngFor(seed, key)
          for (let draw = 0; draw < draws; draw++) expect(scratch()).toBe(keyed())
        },
      ),
      { numRuns: 300 },
    )
    const stale = scratchRngFor(1, 'a')
    stale()
    scratchRngFor(1, 'b')
    expect(() => stale()).toThrow(/after the next scratchRngFor call/)
  })
})
