import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LegacyScheduler } from '../trino/legacy-scheduler.ts'
import { Coordinator } from './coordinator.ts'
import type { StatementSession } from './protocol/session.ts'
import type { MockQueryState } from './types.ts'
import { workloadSchema } from './workload/model.ts'

const session: StatementSession = {
  user: 'alice',
  clientTags: [],
  sessionProperties: {},
  resourceEstimate: {},
  preparedStatements: {},
}

type Op =
  | { kind: 'arrive'; durationMs: number; rows: number; fail: boolean }
  | { kind: 'poll'; pick: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'advance'; ms: number }

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('arrive' as const),
      durationMs: fc.integer({ min: 0, max: 500 }),
      rows: fc.integer({ min: 0, max: 7 }),
      fail: fc.boolean(),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('poll' as const), pick: fc.nat() }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }),
    weight: 3,
  },
)

interface ClientView {
  queryId: string
  slug: string
  context: 'queued' | 'executing' | 'done'
  token: number
}

describe('coordinator with the legacy global group under random arrivals, durations and cancels', () => {
  it('never runs more than the limit, never queues more than the queue limit, ends every query in exactly one terminal state', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(opArbitrary, { maxLength: 120 }),
        (maxConcurrentQueries, maxQueuedQueries, ops) => {
          const scheduler = new LegacyScheduler({ maxConcurrentQueries, maxQueuedQueries })
          let slugCounter = 0
          const core = new Coordinator({
            name: 'prop',
            seed: 7,
            workload: workloadSchema.parse({ pageRows: 3 }),
            scheduler,
            clientTimeoutMs: 60_000,
            finishedQueriesMax: 10_000,
            nextSlug: () => `y${++slugCounter}`,
            querySuffix: 'abcde',
          })
          const terminal = new Map<string, MockQueryState>()
          core.onChange((queryId) => {
            const state = core.record(queryId)?.state
            const first = terminal.get(queryId)
            // Once FINISHED or FAILED, a query never changes state again.
            if (first !== undefined) expect(state).toBe(first)
            if (state === 'FINISHED' || state === 'FAILED') terminal.set(queryId, state)
          })
          const clients: ClientView[] = []
          let nowMs = 1_700_000_000_000

          const poll = (client: ClientView): void => {
            if (client.context === 'queued') {
              const check = core.checkQueued(client.queryId, client.slug, client.token, nowMs)
              expect(check.kind).toBe('ok')
              const response = core.respondQueued(client.queryId, client.token, nowMs)
              if (response?.next === undefined) client.context = 'done'
              else {
                client.context = response.next.context
                client.token = response.next.token
              }
            } else if (client.context === 'executing') {
              const check = core.checkExecuting(client.queryId, client.slug, client.token, nowMs)
              expect(check.kind).toBe('ok')
              const response = core.respondExecuting(client.queryId, client.token, nowMs)
              if (response?.next === undefined) client.context = 'done'
              else client.token = response.next.token
            }
          }

          const checkInvariants = (): void => {
            const counts = core.counts()
            const schedulerCounts = scheduler.counts()
            expect(counts.running).toBeLessThanOrEqual(maxConcurrentQueries)
            expect(schedulerCounts.queued).toBeLessThanOrEqual(maxQueuedQueries)
            expect(counts.running).toBe(schedulerCounts.running)
            expect(counts.running).toBeGreaterThanOrEqual(0)
            expect(counts.queued).toBeGreaterThanOrEqual(schedulerCounts.queued)
          }

          for (const op of ops) {
            if (op.kind === 'arrive') {
              const directive = `/* mock: duration=${op.durationMs}ms rows=${op.rows}${op.fail ? ' fail=EXCEEDED_TIME_LIMIT' : ''} */`
              const created = core.create(
                { sql: `SELECT x FROM t ${directive}`, session, headers: {} },
                nowMs,
              )
              const client: ClientView = {
                queryId: created.queryId,
                slug: created.slug,
                context: 'queued',
                token: 1,
              }
              clients.push(client)
              poll(client)
            } else if (op.kind === 'poll' && clients.length > 0) {
              poll(clients[op.pick % clients.length] as ClientView)
            } else if (op.kind === 'cancel' && clients.length > 0) {
              core.cancel((clients[op.pick % clients.length] as ClientView).queryId, nowMs)
            } else if (op.kind === 'advance') {
              nowMs += op.ms
              core.advance(nowMs)
            }
            checkInvariants()
          }

          if (maxConcurrentQueries === 0) {
            // Nothing can ever run: the clients give up, and the coordinator abandons their queries.
            const waiting = clients.filter((c) => core.record(c.queryId)?.state === 'QUEUED')
            nowMs += 60_001
            core.advance(nowMs)
            for (const client of waiting)
              expect(core.record(client.queryId)?.errorName).toBe('ABANDONED_QUERY')
            for (const client of clients) if (client.context !== 'done') poll(client)
          }
          // Let every client drain its query to the end.
          for (let round = 0; round < 10_000 && clients.some((c) => c.context !== 'done'); round++) {
            nowMs += 50
            core.advance(nowMs)
            for (const client of clients) if (client.context !== 'done') poll(client)
            checkInvariants()
          }
          expect(clients.every((c) => c.context === 'done')).toBe(true)

          const records = core.records()
          expect(records).toHaveLength(clients.length)
          for (const record of records) {
            expect(['FINISHED', 'FAILED']).toContain(record.state)
            expect(terminal.get(record.queryId)).toBe(record.state)
          }
          const counts = core.counts()
          expect(counts.running).toBe(0)
          expect(counts.queued).toBe(0)
          expect(counts.finished + counts.failed + counts.canceled).toBe(clients.length)
          expect(counts.finished).toBe(records.filter((r) => r.state === 'FINISHED').length)
          expect(counts.canceled).toBe(records.filter((r) => r.errorName === 'USER_CANCELED').length)
          expect(scheduler.counts()).toEqual({ running: 0, queued: 0 })
        },
      ),
      { numRuns: 150 },
    )
  })
})
