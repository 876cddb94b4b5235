/**
 * Opens the gateway's store: a `pg` pool on the configured PostgreSQL, or on the embedded PGlite
 * when no `dataStore.jdbcUrl` is set, with the migrations applied.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import pg from 'pg'
import { gatewayError } from '../errors.ts'
import { redactUrl, resolvePostgresUrl } from './connection.ts'
// Types only: PGlite (tens of MB of WASM and heap) is loaded when the embedded store starts.
import type { EmbeddedPostgres } from './embedded.ts'
import { loadMigrations, runMigrations } from './migrations.ts'
import { backendStore, historyStore } from './records.ts'
import type { DataStoreConfig, GatewayStore, StoreLogger } from './types.ts'

export { redactUrl, resolvePostgresUrl } from './connection.ts'
export { migrationHistoryTable } from './migrations.ts'
export type * from './types.ts'

/** Connections this gateway's pool holds at most (the embedded server accepts more, for others). */
export const poolConnectionsMax = 10
/** How long a new connection may take before `pg` gives up on it. */
export const poolConnectTimeoutMs = 10_000
/** Idle pooled connections close after this long. */
export const poolIdleTimeoutMs = 30_000

export interface OpenStoreOptions {
  /** `dataStore` of config.yaml; with no `jdbcUrl` (or none at all) the store is embedded. */
  dataStore?: DataStoreConfig | undefined
  /** Where the embedded database persists its files; in memory when absent. */
  dataDir?: string | undefined
  logger?: StoreLogger | undefined
  /** This process's pool size; `poolConnectionsMax` when absent (a worker takes its share). */
  connectionsMax?: number | undefined
}

const silentLogger: StoreLogger = { info() {}, warn() {}, error() {} }

export async function openStore(options: OpenStoreOptions = {}): Promise<GatewayStore> {
  const logger = options.logger ?? silentLogger
  const dataStore = options.dataStore
  const jdbcUrl = dataStore?.jdbcUrl
  const usesServer = jdbcUrl !== undefined && jdbcUrl !== ''
  // Resolve (and refuse a bad URL) before starting anything that would need stopping.
  const configuredUrl = usesServer ? resolvePostgresUrl({ ...dataStore, jdbcUrl }) : undefined
  const migrations = dataStore?.runMigrationsEnabled === false ? [] : await loadMigrations()

  let embedded: EmbeddedPostgres | undefined
  if (configuredUrl !== undefined && options.dataDir !== undefined) {
    logger.warn(
      { dataDir: options.dataDir },
      'the data directory is not used: dataStore.jdbcUrl names a PostgreSQL server, which keeps the data',
    )
  }
  if (configuredUrl === undefined) {
    const { startEmbeddedPostgres } = await import('./embedded.ts')
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir })
    logger.info(
      { url: embedded.url, dataDir: embedded.dataDir ?? null },
      embedded.dataDir === undefined
        ? 'embedded PostgreSQL (PGlite, in memory) listening'
        : 'embedded PostgreSQL (PGlite) listening',
    )
  }
  const url = configuredUrl ?? (embedded as EmbeddedPostgres).url
  const pool = new pg.Pool({
    connectionString: url,
    max: options.connectionsMax ?? poolConnectionsMax,
    connectionTimeoutMillis: poolConnectTimeoutMs,
    idleTimeoutMillis: poolIdleTimeoutMs,
  })
  // An idle connection that dies (server restart, embedded server stopping) must not crash the
  // process; the pool replaces it on the next checkout.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle PostgreSQL connection failed'))

  const close = async () => {
    await pool.end()
    await embedded?.close()
  }

  try {
    if (migrations.length > 0) {
      const outcome = await runMigrations(pool, migrations)
      logger.info(
        { url: redactUrl(url), applied: outcome.applied, alreadyApplied: outcome.alreadyApplied },
        'store migrations done',
      )
    } else {
      await pool.query('SELECT 1')
      logger.info(
        { url: redactUrl(url) },
        'store opened without migrations (dataStore.runMigrationsEnabled: false)',
      )
    }
  } catch (error) {
    await close().catch(() => undefined)
    throw error
  }

  // Marks the async context of a transaction's work. Reaching for another pooled connection from
  // there would wait forever on the single-session embedded database (and risks lock waits on a
  // server), so it fails at once with a named error instead.
  const insideTransaction = new AsyncLocalStorage<true>()
  const refuseInsideTransaction = (what: string) => {
    if (insideTransaction.getStore() === true) {
      throw gatewayError(
        'STORE_QUERY_IN_TRANSACTION',
        `${what} was called inside store.transaction(); use the query function the transaction passes to its work`,
      )
    }
  }

  const query: GatewayStore['query'] = async (sql, params) => {
    refuseInsideTransaction('store.query (or a backends / history method)')
    const result = await pool.query(sql, params === undefined ? undefined : [...params])
    return result.rows
  }

  let closing: Promise<void> | undefined
  return {
    url,
    embedded: embedded !== undefined,
    backends: backendStore(query),
    history: historyStore(query),
    query,
    async transaction(work) {
      refuseInsideTransaction('store.transaction')
      const client = await pool.connect()
      let broken: Error | undefined
      try {
        await client.query('BEGIN')
        const result = await insideTransaction.run(true, () =>
          work(async (sql, params) => {
            const rows = await client.query(sql, params === undefined ? undefined : [...params])
            return rows.rows
          }),
        )
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
        })
        throw error
      } finally {
        // A connection whose rollback failed is in an unknown state: destroy it.
        client.release(broken)
      }
    },
    close() {
      closing ??= close()
      return closing
    },
  }
}
