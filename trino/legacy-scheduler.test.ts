import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LegacyScheduler } from './legacy-scheduler.ts'
import type { QueryDescriptor } from './scheduler.ts'

function query(queryId: string): QueryDescriptor {
  return {
    queryId,
    user: 'u',
    source: undefined,
    clientTags: [],
    queryType: 'SELECT',
    resourceEstimate: {},
    priority: 1,
    createdAtMs: 0,
  }
}

describe('legacy global resource group', () => {
  it('runs up to query.max-concurrent-queries, queues up to query.max-queued-queries, then rejects with QUERY_QUEUE_FULL', () => {
    const scheduler = new LegacyScheduler({ maxConcurrentQueries: 2, maxQueuedQueries: 1 })
    expect(scheduler.submit(query('a'), 0)).toEqual({ kind: 'running', resourceGroupId: ['global'] })
    expect(scheduler.submit(query('b'), 0).kind).toBe('running')
    expect(scheduler.submit(query('c'), 0)).toEqual({ kind: 'queued', resourceGroupId: ['global'] })
    expect(scheduler.submit(query('d'), 0)).toEqual({
      kind: 'rejected',
      errorName: 'QUERY_QUEUE_FULL',
      message: 'Too many queued queries for "global"',
      resourceGroupId: ['global'],
    })
    expect(scheduler.counts()).toEqual({ running: 2, queued: 1 })
  })

  it('starts the oldest queued query when a running one leaves', () => {
    const scheduler = new LegacyScheduler({ maxConcurrentQueries: 1, maxQueuedQueries: 5 })
    for (const id of ['a', 'b', 'c']) scheduler.submit(query(id), 0)
    expect(scheduler.release('a', 1)).toEqual(['b'])
    expect(scheduler.release('c', 2)).toEqual([])
    expect(scheduler.groupOf('c')).toBeUndefined()
    expect(scheduler.groupOf('b')).toEqual(['global'])
  })

  it('never starts anything with a zero concurrency limit and rejects everything with a zero queue', () => {
    const noRun = new LegacyScheduler({ maxConcurrentQueries: 0, maxQueuedQueries: 1 })
    expect(noRun.submit(query('a'), 0).kind).toBe('queued')
    expect(noRun.tick(100)).toEqual([])
    const noQueue = new LegacyScheduler({ maxConcurrentQueries: 1, maxQueuedQueries: 0 })
    expect(noQueue.submit(query('a'), 0).kind).toBe('running')
    expect(noQueue.submit(query('b'), 0).kind).toBe('rejected')
  })

  it('uses Trino defaults of 1000 running and 5000 queued', () => {
    const scheduler = new LegacyScheduler()
    expect([scheduler.hardConcurrencyLimit, scheduler.maxQueued]).toEqual([1000, 5000])
  })

  it('refuses negative or fractional limits naming the option', () => {
    expect(() => new LegacyScheduler({ maxConcurrentQueries: -1 })).toThrow('maxConcurrentQueries')
    expect(() => new LegacyScheduler({ maxQueuedQueries: 1.5 })).toThrow('maxQueuedQueries')
  })

  it('keeps running within the limit and queued within the queue bound under random submits and releases', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.oneof(fc.constant('submit' as const), fc.nat({ max: 40 })), { maxLength: 200 }),
        (limit, queueMax, ops) => {
          const scheduler = new LegacyScheduler({ maxConcurrentQueries: limit, maxQueuedQueries: queueMax })
          const known: string[] = []
          const running = new Set<string>()
          let next = 0
          for (const op of ops) {
            if (op === 'submit') {
              const id = `q${next++}`
              const admission = scheduler.submit(query(id), 0)
              if (admission.kind !== 'rejected') known.push(id)
              if (admission.kind === 'running') running.add(id)
            } else if (known.length > 0) {
              const id = known.splice(op % known.length, 1)[0] as string
              running.delete(id)
              for (const started of scheduler.release(id, 0)) running.add(started)
            }
            const counts = scheduler.counts()
            expect(counts.running).toBeLessThanOrEqual(limit)
            expect(counts.queued).toBeLessThanOrEqual(queueMax)
            expect(counts.running).toBe(running.size)
            expect(counts.running + counts.queued).toBe(known.length)
          }
        },
      ),
    )
  })
})
