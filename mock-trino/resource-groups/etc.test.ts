import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import { openStore } from '../../gateway/store/index.ts'
import type { GatewayStore } from '../../gateway/store/types.ts'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { jdbcToPostgresUrl, loadSchedulerFromEtc } from './index.ts'
import { query } from './test-helpers.ts'

const dirs: string[] = []
function etcWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rg-etc-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const articleJson = JSON.stringify({
  rootGroups: [
    {
      name: 'adhoc',
      softMemoryLimit: '100%',
      maxQueued: 100,
      hardConcurrencyLimit: 50,
      schedulingPolicy: 'weighted_fair',
      subGroups: [
        {
          name: 'large_customer',
          softMemoryLimit: '70%',
          maxQueued: 50,
          hardConcurrencyLimit: 35,
          schedulingWeight: 7,
        },
        {
          name: 'default',
          softMemoryLimit: '30%',
          maxQueued: 50,
          hardConcurrencyLimit: 15,
          schedulingWeight: 3,
        },
      ],
    },
  ],
  selectors: [
    { user: '.*', clientTags: ['LargeCustomer'], group: 'adhoc.large_customer' },
    { user: '.*', group: 'adhoc.default' },
  ],
})

describe('resource-groups.properties with the file manager', () => {
  it('loads Trino’s JSON from resource-groups.config-file and schedules by it', async () => {
    const etc = etcWith({
      'resource-groups.properties':
        'resource-groups.configuration-manager=file\nresource-groups.config-file=groups.json\n',
      'groups.json': articleJson,
    })
    const scheduler = await loadSchedulerFromEtc(etc, 'test')
    expect(scheduler.submit(query('q1', { clientTags: ['LargeCustomer'] }), 0)).toEqual({
      kind: 'running',
      resourceGroupId: ['adhoc', 'large_customer'],
    })
    expect(scheduler.submit(query('q2'), 0)).toEqual({
      kind: 'running',
      resourceGroupId: ['adhoc', 'default'],
    })
    await scheduler.close()
  })

  it.each([
    {
      case: 'an unknown manager',
      properties: 'resource-groups.configuration-manager=ldap\n',
      error: /resource-groups\.configuration-manager/,
    },
    {
      case: 'a misspelt key',
      properties:
        'resource-groups.configuration-manager=file\nresource-groups.config-file=g.json\nresource-groups.refresh=1s\n',
      error: /Unrecognized key.*resource-groups\.refresh/,
    },
    {
      case: 'a missing file',
      properties:
        'resource-groups.configuration-manager=file\nresource-groups.config-file=/nonexistent/g.json\n',
      error: /\/nonexistent\/g\.json does not exist/,
    },
    {
      case: 'a refresh interval below 1s',
      properties:
        'resource-groups.configuration-manager=db\nresource-groups.config-db-url=jdbc:postgresql://127.0.0.1:5432/x\nresource-groups.refresh-interval=500ms\n',
      error: /resource-groups\.refresh-interval: must be at least 1s \(got "500ms"\)/,
    },
  ])('refuses $case with CONFIGURATION_INVALID naming the key', async ({ properties, error }) => {
    const etc = etcWith({ 'resource-groups.properties': properties })
    await expect(loadSchedulerFromEtc(etc, 'test')).rejects.toMatchObject({
      code: 'CONFIGURATION_INVALID',
      message: expect.stringMatching(error),
    })
  })

  it('names the JSON path of a bad field in the config file', async () => {
    const etc = etcWith({
      'resource-groups.properties':
        'resource-groups.configuration-manager=file\nresource-groups.config-file=groups.json\n',
      'groups.json': JSON.stringify({
        rootGroups: [{ name: 'g', maxQueued: 1, hardConcurrencyLimit: 'many' }],
        selectors: [],
      }),
    })
    await expect(loadSchedulerFromEtc(etc, 'test')).rejects.toThrow(
      /rootGroups\.0\.hardConcurrencyLimit: .*\(got "many"\)/,
    )
  })
})

describe('jdbc URLs', () => {
  it.each([
    ['jdbc:postgresql://db.local:5432/gateway', 'u', 'p', 'postgres://u:p@db.local:5432/gateway'],
    [
      'jdbc:postgresql://db.local/gateway?user=a&password=b',
      'u',
      'p',
      'postgres://a:b@db.local:5432/gateway',
    ],
    ['postgres://x@127.0.0.1:5433/test', undefined, undefined, 'postgres://x@127.0.0.1:5433/test'],
  ])('turns %s into a pg URL', (jdbc, user, password, expected) => {
    expect(jdbcToPostgresUrl(jdbc, user, password)).toBe(expected)
  })

  it('refuses a non-PostgreSQL URL', () => {
    expect(() => jdbcToPostgresUrl('jdbc:mysql://h/db')).toThrow(/only PostgreSQL is supported/)
  })
})

describe('resource-groups.properties with the db manager, against a real database', () => {
  let database: TestDatabase
  let store: GatewayStore
  beforeAll(async () => {
    database = await openTestDatabase()
    store = await openStore({ dataStore: database.dataStore })
  })
  afterAll(async () => {
    await store?.close()
    await database?.close()
  })

  async function insertArticleRows(
    environment: string,
  ): Promise<{ adhoc: string; large: string; fallback: string }> {
    const insert = async (fields: Record<string, unknown>) => {
      const keys = Object.keys(fields)
      const rows = await store.query<{ resource_group_id: string }>(
        `INSERT INTO resource_groups (${keys.join(', ')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING resource_group_id`,
        Object.values(fields),
      )
      return String(rows[0]?.resource_group_id)
    }
    const adhoc = await insert({
      name: 'adhoc',
      soft_memory_limit: '100%',
      max_queued: 100,
      hard_concurrency_limit: 1,
      scheduling_policy: 'weighted_fair',
      environment,
    })
    const large = await insert({
      name: 'large_customer',
      soft_memory_limit: '70%',
      max_queued: 50,
      hard_concurrency_limit: 35,
      scheduling_weight: 7,
      parent: adhoc,
      environment,
    })
    const fallback = await insert({
      name: 'default',
      soft_memory_limit: '30%',
      max_queued: 50,
      hard_concurrency_limit: 15,
      scheduling_weight: 3,
      parent: adhoc,
      environment,
    })
    await store.query(
      `INSERT INTO selectors (resource_group_id, priority, user_regex, source_regex, client_tags) VALUES ($1, 100, '.*', '.*', '["LargeCustomer"]'), ($2, 1, '.*', '.*', NULL)`,
      [large, fallback],
    )
    return { adhoc, large, fallback }
  }

  it('schedules by the rows of its environment and applies a changed limit on refresh without losing queries', async () => {
    const ids = await insertArticleRows('test')
    await insertArticleRows('other')
    const jdbc = database.url.replace(/^postgres(ql)?:\/\//, 'jdbc:postgresql://')
    const etc = etcWith({
      'resource-groups.properties': `resource-groups.configuration-manager=db\nresource-groups.config-db-url=${jdbc}\n`,
    })
    const scheduler = await loadSchedulerFromEtc(etc, 'test')
    try {
      expect(scheduler.configurationManager).toBe('db')
      expect(scheduler.submit(query('tagged', { clientTags: ['LargeCustomer'] }), 0)).toEqual({
        kind: 'running',
        resourceGroupId: ['adhoc', 'large_customer'],
      })
      expect(scheduler.submit(query('plain'), 0)).toEqual({
        kind: 'queued',
        resourceGroupId: ['adhoc', 'default'],
      })
      await store.query(
        'UPDATE resource_groups SET hard_concurrency_limit = 2 WHERE resource_group_id = $1',
        [ids.adhoc],
      )
      // The timer refreshes every second; the tick applies what it loaded.
      const started = await waitFor(
        () => {
          const now = scheduler.tick(Date.now())
          return now.length > 0 ? now : undefined
        },
        { timeoutMs: 5_000, what: 'the raised limit to start the queued query' },
      )
      expect(started).toEqual(['plain'])
      expect(scheduler.groupOf('tagged')).toEqual(['adhoc', 'large_customer'])
      expect(scheduler.groupSnapshot(['adhoc'])?.hardConcurrencyLimit).toBe(2)

      // A refresh that fails validation keeps the last configuration.
      await store.query(`UPDATE selectors SET client_tags = 'LargeCustomer' WHERE resource_group_id = $1`, [
        ids.large,
      ])
      expect(await scheduler.refreshNow()).toBe(false)
      expect(scheduler.submit(query('after', { clientTags: ['LargeCustomer'] }), 1)).toMatchObject({
        resourceGroupId: ['adhoc', 'large_customer'],
      })

      // No selectors at all loads, and every query fails CONFIGURATION_INVALID.
      await store.query('DELETE FROM selectors')
      expect(await scheduler.refreshNow()).toBe(true)
      scheduler.tick(Date.now())
      expect(scheduler.submit(query('none'), 2)).toMatchObject({
        errorName: 'CONFIGURATION_INVALID',
        message: 'No selectors are configured',
      })
    } finally {
      await scheduler.close()
    }
  })

  it('fails queries with CONFIGURATION_UNAVAILABLE when the first load fails', async () => {
    const etc = etcWith({
      'resource-groups.properties':
        'resource-groups.configuration-manager=db\nresource-groups.config-db-url=jdbc:postgresql://127.0.0.1:1/none\n',
    })
    const scheduler = await loadSchedulerFromEtc(etc, 'test')
    try {
      expect(scheduler.submit(query('q'), 0)).toMatchObject({
        errorName: 'CONFIGURATION_UNAVAILABLE',
        message: 'Selectors cannot be fetched from database',
      })
    } finally {
      await scheduler.close()
    }
  })
})
