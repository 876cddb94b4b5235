/**
 * Versioned SQL migrations (`migrations/V<n>__<what>.sql`), applied in order at start-up. Each runs
 * in its own transaction that first takes a transaction-scoped advisory lock, so two gateways
 * starting on one database apply each migration exactly once; the history table records version,
 * file name and checksum, and a file changed after it was applied stops start-up.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import type pg from 'pg'
import { gatewayError } from '../errors.ts'

export interface Migration {
  version: number
  fileName: string
  sql: string
  checksum: string
}

export interface MigrationOutcome {
  applied: number[]
  alreadyApplied: number[]
}

/** Our own history table: Flyway's `flyway_schema_history` belongs to Trino Gateway and Trino. */
export const migrationHistoryTable = 'gateway_schema_history'

/** Any constant both gateways agree on; the two halves spell "TGL" and "migr" in ASCII. */
const migrationLockKey = [0x54474c, 0x6d696772] as const

const migrationFilePattern = /^V(\d+)__([A-Za-z0-9_]+)\.sql$/

const migrationsDirectory = new URL('./migrations/', import.meta.url)

/** Reads the migration files, ordered by version; refuses a misnamed file or a repeated version. */
export async function loadMigrations(directory: URL = migrationsDirectory): Promise<Migration[]> {
  const fileNames = (await readdir(directory)).filter((name) => name.endsWith('.sql'))
  const migrations: Migration[] = []
  for (const fileName of fileNames) {
    const match = migrationFilePattern.exec(fileName)
    if (!match) {
      throw gatewayError(
        'STORE_MIGRATION_FAILED',
        `migration file ${fileName} is misnamed: expected V<number>__<description>.sql`,
      )
    }
    const sql = await readFile(new URL(fileName, directory), 'utf8')
    migrations.push({ version: Number(match[1]), fileName, sql, checksum: checksumOf(sql) })
  }
  migrations.sort((a, b) => a.version - b.version)
  for (let index = 1; index < migrations.length; index++) {
    const previous = migrations[index - 1] as Migration
    const current = migrations[index] as Migration
    if (previous.version === current.version) {
      throw gatewayError(
        'STORE_MIGRATION_FAILED',
        `migrations ${previous.fileName} and ${current.fileName} share version ${current.version}`,
      )
    }
  }
  return migrations
}

/**
 * Applies every migration not yet recorded. Safe to run twice and concurrently: the advisory lock
 * serializes the gateways, and each re-reads the history under the lock.
 */
export async function runMigrations(
  pool: pg.Pool,
  migrations: readonly Migration[],
): Promise<MigrationOutcome> {
  const outcome: MigrationOutcome = { applied: [], alreadyApplied: [] }
  for (const migration of migrations) {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...migrationLockKey])
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${migrationHistoryTable} (
          version INT PRIMARY KEY,
          file_name VARCHAR(256) NOT NULL,
          checksum VARCHAR(64) NOT NULL,
          installed_on BIGINT NOT NULL
        )`,
      )
      const recorded = await client.query<{ file_name: string; checksum: string }>(
        `SELECT file_name, checksum FROM ${migrationHistoryTable} WHERE version = $1`,
        [migration.version],
      )
      const row = recorded.rows[0]
      if (row !== undefined) {
        await client.query('COMMIT')
        if (row.checksum !== migration.checksum) {
          throw gatewayError(
            'STORE_MIGRATION_FAILED',
            `migration ${migration.fileName} was changed after it was applied to this database as ${row.file_name} (checksum ${row.checksum}, file now ${migration.checksum}); restore the file or write a new migration`,
            { version: migration.version },
          )
        }
        outcome.alreadyApplied.push(migration.version)
        continue
      }
      try {
        await client.query(migration.sql)
      } catch (error) {
        throw gatewayError(
          'STORE_MIGRATION_FAILED',
          `migration ${migration.fileName} failed: ${error instanceof Error ? error.message : String(error)}`,
          { version: migration.version },
        )
      }
      await client.query(
        `INSERT INTO ${migrationHistoryTable} (version, file_name, checksum, installed_on) VALUES ($1, $2, $3, $4)`,
        [migration.version, migration.fileName, migration.checksum, Date.now()],
      )
      await client.query('COMMIT')
      outcome.applied.push(migration.version)
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }
  return outcome
}

function checksumOf(sql: string): string {
  // Line endings differ between checkouts; they do not change what the SQL does.
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex')
}
