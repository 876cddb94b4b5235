/**
 * The gateway's durable state, as the data plane and the admin APIs see it. Rows keep the names of
 * Trino Gateway's tables (`gateway_backend`, `query_history`); see docs/compatibility.md.
 */

/** A row of `gateway_backend`; `proxyTo` is the `backend_url` column. */
export interface BackendRecord {
  name: string
  routingGroup: string
  proxyTo: string
  /** null when the row has none; the API then shows `proxyTo`, as Trino Gateway does. */
  externalUrl: string | null
  active: boolean
}

/** A row of `query_history`; `created` is epoch milliseconds. */
export interface QueryHistoryRecord {
  queryId: string
  queryText: string
  created: number
  backendUrl: string
  userName: string | null
  source: string | null
  routingGroup: string | null
  externalUrl: string | null
}

export interface QueryHistorySearch {
  page: number
  size: number
  user?: string | undefined
  externalUrl?: string | undefined
  queryId?: string | undefined
  source?: string | undefined
  /** Not in Trino Gateway's search: the UI's History page filters by routing group too. */
  routingGroup?: string | undefined
}

export interface BackendStore {
  list(): Promise<BackendRecord[]>
  get(name: string): Promise<BackendRecord | undefined>
  /** Inserts a new backend; throws a CodedError `BACKEND_ALREADY_EXISTS` when the name is taken. */
  insert(backend: BackendRecord): Promise<void>
  /** Inserts or replaces by name; returns the row it replaced, if any. */
  upsert(backend: BackendRecord): Promise<BackendRecord | undefined>
  /** Returns the removed row, or undefined when no row had that name. */
  delete(name: string): Promise<BackendRecord | undefined>
  /** Returns false when no row had that name. */
  setActive(name: string, active: boolean): Promise<boolean>
}

export interface QueryHistoryStore {
  /** Durable before it resolves: follow-ups through another gateway on the same database find it. */
  insert(record: QueryHistoryRecord): Promise<void>
  /** Inserts many rows in one statement, committed when it resolves (the write-behind writer's write). */
  insertBatch(records: readonly QueryHistoryRecord[]): Promise<void>
  findByQueryId(queryId: string): Promise<QueryHistoryRecord | undefined>
  search(filter: QueryHistorySearch): Promise<{ total: number; rows: QueryHistoryRecord[] }>
  /** Deletes rows created before the given epoch ms; returns how many went. */
  deleteCreatedBefore(epochMs: number): Promise<number>
}

export interface GatewayStore {
  /** A `postgres://` URL other processes (mock coordinators, a second gateway) can connect to. */
  readonly url: string
  /** True when this process runs the embedded PostgreSQL (PGlite) behind `url`. */
  readonly embedded: boolean
  readonly backends: BackendStore
  readonly history: QueryHistoryStore
  /** Raw access for control-plane modules (resource groups, selectors) that own their own SQL. */
  query<Row extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>
  /** Runs `work` in one short transaction on one connection; rolls back when it throws. */
  transaction<T>(work: (query: GatewayStore['query']) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/**
 * Where the store lives: `dataStore` of config.yaml. With no `jdbcUrl` the gateway runs the embedded
 * PostgreSQL (PGlite). `user` and `password` apply when the URL carries none.
 */
export interface DataStoreConfig {
  /** `jdbc:postgresql://host:port/db[?user=&password=]` or `postgres[ql]://...`; absent: embedded. */
  jdbcUrl?: string | undefined
  user?: string | undefined
  password?: string | undefined
  /** Apply the versioned migrations at start-up (default true). */
  runMigrationsEnabled?: boolean | undefined
}

/** The part of a pino (fastify) logger the store uses. */
export interface StoreLogger {
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}
