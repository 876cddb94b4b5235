/**
 * The `db` configuration manager's I/O half: reads Trino's tables over `pg`, turns them into a
 * configuration with the pure `rowsToConfig`, and refreshes on a timer. A failed refresh keeps the
 * last configuration; once the last success is older than `max-refresh-interval` (or the first
 * load failed) the source is unavailable and queries fail with CONFIGURATION_UNAVAILABLE.
 */
import pg from 'pg'
import type { ResourceGroupsConfig } from '../../trino/resource-groups/config.ts'
import { type ResourceGroupTables, rowsToConfig } from '../../trino/resource-groups/db-rows.ts'
import { configurationInvalid } from '../../trino/resource-groups/errors.ts'

/** How long one connection attempt or one refresh query may take. */
export const dbConnectTimeoutMs = 5_000
export const dbQueryTimeoutMs = 5_000

export interface ResourceGroupsLogger {
  info(object: Record<string, unknown>, message: string): void
  warn(object: Record<string, unknown>, message: string): void
  error(object: Record<string, unknown>, message: string): void
}

export const silentLogger: ResourceGroupsLogger = { info() {}, warn() {}, error() {} }

/**
 * `jdbc:postgresql://host[:port]/database[?user=..&password=..]` (Trino's form) or a `postgres://`
 * URL → a `postgres://` URL for `pg`; `user`/`password` from the properties apply unless the URL has them.
 */
export function jdbcToPostgresUrl(jdbcUrl: string, user?: string, password?: string): string {
  const raw = jdbcUrl.trim()
  const lower = raw.toLowerCase()
  let rest: string
  if (lower.startsWith('jdbc:postgresql://')) rest = raw.slice('jdbc:postgresql://'.length)
  else if (lower.startsWith('postgres://')) rest = raw.slice('postgres://'.length)
  else if (lower.startsWith('postgresql://')) rest = raw.slice('postgresql://'.length)
  else {
    throw configurationInvalid(
      `resource-groups.config-db-url: expected jdbc:postgresql://host:port/database (only PostgreSQL is supported by mock-trino), got ${JSON.stringify(raw)}`,
    )
  }
  let url: URL
  try {
    url = new URL(`postgres://${rest}`)
  } catch {
    throw configurationInvalid(`resource-groups.config-db-url: not a URL: ${JSON.stringify(raw)}`)
  }
  const database = url.pathname.replace(/^\//, '')
  if (url.hostname === '' || database === '') {
    throw configurationInvalid(
      `resource-groups.config-db-url: expected host and database, as in jdbc:postgresql://host:5432/gateway (got ${JSON.stringify(raw)})`,
    )
  }
  const result = new URL(`postgres://${url.host}/${database}`)
  if (result.port === '') result.port = '5432'
  const userName =
    url.searchParams.get('user') ?? (url.username === '' ? user : decodeURIComponent(url.username))
  const secret =
    url.searchParams.get('password') ?? (url.password === '' ? password : decodeURIComponent(url.password))
  if (userName !== undefined && userName !== '') result.username = encodeURIComponent(userName)
  if (secret !== undefined && secret !== '') result.password = encodeURIComponent(secret)
  return result.toString()
}

/** Reads the rows of one environment (and NULL-environment rows, the newest Trino's wildcard). */
export async function readResourceGroupTables(
  client: Pick<pg.Pool, 'query'>,
  environment: string,
  exactMatchEnabled: boolean,
): Promise<ResourceGroupTables> {
  const resourceGroups = await client.query(
    'SELECT * FROM resource_groups WHERE environment = $1 OR environment IS NULL ORDER BY resource_group_id',
    [environment],
  )
  const selectors = await client.query(
    `SELECT s.* FROM selectors s JOIN resource_groups g ON s.resource_group_id = g.resource_group_id
     WHERE g.environment = $1 OR g.environment IS NULL ORDER BY s.priority DESC, s.id`,
    [environment],
  )
  const globalProperties = await client.query('SELECT name, value FROM resource_groups_global_properties')
  const exactMatch = exactMatchEnabled
    ? await client.query(
        `SELECT environment, source, query_type, resource_group_id FROM exact_match_source_selectors
         WHERE environment = $1 OR environment IS NULL`,
        [environment],
      )
    : undefined
  return {
    resourceGroups: resourceGroups.rows,
    selectors: selectors.rows,
    globalProperties: globalProperties.rows,
    exactMatchSourceSelectors: exactMatch?.rows,
  }
}

/** Which database and environment the db source reads, and how often. */
export interface DbSourceSettings {
  url: string
  environment: string
  refreshIntervalMs: number
  maxRefreshIntervalMs: number
  exactMatchEnabled: boolean
  logger: ResourceGroupsLogger
}

export interface DbSourceOptions extends DbSourceSettings {
  /** Receives every configuration that loaded and passed validation. */
  onConfig(config: ResourceGroupsConfig): void
  /** Called when availability changes (first load failed, or the last success grew too old). */
  onAvailability(available: boolean): void
  /** Checks a loaded configuration before it is handed over (compilation); throws when invalid. */
  validate(config: ResourceGroupsConfig): void
  now?: () => number
}

export interface DbSource {
  /** Loads once now; resolves whether it succeeded. */
  refresh(): Promise<boolean>
  readonly refreshFailures: number
  close(): Promise<void>
}

/** Starts the periodic refresh (first run after `refreshIntervalMs`; call `refresh()` for the initial load). */
export function startDbSource(options: DbSourceOptions): DbSource {
  const now = options.now ?? Date.now
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 1,
    connectionTimeoutMillis: dbConnectTimeoutMs,
    query_timeout: dbQueryTimeoutMs,
    idleTimeoutMillis: options.refreshIntervalMs * 5,
    allowExitOnIdle: true,
  })
  pool.on('error', (error) =>
    options.logger.warn({ err: error.message }, 'idle resource-group database connection failed'),
  )
  let lastSuccessMs: number | undefined
  let available = true
  let refreshFailures = 0
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<boolean> | undefined

  const setAvailable = (value: boolean) => {
    if (value === available) return
    available = value
    options.onAvailability(value)
  }

  async function load(): Promise<boolean> {
    try {
      const tables = await readResourceGroupTables(pool, options.environment, options.exactMatchEnabled)
      const config = rowsToConfig(tables, options.environment)
      options.validate(config)
      options.onConfig(config)
      lastSuccessMs = now()
      setAvailable(true)
      return true
    } catch (error) {
      refreshFailures++
      options.logger.error(
        { err: (error as Error).message, refreshFailures },
        'Error loading configuration from db; keeping the previous configuration',
      )
      if (lastSuccessMs === undefined || now() - lastSuccessMs > options.maxRefreshIntervalMs)
        setAvailable(false)
      return false
    }
  }

  function refresh(): Promise<boolean> {
    // One load at a time: a slow database never stacks refreshes.
    running ??= load().finally(() => {
      running = undefined
    })
    return running
  }

  function schedule(): void {
    if (closed) return
    timer = setTimeout(() => {
      void refresh().finally(schedule)
    }, options.refreshIntervalMs)
    timer.unref()
  }
  schedule()

  return {
    refresh,
    get refreshFailures() {
      return refreshFailures
    },
    async close() {
      closed = true
      clearTimeout(timer)
      await running
      await pool.end()
    },
  }
}
