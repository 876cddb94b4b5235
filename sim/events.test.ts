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
        for (let event = queue.pop(); event !== undefined; event = queue.pop())
          popped.push([queue.poppedAtMs, event])
        const expected = times.map((atMs, index): [number, number] => [atMs, index])
        expected.sort((a, b) => a[0] - b[0] || a[1] - b[1])
        expect(popped).toEqual(expected)
        expect(queue.size).toBe(0)
      }),
    )
  })

  it('runs a reserved event where it would have run had it been pushed at the reservation', () => {
    // A stream of non-decreasing times fed one at a time (the next pushed when one pops) against
    // the same stream pushed up front, among other events pushed before, between and after.
    const streamTimes = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 30 })
    const otherTimes = fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 40 })
    fc.assert(
      fc.property(streamTimes, otherTimes, otherTimes, (gaps, before, after) => {
        const stream: number[] = []
        gaps.reduce((at, gap) => {
          stream.push(at + gap)
          return at + gap
        }, 0)
        const upFront = new EventQueue<string>()
        const fed = new EventQueue<string>()
        before.forEach((atMs, index) => {
          upFront.push(atMs, `before ${index}`)
          fed.push(atMs, `before ${index}`)
        })
        stream.forEach((atMs, index) => {
          upFront.push(atMs, `stream ${index}`)
        })
        const first = fed.reserve(stream.length)
        fed.pushReserved(stream[0] as number, first, 'stream 0')
        after.forEach((atMs, index) => {
          upFront.push(atMs, `after ${index}`)
          fed.push(atMs, `after ${index}`)
        })
        const drain = (queue: EventQueue<string>, feed: boolean): string[] => {
          const order: string[] = []
          for (let event = queue.pop(); event !== undefined; event = queue.pop()) {
            order.push(`${event} @${queue.poppedAtMs}`)
            const next = event.startsWith('stream ') ? Number(event.slice(7)) + 1 : -1
            if (feed && next > 0 && next < stream.length)
              queue.pushReserved(stream[next] as number, first + next, `stream ${next}`)
          }
          return order
        }
        expect(drain(fed, true)).toEqual(drain(upFront, false))
      }),
    )
  })

  it('refuses a time that is not finite, and a place that was not reserved', () => {
    expect(() => new EventQueue<string>().push(Number.NaN, 'x')).toThrow(/finite/)
    const queue = new EventQueue<string>()
    const first = queue.reserve(2)
    expect(() => queue.pushReserved(0, first + 2, 'x')).toThrow(/not reserved/)
  })
})
