import { describe, expect, it } from 'vitest'
import type { MockQueryRecord } from '../types.ts'
import { answerRuntimeQueries, readsRuntimeQueries } from './runtime-queries.ts'

const nowMs = Date.UTC(2024, 0, 1, 12)

function record(queryId: string, user: string, state: MockQueryRecord['state'], ageMs = 0): MockQueryRecord {
  return {
    queryId,
    sql: 'SELECT 1',
    user,
    clientTags: [],
    sessionProperties: {},
    headers: {},
    state,
    createdAtMs: nowMs - ageMs,
  }
}

const records = [
  record('q1', 'alice', 'RUNNING'),
  record('q2', 'alice', 'QUEUED'),
  record('q3', 'bob', 'QUEUED'),
  record('q4', 'monitor', 'RUNNING'),
  record('q5', 'bob', 'FINISHED', 2 * 3_600_000),
]

describe('system.runtime.queries answered from the mock state', () => {
  it("answers Trino Gateway's JDBC monitor query, excluding the monitor user and old queries", () => {
    const sql =
      "SELECT state, COUNT(*) as count FROM runtime.queries WHERE user != 'monitor' AND date_diff('hour',created,now()) <= 1 GROUP BY state"
    expect(readsRuntimeQueries(sql)).toBe(true)
    const answer = answerRuntimeQueries(sql, records, nowMs)
    expect(answer.ok).toBe(true)
    if (!answer.ok) return
    expect(answer.columns.map((c) => [c.name, c.type])).toEqual([
      ['state', 'varchar'],
      ['count', 'bigint'],
    ])
    expect(Object.fromEntries(answer.rows as Array<[string, number]>)).toEqual({ RUNNING: 1, QUEUED: 2 })
  })

  it('projects named columns with a state filter', () => {
    const answer = answerRuntimeQueries(
      "select query_id, user from system.runtime.queries where state = 'QUEUED'",
      records,
      nowMs,
    )
    expect(answer).toMatchObject({
      ok: true,
      rows: [
        ['q2', 'alice'],
        ['q3', 'bob'],
      ],
    })
  })

  it('names an unknown column and refuses what it cannot evaluate', () => {
    expect(answerRuntimeQueries('select nope from runtime.queries', records, nowMs)).toMatchObject({
      ok: false,
      errorName: 'COLUMN_NOT_FOUND',
    })
    expect(
      answerRuntimeQueries("select * from runtime.queries where query like 'x%'", records, nowMs),
    ).toMatchObject({ ok: false, errorName: 'NOT_SUPPORTED' })
  })
})
