import { describe, expect, it } from 'vitest'
import { pickIndex, rngFor } from './random.ts'

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
})
