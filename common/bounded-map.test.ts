import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BoundedMap } from './bounded-map.ts'

/** The reference: a plain Map evicting with a fresh iterator each time. */
function reference(entriesMax: number, order: 'insertion' | 'use') {
  const map = new Map<number, number>()
  return {
    map,
    get(key: number) {
      const value = map.get(key)
      if (value !== undefined && order === 'use') {
        map.delete(key)
        map.set(key, value)
      }
      return value
    },
    set(key: number, value: number) {
      map.delete(key)
      map.set(key, value)
      while (map.size > entriesMax) map.delete(map.keys().next().value as number)
    },
  }
}

describe('BoundedMap', () => {
  it.each(['insertion', 'use'] as const)(
    'keeps the same entries in the same order as a map evicting its first key (%s order)',
    (order) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 8 }),
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('set' as const), key: fc.nat(20), value: fc.nat() }),
              fc.record({ op: fc.constant('get' as const), key: fc.nat(20) }),
              fc.record({ op: fc.constant('delete' as const), key: fc.nat(20) }),
            ),
            { maxLength: 200 },
          ),
          (entriesMax, ops) => {
            const bounded = new BoundedMap<number, number>(entriesMax, order)
            const expected = reference(entriesMax, order)
            for (const step of ops) {
              if (step.op === 'set') {
                bounded.set(step.key, step.value)
                expected.set(step.key, step.value)
              } else if (step.op === 'get') {
                expect(bounded.get(step.key)).toBe(expected.get(step.key))
              } else {
                expect(bounded.delete(step.key)).toBe(expected.map.delete(step.key))
              }
              expect(bounded.size).toBe(expected.map.size)
            }
            expect([...bounded.values()]).toEqual([...expected.map.values()])
          },
        ),
      )
    },
  )

  it('evicts the oldest across many table rebuilds', () => {
    const bounded = new BoundedMap<string, number>(100)
    for (let i = 0; i < 50_000; i++) bounded.set(`k${i}`, i)
    expect(bounded.size).toBe(100)
    expect([...bounded.values()]).toEqual(Array.from({ length: 100 }, (_, i) => 49_900 + i))
  })

  it('refuses a bound that is not an integer of at least 0', () => {
    expect(() => new BoundedMap(-1)).toThrow(/entriesMax must be an integer of at least 0, got -1/)
    expect(() => new BoundedMap(1.5)).toThrow(/got 1.5/)
  })
})
