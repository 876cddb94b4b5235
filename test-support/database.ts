/**
 * An isolated database for one test file or test, on whichever PostgreSQL the run targets.
 *
 * Contract (CI runs the suite once per value):
 * - `TGL_TEST_DATABASE` unset or `embedded`: a fresh in-memory embedded PostgreSQL (PGlite served on a
 *   loopback port) is started for the caller. `url` is its `postgres://` URL, usable by other
 *   processes too, and `dataStore` is `{ jdbcUrl: url }`, so an `openStore({ dataStore })` connects to
 *   it like to any server. Use `openStore({ dataStore: undefined })` instead when the test is about
 *   the gateway running its own embedded database.
 * - `TGL_TEST_DATABASE=postgres://user@host:port/db`: a database `tgl_test_<random hex>` is created on
 *   that server (through `db`, which only serves as the maintenance connection); `url` and
 *   `dataStore` point at the new database.
 * - `close()` stops the embedded database, or drops the created one `WITH (FORCE)` (ending
 *   connections a test left open). Call it in `afterAll` / `afterEach`; it is idempotent.
 * - The database starts empty: no migrations have run. `openStore` applies them.
 * - Embedded databases of one test process start from a cached copy of a fresh cluster
 *   (`reuseInitializedCluster`), about a second each instead of a full initdb. They live in the test
 *   process: a gateway child process reaches them through `url`.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { startEmbeddedPostgres } from '../gateway/store/embedded.ts'
import type { DataStoreConfig } from '../gateway/store/types.ts'

export interface TestDatabase {
  /** `postgres://` URL of the isolated database. */
  url: string
  /** What a test passes to `openStore` to use this database. */
  dataStore: DataStoreConfig
  /** `embedded` or `postgres`, for test names and skip conditions. */
  kind: 'embedded' | 'postgres'
  close(): Promise<void>
}

/** The target of this run: `embedded`, or the maintenance URL of a PostgreSQL server. */
export function testDatabaseTarget(env: NodeJS.ProcessEnv = process.env): 'embedded' | URL {
  const value = env.TGL_TEST_DATABASE?.trim() ?? ''
  if (value === '' || value === 'embedded') return 'embedded'
  if (!/^postgres(ql)?:\/\//.test(value)) {
    throw new Error(
      `TGL_TEST_DATABASE must be "embedded" or a postgres:// URL (got ${JSON.stringify(value)})`,
    )
  }
  return new URL(value)
}

export async function openTestDatabase(env: NodeJS.ProcessEnv = process.env): Promise<TestDatabase> {
  const target = testDatabaseTarget(env)
  if (target === 'embedded') {
    const embedded = await startEmbeddedPostgres({ reuseInitializedCluster: true })
    return {
      url: embedded.url,
      dataStore: { jdbcUrl: embedded.url },
      kind: 'embedded',
      close: () => embedded.close(),
    }
  }
  return createServerDatabase(target)
}

async function createServerDatabase(maintenanceUrl: URL): Promise<TestDatabase> {
  // Random names only keep parallel test files apart; they never steer behaviour under test.
  const name = `tgl_test_${randomBytes(6).toString('hex')}`
  await withMaintenanceClient(maintenanceUrl, (client) => client.query(`CREATE DATABASE ${name}`))
  const url = new URL(maintenanceUrl.toString())
  url.pathname = `/${name}`
  let closing: Promise<void> | undefined
  return {
    url: url.toString(),
    dataStore: { jdbcUrl: url.toString() },
    kind: 'postgres',
    close() {
      closing ??= withMaintenanceClient(maintenanceUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      ).then(() => undefined)
      return closing
    },
  }
}

async function withMaintenanceClient<T>(url: URL, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}
