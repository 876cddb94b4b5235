/**
 * SQL for `gateway_backend` and `query_history`, and the mapping between their rows and the
 * records of types.ts. Every statement is a single round trip outside any caller's transaction, so
 * each is short even on the single-session embedded database.
 */
import { gatewayError } from '../errors.ts'
import { createGroupCommit } from './group-commit.ts'
import type {
  BackendRecord,
  BackendStore,
  GatewayStore,
  QueryHistoryRecord,
  QueryHistorySearch,
  QueryHistoryStore,
} from './types.ts'

/** Rows one history page returns at most, whatever `size` asks for. */
export const historyPageRowsMax = 1000
/** Trino Gateway's default page size, used when `size` is below 1. */
export const historyPageRowsDefault = 10
/** History rows one group-committed INSERT carries at most (8 parameters a row). */
export const historyInsertBatchRowsMax = 256
/**
 * Group-committed history INSERTs in flight at once. One: while it commits, the next POSTs gather
 * into the following batch, so a busy gateway writes few large batches (the embedded database
 * executes one statement at a time anyway, and its cost is mostly per statement).
 */
export const historyInsertFlushesInFlightMax = 1

type Query = GatewayStore['query']

interface BackendRow extends Record<string, unknown> {
  name: string
  routing_group: string | null
  backend_url: string | null
  external_url: string | null
  active: boolean | null
}

interface HistoryRow extends Record<string, unknown> {
  query_id: string
  query_text: string | null
  created: string | number | null
  backend_url: string | null
  user_name: string | null
  source: string | null
  routing_group: string | null
  external_url: string | null
}

/** Trino Gateway strips one trailing `/` from `proxyTo` and `externalUrl` before storing them. */
export function stripTrailingSlash(url: string): string
export function stripTrailingSlash(url: string | null): string | null
export function stripTrailingSlash(url: string | null): string | null {
  return url === null ? null : url.replace(/\/$/, '')
}

const backendColumns = 'name, routing_group, backend_url, external_url, active'

export function backendStore(query: Query): BackendStore {
  return {
    async list() {
      const rows = await query<BackendRow>(`SELECT ${backendColumns} FROM gateway_backend ORDER BY name`)
      return rows.map(backendFromRow)
    },
    async get(name) {
      const rows = await query<BackendRow>(`SELECT ${backendColumns} FROM gateway_backend WHERE name = $1`, [
        name,
      ])
      return rows[0] === undefined ? undefined : backendFromRow(rows[0])
    },
    async insert(backend) {
      const rows = await query<{ name: string }>(
        `INSERT INTO gateway_backend (${backendColumns}) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO NOTHING RETURNING name`,
        backendParameters(backend),
      )
      if (rows.length === 0) {
        throw gatewayError(
          'BACKEND_ALREADY_EXISTS',
          `a backend named ${JSON.stringify(backend.name)} exists already`,
          {
            name: backend.name,
          },
        )
      }
    },
    async upsert(backend) {
      // The CTE reads the row as it was before the statement, so the replaced row comes back
      // from the same single statement (no transaction held across round trips).
      const rows = await query<BackendRow>(
        `WITH previous AS (SELECT ${backendColumns} FROM gateway_backend WHERE name = $1),
         written AS (
           INSERT INTO gateway_backend (${backendColumns}) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (name) DO UPDATE SET routing_group = EXCLUDED.routing_group,
             backend_url = EXCLUDED.backend_url, external_url = EXCLUDED.external_url, active = EXCLUDED.active
         )
         SELECT ${backendColumns} FROM previous`,
        backendParameters(backend),
      )
      return rows[0] === undefined ? undefined : backendFromRow(rows[0])
    },
    async delete(name) {
      const rows = await query<BackendRow>(
        `DELETE FROM gateway_backend WHERE name = $1 RETURNING ${backendColumns}`,
        [name],
      )
      return rows[0] === undefined ? undefined : backendFromRow(rows[0])
    },
    async setActive(name, active) {
      const rows = await query<{ name: string }>(
        'UPDATE gateway_backend SET active = $2 WHERE name = $1 RETURNING name',
        [name, active],
      )
      return rows.length > 0
    },
  }
}

const historyColumns =
  'query_id, query_text, created, backend_url, user_name, source, routing_group, external_url'

export function historyStore(query: Query): QueryHistoryStore {
  // One autocommitted statement per batch: every row of it is committed when it resolves. A
  // repeated query id keeps its first row, so a retried insert cannot move a query to another backend.
  const insertBatch = async (batch: readonly QueryHistoryRecord[]): Promise<void> => {
    // One statement text whatever the batch size (rows arrive as one array per column), so the
    // database parses and plans a short statement instead of a VALUES list per batch size.
    await query(
      `INSERT INTO query_history (${historyColumns})
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
       ON CONFLICT (query_id) DO NOTHING`,
      [
        batch.map((record) => record.queryId),
        batch.map((record) => record.queryText),
        batch.map((record) => record.created),
        batch.map((record) => stripTrailingSlash(record.backendUrl)),
        batch.map((record) => record.userName),
        batch.map((record) => record.source),
        batch.map((record) => record.routingGroup),
        batch.map((record) => stripTrailingSlash(record.externalUrl)),
      ],
    )
  }
  return {
    insert: createGroupCommit<QueryHistoryRecord>({
      flush: insertBatch,
      batchItemsMax: historyInsertBatchRowsMax,
      flushesInFlightMax: historyInsertFlushesInFlightMax,
    }),
    insertBatch,
    async findByQueryId(queryId) {
      const rows = await query<HistoryRow>(
        `SELECT ${historyColumns} FROM query_history WHERE query_id = $1`,
        [queryId],
      )
      return rows[0] === undefined ? undefined : historyFromRow(rows[0])
    },
    async search(filter) {
      const { page, size, parameters } = normalizeSearch(filter)
      const where = `WHERE ($1::text IS NULL OR user_name = $1) AND ($2::text IS NULL OR external_url = $2)
        AND ($3::text IS NULL OR query_id = $3) AND ($4::text IS NULL OR source = $4)
        AND ($5::text IS NULL OR routing_group = $5)`
      const totals = await query<{ total: string }>(
        `SELECT count(*) AS total FROM query_history ${where}`,
        parameters,
      )
      const rows = await query<HistoryRow>(
        `SELECT ${historyColumns} FROM query_history ${where}
         ORDER BY created DESC, query_id LIMIT $6 OFFSET $7`,
        [...parameters, size, (page - 1) * size],
      )
      return { total: Number(totals[0]?.total ?? 0), rows: rows.map(historyFromRow) }
    },
    async deleteCreatedBefore(epochMs) {
      const rows = await query<{ query_id: string }>(
        'DELETE FROM query_history WHERE created < $1 RETURNING query_id',
        [epochMs],
      )
      return rows.length
    },
  }
}

/** Trino Gateway's search semantics: page < 1 is page 1, empty strings are no filter. */
export function normalizeSearch(filter: QueryHistorySearch): {
  page: number
  size: number
  parameters: [string | null, string | null, string | null, string | null, string | null]
} {
  const page = Number.isInteger(filter.page) && filter.page >= 1 ? filter.page : 1
  const size =
    Number.isInteger(filter.size) && filter.size >= 1
      ? Math.min(filter.size, historyPageRowsMax)
      : historyPageRowsDefault
  const orNull = (value: string | undefined) => (value === undefined || value === '' ? null : value)
  return {
    page,
    size,
    parameters: [
      orNull(filter.user),
      orNull(filter.externalUrl),
      orNull(filter.queryId),
      orNull(filter.source),
      orNull(filter.routingGroup),
    ],
  }
}

function backendParameters(backend: BackendRecord): unknown[] {
  return [
    backend.name,
    backend.routingGroup,
    stripTrailingSlash(backend.proxyTo),
    stripTrailingSlash(backend.externalUrl),
    backend.active,
  ]
}

function backendFromRow(row: BackendRow): BackendRecord {
  return {
    name: row.name,
    routingGroup: row.routing_group ?? '',
    proxyTo: row.backend_url ?? '',
    externalUrl: row.external_url,
    active: row.active === true,
  }
}

function historyFromRow(row: HistoryRow): QueryHistoryRecord {
  return {
    queryId: row.query_id,
    queryText: row.query_text ?? '',
    created: Number(row.created ?? 0),
    backendUrl: row.backend_url ?? '',
    userName: row.user_name,
    source: row.source,
    routingGroup: row.routing_group,
    externalUrl: row.external_url,
  }
}
