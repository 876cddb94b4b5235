import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EventQueue } from './events.ts'

describe('EventQueue', () => {
  it('pops events by time, and events at the same time in the order they were pushed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const queue = new EventQueue<number>()
        times.forEach((atMs, index) => {
          queue.push(atMs, index)
        })
        const popped: Array<[number, number]> = []
        for (let next = queue.pop(); next !== undefined; next = queue.pop())
          popped.push([next.atMs, next.event])
        const expected = times.map((atMs, index): [number, number] => [atMs, index])
        expected.sort((a, b) => a[0] - b[0] || a[1] - b[1])
        expect(popped).toEqual(expected)
      }),
    )
  })

  it('refuses a time that is not finite', () => {
    expect(() => new EventQueue<string>().push(Number.NaN, 'x')).toThrow(/finite/)
  })
})
