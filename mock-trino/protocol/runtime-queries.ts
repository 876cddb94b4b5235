import { isTrinoErrorName, trinoErrorCodes } from '../errors.ts'
import { type Column, column, stripComments } from '../sql.ts'
import type { MockQueryRecord } from '../types.ts'

/**
 * Answers SQL over `system.runtime.queries` from the mock's own query records, so Trino Gateway's
 * JDBC monitor (`SELECT state, COUNT(*) ... FROM runtime.queries WHERE user != ? AND
 * date_diff('hour', created, now()) <= 1 GROUP BY state`) sees the mock's real state.
 * Supported: a projection (`*` or column names) or `state, count(*)` grouped by state, with a WHERE of
 * conditions joined by AND on user, state, query_id, source and `date_diff('hour', created, now())`.
 */

export type RuntimeQueriesAnswer =
  | { ok: true; columns: Column[]; rows: unknown[][] }
  | { ok: false; errorName: 'NOT_SUPPORTED' | 'COLUMN_NOT_FOUND'; message: string }

const fromPattern = /\bfrom\s+(?:"?system"?\.)?"?runtime"?\."?queries"?/i

export function readsRuntimeQueries(sql: string): boolean {
  return fromPattern.test(sql)
}

type Extractor = (record: MockQueryRecord, nowMs: number) => unknown

function timestamp(ms: number | undefined): string | null {
  if (ms === undefined) return null
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')} UTC`
}

const tableColumns: ReadonlyArray<[Column, Extractor]> = [
  [column('query_id', 'varchar'), (r) => r.queryId],
  [column('state', 'varchar'), (r) => r.state],
  [column('user', 'varchar'), (r) => r.user],
  [column('source', 'varchar'), (r) => r.source ?? null],
  [column('query', 'varchar'), (r) => r.sql],
  [
    {
      name: 'resource_group_id',
      type: 'array(varchar)',
      typeSignature: {
        rawType: 'array',
        arguments: [{ kind: 'TYPE', value: { rawType: 'varchar', arguments: [] } }],
      },
    },
    (r) => r.resourceGroupId ?? null,
  ],
  [column('queued_time_ms', 'bigint'), (r, now) => (r.startedAtMs ?? r.finishedAtMs ?? now) - r.createdAtMs],
  [column('analysis_time_ms', 'bigint'), () => 0],
  [column('planning_time_ms', 'bigint'), () => 0],
  [column('created', 'timestamp', [3]), (r) => timestamp(r.createdAtMs)],
  [column('started', 'timestamp', [3]), (r) => timestamp(r.startedAtMs)],
  [column('last_heartbeat', 'timestamp', [3]), (r, now) => timestamp(r.finishedAtMs ?? now)],
  [column('end', 'timestamp', [3]), (r) => timestamp(r.finishedAtMs)],
  [column('error_type', 'varchar'), (r) => (r.errorName === undefined ? null : errorTypeOf(r.errorName))],
  [column('error_code', 'varchar'), (r) => r.errorName ?? null],
]

// Trino writes the type of a timestamp with zone column as `timestamp(3) with time zone`.
for (const [c] of tableColumns) {
  if (c.typeSignature.rawType === 'timestamp') {
    c.type = 'timestamp(3) with time zone'
    c.typeSignature.rawType = 'timestamp with time zone'
  }
}

function errorTypeOf(name: string): string {
  return isTrinoErrorName(name) ? trinoErrorCodes[name].type : 'INTERNAL_ERROR'
}

type Predicate = (record: MockQueryRecord, nowMs: number) => boolean

function parseCondition(condition: string): Predicate | undefined {
  const text = condition.trim()
  const compare = /^"?(user|state|query_id|source)"?\s*(=|!=|<>)\s*'((?:[^']|'')*)'$/i.exec(text)
  if (compare) {
    const field = (compare[1] as string).toLowerCase()
    const negate = compare[2] !== '='
    const value = (compare[3] as string).replaceAll("''", "'")
    const read = (r: MockQueryRecord): string | undefined =>
      field === 'user' ? r.user : field === 'state' ? r.state : field === 'source' ? r.source : r.queryId
    return (r) => (read(r) === value) !== negate
  }
  const age =
    /^date_diff\(\s*'(second|minute|hour|day)'\s*,\s*created\s*,\s*now\(\)\s*\)\s*(<=|<)\s*(\d+)$/i.exec(text)
  if (age) {
    const unitMs = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }[
      (age[1] as string).toLowerCase() as 'second' | 'minute' | 'hour' | 'day'
    ]
    const limit = Number(age[3])
    const inclusive = age[2] === '<='
    return (r, now) => {
      const diff = Math.trunc((now - r.createdAtMs) / unitMs)
      return inclusive ? diff <= limit : diff < limit
    }
  }
  return undefined
}

export function answerRuntimeQueries(
  sql: string,
  records: readonly MockQueryRecord[],
  nowMs: number,
): RuntimeQueriesAnswer {
  const text = stripComments(sql).trim().replace(/;\s*$/, '').replace(/\s+/g, ' ')
  const match =
    /^select (.+?) from (?:"?system"?\.)?"?runtime"?\."?queries"?(?: where (.+?))?(?: group by (?:"?state"?|1))?$/i.exec(
      text,
    )
  const unsupported = (): RuntimeQueriesAnswer => ({
    ok: false,
    errorName: 'NOT_SUPPORTED',
    message: `mock-trino cannot answer this query over system.runtime.queries: ${text}`,
  })
  if (!match) return unsupported()
  const grouped = /group by/i.test(text)
  const predicates: Predicate[] = []
  if (match[2] !== undefined) {
    for (const condition of (match[2] as string).split(/ and /i)) {
      const predicate = parseCondition(condition)
      if (predicate === undefined) return unsupported()
      predicates.push(predicate)
    }
  }
  const selected = records.filter((r) => predicates.every((p) => p(r, nowMs)))
  const projection = (match[1] as string).trim()

  if (grouped) {
    const countItem =
      /^"?state"?\s*,\s*count\(\s*(?:\*|1)\s*\)(?:\s+(?:as\s+)?"?([A-Za-z_][A-Za-z0-9_]*)"?)?$/i.exec(
        projection,
      )
    if (!countItem) return unsupported()
    const counts = new Map<string, number>()
    for (const record of selected) counts.set(record.state, (counts.get(record.state) ?? 0) + 1)
    return {
      ok: true,
      columns: [column('state', 'varchar'), column(countItem[1]?.toLowerCase() ?? '_col1', 'bigint')],
      rows: [...counts.entries()],
    }
  }

  const chosen: Array<[Column, Extractor]> = []
  if (projection === '*') chosen.push(...tableColumns)
  else {
    for (const name of projection.split(',').map((n) => n.trim().replaceAll('"', '').toLowerCase())) {
      const found = tableColumns.find(([c]) => c.name === name)
      if (found === undefined) {
        return {
          ok: false,
          errorName: 'COLUMN_NOT_FOUND',
          message: `line 1:8: Column '${name}' cannot be resolved`,
        }
      }
      chosen.push(found)
    }
  }
  return {
    ok: true,
    columns: chosen.map(([c]) => c),
    rows: selected.map((r) => chosen.map(([, extract]) => extract(r, nowMs))),
  }
}
