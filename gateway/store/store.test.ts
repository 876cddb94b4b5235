/**
 * The store against the run's database (TGL_TEST_DATABASE: embedded or a PostgreSQL server); see
 * test-support/database.ts. Tests share one migrated database and use distinct names.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CodedError } from '../../common/errors.ts'
import { waitFor } from '../../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { openStore } from './index.ts'
import { loadMigrations, migrationHistoryTable } from './migrations.ts'
import { startHistoryRetention } from './retention.ts'
import type { BackendRecord, GatewayStore, QueryHistoryRecord } from './types.ts'

let database: TestDatabase
let store: GatewayStore
let migrationVersions: number[]

beforeAll(async () => {
  database = await openTestDatabase()
  store = await openStore({ dataStore: database.dataStore })
  migrationVersions = (await loadMigrations()).map((migration) => migration.version)
})

afterAll(async () => {
  await store?.close()
  await database?.close()
})

function backend(name: string, overrides: Partial<BackendRecord> = {}): BackendRecord {
  return {
    name,
    routingGroup: 'adhoc',
    proxyTo: `http://${name}.example:8080`,
    externalUrl: null,
    active: true,
    ...overrides,
  }
}

function historyRecord(queryId: string, overrides: Partial<QueryHistoryRecord> = {}): QueryHistoryRecord {
  return {
    queryId,
    queryText: 'SELECT 1',
    created: 1_700_000_000_000,
    backendUrl: 'http://trino-a:8080',
    userName: 'alice',
    source: 'cli',
    routingGroup: 'adhoc',
    externalUrl: 'http://trino-a.example',
    ...overrides,
  }
}

/** The columns of a table, as information_schema reports them (name → data type). */
async function columnsOf(table: string): Promise<Record<string, string>> {
  const rows = await store.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY column_name`,
    [table],
  )
  return Object.fromEntries(rows.map((row) => [row.column_name, row.data_type]))
}

describe('store migrations', () => {
  it('creates Trino Gateway tables with their columns', async () => {
    expect(await columnsOf('gateway_backend')).toEqual({
      active: 'boolean',
      backend_url: 'character varying',
      external_url: 'character varying',
      name: 'character varying',
      routing_group: 'character varying',
    })
    expect(await columnsOf('query_history')).toEqual({
      backend_url: 'character varying',
      created: 'bigint',
      external_url: 'character varying',
      query_id: 'character varying',
      query_text: 'text',
      routing_group: 'character varying',
      source: 'character varying',
      user_name: 'character varying',
    })
    const indexes = await store.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE tablename = 'query_history' AND indexdef LIKE '%(created)%'",
    )
    expect(indexes.map((row) => row.indexname)).toEqual(['query_history_created_idx'])
  })

  it("creates the four tables of Trino's db resource-group manager with Trino's columns", async () => {
    expect(Object.keys(await columnsOf('resource_groups'))).toEqual(
      [
        'environment',
        'hard_concurrency_limit',
        'hard_cpu_limit',
        'hard_physical_data_scan_limit',
        'jmx_export',
        'max_queued',
        'name',
        'node_group',
        'parent',
        'resource_group_id',
        'scheduling_policy',
        'scheduling_weight',
        'soft_concurrency_limit',
        'soft_cpu_limit',
        'soft_memory_limit',
      ].sort(),
    )
    expect(Object.keys(await columnsOf('selectors'))).toEqual(
      [
        'authenticated_user_regex',
        'client_tags',
        'id',
        'original_user_regex',
        'priority',
        'query_text_regex',
        'query_type',
        'resource_group_id',
        'selector_resource_estimate',
        'source_regex',
        'user_group_regex',
        'user_regex',
      ].sort(),
    )
    expect(await columnsOf('resource_groups_global_properties')).toEqual({
      name: 'character varying',
      value: 'character varying',
    })
    expect(Object.keys(await columnsOf('exact_match_source_selectors'))).toEqual(
      ['environment', 'id', 'query_type', 'resource_group_id', 'source', 'update_time'].sort(),
    )
  })

  it('lets selectors follow their resource group, as a Trino coordinator reads them', async () => {
    const [root] = await store.query<{ resource_group_id: string }>(
      `INSERT INTO resource_groups (name, soft_memory_limit, max_queued, hard_concurrency_limit, scheduling_policy, environment)
       VALUES ('migration_probe', '100%', 100, 50, 'weighted_fair', 'test') RETURNING resource_group_id`,
    )
    await store.query(
      `INSERT INTO selectors (resource_group_id, priority, user_regex, client_tags) VALUES ($1, 100, '.*', '["hipri"]')`,
      [root?.resource_group_id],
    )
    await store.query('DELETE FROM resource_groups WHERE resource_group_id = $1', [root?.resource_group_id])
    expect(
      await store.query('SELECT * FROM selectors WHERE resource_group_id = $1', [root?.resource_group_id]),
    ).toEqual([])
    await expect(
      store.query(
        "INSERT INTO resource_groups_global_properties (name, value) VALUES ('not_a_property', '1h')",
      ),
    ).rejects.toThrow(/check constraint/)
  })

  it('applies nothing the second time and records each version once', async () => {
    const again = await openStore({ dataStore: database.dataStore })
    await again.close()
    const history = await store.query<{ version: number }>(
      `SELECT version FROM ${migrationHistoryTable} ORDER BY version`,
    )
    expect(history.map((row) => row.version)).toEqual(migrationVersions)
  })

  it('applies each migration once when two gateways start on one fresh database at once', async () => {
    const fresh = await openTestDatabase()
    try {
      const stores = await Promise.all([
        openStore({ dataStore: fresh.dataStore }),
        openStore({ dataStore: fresh.dataStore }),
        openStore({ dataStore: fresh.dataStore }),
      ])
      const history = await stores[0].query<{ version: number }>(
        `SELECT version FROM ${migrationHistoryTable} ORDER BY version`,
      )
      expect(history.map((row) => row.version)).toEqual(migrationVersions)
      await stores[1].backends.insert(backend('concurrent'))
      expect(await stores[2].backends.get('concurrent')).toEqual(backend('concurrent'))
      await Promise.all(stores.map((each) => each.close()))
    } finally {
      await fresh.close()
    }
  })
})

describe('store migrations on a database an older Trino Gateway set up', () => {
  let legacy: TestDatabase
  beforeAll(async () => {
    legacy = await openTestDatabase()
  })
  afterAll(async () => {
    await legacy?.close()
  })

  it('creates nothing when runMigrationsEnabled is false', async () => {
    const bare = await openStore({ dataStore: { ...legacy.dataStore, runMigrationsEnabled: false } })
    try {
      expect(
        await bare.query('SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()'),
      ).toEqual([])
      // The tables as Trino Gateway's V1 made them before v19 (trino-gateway.md section 6).
      await bare.query(`
        CREATE TABLE gateway_backend (name VARCHAR(256) PRIMARY KEY, routing_group VARCHAR(256),
          backend_url VARCHAR(256), external_url VARCHAR(256), active BOOLEAN);
        CREATE TABLE query_history (query_id VARCHAR(256) PRIMARY KEY, query_text VARCHAR(256), created BIGINT,
          backend_url VARCHAR(256), user_name VARCHAR(256), source VARCHAR(256));
        CREATE INDEX query_history_created_idx ON query_history (created);
        CREATE TABLE resource_groups (resource_group_id SERIAL PRIMARY KEY, name VARCHAR(250) NOT NULL UNIQUE,
          parent BIGINT REFERENCES resource_groups (resource_group_id), jmx_export BOOLEAN,
          scheduling_policy VARCHAR(128), scheduling_weight INT, soft_memory_limit VARCHAR(128) NOT NULL,
          max_queued INT NOT NULL, hard_concurrency_limit INT NOT NULL, soft_concurrency_limit INT,
          soft_cpu_limit VARCHAR(128), hard_cpu_limit VARCHAR(128), environment VARCHAR(128));
        CREATE TABLE selectors (resource_group_id BIGINT NOT NULL REFERENCES resource_groups (resource_group_id),
          priority BIGINT NOT NULL, user_regex VARCHAR(512), source_regex VARCHAR(512), query_type VARCHAR(512),
          client_tags VARCHAR(512), selector_resource_estimate VARCHAR(1024));
        CREATE TABLE resource_groups_global_properties (name VARCHAR(128) NOT NULL PRIMARY KEY, value VARCHAR(512) NULL,
          CHECK (name IN ('cpu_quota_period')));
        INSERT INTO gateway_backend VALUES ('trino-a', 'adhoc', 'http://trino-a:8080', NULL, true);
        INSERT INTO query_history VALUES ('20240101_000000_00001_legcy', 'SELECT 1', 1700000000000,
          'http://trino-a:8080', 'alice', 'cli');
        INSERT INTO resource_groups (name, soft_memory_limit, max_queued, hard_concurrency_limit) VALUES ('adhoc', '100%', 10, 5);
        INSERT INTO selectors (resource_group_id, priority, user_regex) VALUES (1, 1, '.*');
      `)
    } finally {
      await bare.close()
    }
  })

  it('brings the old tables to the current columns and keeps their rows', async () => {
    const upgraded = await openStore({ dataStore: legacy.dataStore })
    try {
      expect(await upgraded.backends.get('trino-a')).toMatchObject({
        proxyTo: 'http://trino-a:8080',
        active: true,
      })
      expect(await upgraded.history.findByQueryId('20240101_000000_00001_legcy')).toMatchObject({
        userName: 'alice',
        routingGroup: null,
        externalUrl: null,
      })
      const longText = `SELECT '${'y'.repeat(1000)}'`
      await upgraded.history.insert(historyRecord('20240101_000000_00002_legcy', { queryText: longText }))
      expect((await upgraded.history.findByQueryId('20240101_000000_00002_legcy'))?.queryText).toBe(longText)
      const selectorColumns = await upgraded.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'selectors' AND table_schema = current_schema()",
      )
      expect(selectorColumns.map((row) => row.column_name)).toEqual(
        expect.arrayContaining([
          'id',
          'user_group_regex',
          'original_user_regex',
          'authenticated_user_regex',
          'query_text_regex',
        ]),
      )
      await upgraded.query(
        "INSERT INTO resource_groups_global_properties (name, value) VALUES ('physical_data_scan_quota_period', '1h')",
      )
      await upgraded.query(
        "INSERT INTO resource_groups (name, max_queued, hard_concurrency_limit) VALUES ('no_memory_limit', 1, 1)",
      )
    } finally {
      await upgraded.close()
    }
  })

  it('refuses to start once an applied migration file was changed', async () => {
    const first = await openStore({ dataStore: legacy.dataStore })
    await first.query(`UPDATE ${migrationHistoryTable} SET checksum = 'edited' WHERE version = 1`)
    await first.close()
    const opening = openStore({ dataStore: legacy.dataStore })
    await expect(opening).rejects.toBeInstanceOf(CodedError)
    await expect(opening).rejects.toMatchObject({
      code: 'STORE_MIGRATION_FAILED',
      message: expect.stringMatching(/V1__.*was changed after it was applied/),
    })
  })
})

describe('backend store', () => {
  it('inserts, reads, lists by name and refuses a duplicate name', async () => {
    await store.backends.insert(backend('crud-b'))
    await store.backends.insert(backend('crud-a', { routingGroup: 'etl', externalUrl: 'https://a.example' }))
    expect(await store.backends.get('crud-a')).toEqual(
      backend('crud-a', { routingGroup: 'etl', externalUrl: 'https://a.example' }),
    )
    expect(await store.backends.get('crud-missing')).toBeUndefined()
    const names = (await store.backends.list())
      .map((row) => row.name)
      .filter((name) => name.startsWith('crud-'))
    expect(names).toEqual(['crud-a', 'crud-b'])
    await expect(store.backends.insert(backend('crud-a'))).rejects.toMatchObject({
      code: 'BACKEND_ALREADY_EXISTS',
      statusCode: 409,
    })
  })

  it('upserts, returning the row it replaced', async () => {
    expect(await store.backends.upsert(backend('upsert-1'))).toBeUndefined()
    const replaced = await store.backends.upsert(backend('upsert-1', { routingGroup: 'etl', active: false }))
    expect(replaced).toEqual(backend('upsert-1'))
    expect(await store.backends.get('upsert-1')).toEqual(
      backend('upsert-1', { routingGroup: 'etl', active: false }),
    )
  })

  it('activates and deactivates, and says false for an unknown name', async () => {
    await store.backends.insert(backend('toggle'))
    expect(await store.backends.setActive('toggle', false)).toBe(true)
    expect((await store.backends.get('toggle'))?.active).toBe(false)
    expect(await store.backends.setActive('toggle', true)).toBe(true)
    expect((await store.backends.get('toggle'))?.active).toBe(true)
    expect(await store.backends.setActive('toggle-missing', true)).toBe(false)
  })

  it('deletes, returning the removed row or undefined', async () => {
    await store.backends.insert(backend('gone'))
    expect(await store.backends.delete('gone')).toEqual(backend('gone'))
    expect(await store.backends.delete('gone')).toBeUndefined()
    expect(await store.backends.get('gone')).toBeUndefined()
  })

  it.each([
    ['http://slash.example:8080/', 'http://slash.example:8080'],
    ['http://slash.example:8080//', 'http://slash.example:8080/'],
    ['http://slash.example:8080/path/', 'http://slash.example:8080/path'],
  ])('stores proxyTo and externalUrl %s as %s (one trailing slash stripped)', async (given, stored) => {
    const name = `slash-${given.length}`
    await store.backends.upsert(backend(name, { proxyTo: given, externalUrl: given }))
    expect(await store.backends.get(name)).toMatchObject({ proxyTo: stored, externalUrl: stored })
  })
})

describe('query history store', () => {
  it('finds a row through another connection as soon as insert resolves', async () => {
    await store.history.insert(
      historyRecord('20240101_000000_00001_durab', { backendUrl: 'http://trino-a:8080/' }),
    )
    const other = new pg.Client({ connectionString: database.url })
    await other.connect()
    try {
      const result = await other.query('SELECT backend_url FROM query_history WHERE query_id = $1', [
        '20240101_000000_00001_durab',
      ])
      expect(result.rows).toEqual([{ backend_url: 'http://trino-a:8080' }])
    } finally {
      await other.end()
    }
    expect(await store.history.findByQueryId('20240101_000000_00001_durab')).toEqual(
      historyRecord('20240101_000000_00001_durab'),
    )
    expect(await store.history.findByQueryId('20240101_000000_00001_nope')).toBeUndefined()
  })

  it('keeps the first row when a query id is inserted again', async () => {
    await store.history.insert(historyRecord('20240101_000000_00002_twice'))
    await store.history.insert(
      historyRecord('20240101_000000_00002_twice', { backendUrl: 'http://trino-b:8080' }),
    )
    expect((await store.history.findByQueryId('20240101_000000_00002_twice'))?.backendUrl).toBe(
      'http://trino-a:8080',
    )
  })

  it('writes concurrent inserts, one id twice among them, keeping each id once and its first row', async () => {
    const ids = Array.from(
      { length: 20 },
      (_, index) => `20240101_000000_${String(index).padStart(5, '0')}_batch`,
    )
    // Issued together, they share group-committed statements; the repeated id lands in the same
    // statement as its first row or in a later one, and either way the first row stays.
    await Promise.all([
      ...ids.map((id) => store.history.insert(historyRecord(id, { created: 1_700_000_000_000 }))),
      store.history.insert(historyRecord(ids[3] as string, { backendUrl: 'http://trino-b:8080' })),
    ])
    for (const id of ids) {
      const row = await store.history.findByQueryId(id)
      expect(row?.backendUrl).toBe('http://trino-a:8080')
      expect(row?.created).toBe(1_700_000_000_000)
    }
  })

  it('stores a query text of any length', async () => {
    const queryText = `SELECT '${'x'.repeat(100_000)}'`
    await store.history.insert(historyRecord('20240101_000000_00003_longq', { queryText }))
    expect((await store.history.findByQueryId('20240101_000000_00003_longq'))?.queryText).toBe(queryText)
  })

  describe('search', () => {
    const source = 'search-test'
    beforeAll(async () => {
      for (let index = 0; index < 12; index++) {
        await store.history.insert(
          historyRecord(`20240202_000000_${String(index).padStart(5, '0')}_srch`, {
            created: 1_800_000_000_000 + index * 1000,
            source,
            userName: index % 3 === 0 ? 'bob' : 'carol',
            externalUrl: index % 2 === 0 ? 'http://even.example' : 'http://odd.example',
          }),
        )
      }
    })

    const idOf = (index: number) => `20240202_000000_${String(index).padStart(5, '0')}_srch`

    it.each([
      ['newest first, page 1 of size 5', { page: 1, size: 5 }, 12, [11, 10, 9, 8, 7]],
      ['page 3 holds the remainder', { page: 3, size: 5 }, 12, [1, 0]],
      ['a page below 1 is page 1', { page: 0, size: 2 }, 12, [11, 10]],
      ['a negative page is page 1', { page: -4, size: 2 }, 12, [11, 10]],
      ['filters by user', { page: 1, size: 10, user: 'bob' }, 4, [9, 6, 3, 0]],
      ['filters by external URL', { page: 1, size: 3, externalUrl: 'http://odd.example' }, 6, [11, 9, 7]],
      ['combines filters', { page: 1, size: 10, user: 'bob', externalUrl: 'http://even.example' }, 2, [6, 0]],
      ['an empty string is no filter', { page: 1, size: 2, user: '', externalUrl: '' }, 12, [11, 10]],
      ['filters by query id', { page: 1, size: 10, queryId: idOf(4) }, 1, [4]],
      ['a page past the end is empty', { page: 9, size: 5 }, 12, []],
    ])('%s', async (_name, filter, total, indexes) => {
      const result = await store.history.search({ source, ...filter })
      expect(result.total).toBe(total)
      expect(result.rows.map((row) => row.queryId)).toEqual(indexes.map(idOf))
    })
  })

  it('deletes the rows created before a time and counts them (retention)', async () => {
    const base = 1_000_000_000_000
    await store.history.insert(historyRecord('20240303_000000_00001_old', { created: base - 1 }))
    await store.history.insert(historyRecord('20240303_000000_00002_edge', { created: base }))
    expect(await store.history.deleteCreatedBefore(base)).toBe(1)
    expect(await store.history.findByQueryId('20240303_000000_00001_old')).toBeUndefined()
    expect(await store.history.findByQueryId('20240303_000000_00002_edge')).toBeDefined()
    expect(await store.history.deleteCreatedBefore(base)).toBe(0)
  })
})

describe('store transactions and raw queries', () => {
  it('commits the work of a transaction', async () => {
    await store.transaction(async (query) => {
      await query(
        "INSERT INTO resource_groups_global_properties (name, value) VALUES ('cpu_quota_period', '1h')",
      )
      await query("UPDATE resource_groups_global_properties SET value = '2h' WHERE name = 'cpu_quota_period'")
    })
    expect(
      await store.query(
        "SELECT value FROM resource_groups_global_properties WHERE name = 'cpu_quota_period'",
      ),
    ).toEqual([{ value: '2h' }])
  })

  it('rolls the whole transaction back when the work throws', async () => {
    await expect(
      store.transaction(async (query) => {
        await query(
          "INSERT INTO gateway_backend (name, routing_group, backend_url, active) VALUES ('tx-half', 'adhoc', 'http://x', true)",
        )
        throw new Error('halfway')
      }),
    ).rejects.toThrow('halfway')
    expect(await store.backends.get('tx-half')).toBeUndefined()
    // The pool is still usable afterwards.
    expect(await store.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
  })
})

describe('store transaction guard', () => {
  it('refuses another connection inside a transaction instead of deadlocking', async () => {
    await expect(
      store.transaction(async () => {
        await store.backends.get('anything')
      }),
    ).rejects.toMatchObject({ code: 'STORE_QUERY_IN_TRANSACTION' })
    await expect(store.transaction(() => store.transaction(async () => 1))).rejects.toMatchObject({
      code: 'STORE_QUERY_IN_TRANSACTION',
    })
    expect(await store.transaction(async (query) => query<{ two: number }>('SELECT 2 AS two'))).toEqual([
      { two: 2 },
    ])
  })
})

describe('history retention on the store', () => {
  it('removes rows past the retention from the database', async () => {
    const nowMs = 2_000_000_000_000
    await store.history.insert(
      historyRecord('20240404_000000_00001_stale', { created: nowMs - 5 * 3_600_000 }),
    )
    await store.history.insert(
      historyRecord('20240404_000000_00002_fresh', { created: nowMs - 3 * 3_600_000 }),
    )
    const retention = startHistoryRetention({
      history: store.history,
      hoursRetention: 4,
      initialDelayMs: 0,
      now: () => nowMs,
    })
    try {
      await waitFor(() => retention.rounds >= 1, { timeoutMs: 10_000, what: 'one retention round' })
    } finally {
      await retention.stop()
    }
    expect(await store.history.findByQueryId('20240404_000000_00001_stale')).toBeUndefined()
    expect(await store.history.findByQueryId('20240404_000000_00002_fresh')).toBeDefined()
  })
})
