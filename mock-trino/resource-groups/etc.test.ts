import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import { resourceGroupsApi } from '../../gateway/api/resource-groups.ts'
import { openStore } from '../../gateway/store/index.ts'
import type { GatewayStore } from '../../gateway/store/types.ts'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { query } from '../../trino/resource-groups/test-helpers.ts'
import { jdbcToPostgresUrl, loadSchedulerFromEtc } from './index.ts'

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

describe('resource-groups.properties with the db manager, fed by the gateway API on a real database', () => {
  let database: TestDatabase
  let store: GatewayStore
  let api: FastifyInstance
  beforeAll(async () => {
    database = await openTestDatabase()
    store = await openStore({ dataStore: database.dataStore })
    api = Fastify({ logger: false })
    await api.register(resourceGroupsApi, { store })
  })
  afterAll(async () => {
    await api?.close()
    await store?.close()
    await database?.close()
  })

  /** Writes the article's groups and selectors through the gateway's API, as an operator would. */
  async function createThroughApi(
    environment: string,
  ): Promise<{ adhoc: number; large: number; fallback: number }> {
    const post = async (url: string, payload: unknown) => {
      const response = await api.inject({ method: 'POST', url, payload: JSON.stringify(payload) })
      expect(response.statusCode, response.body).toBe(200)
      return response.json()
    }
    const group = {
      softMemoryLimit: '100%',
      schedulingPolicy: null,
      schedulingWeight: null,
      jmxExport: null,
      softCpuLimit: null,
      hardCpuLimit: null,
      parent: null,
      environment,
    }
    const adhoc = (
      await post('/trino/resourcegroup/create', {
        ...group,
        name: 'adhoc',
        maxQueued: 100,
        softConcurrencyLimit: 1,
        hardConcurrencyLimit: 1,
        schedulingPolicy: 'weighted_fair',
      })
    ).resourceGroupId
    const large = (
      await post('/trino/resourcegroup/create', {
        ...group,
        name: 'large_customer',
        softMemoryLimit: '70%',
        maxQueued: 50,
        softConcurrencyLimit: 35,
        hardConcurrencyLimit: 35,
        schedulingWeight: 7,
        parent: adhoc,
      })
    ).resourceGroupId
    const fallback = (
      await post('/trino/resourcegroup/create', {
        ...group,
        name: 'default',
        softMemoryLimit: '30%',
        maxQueued: 50,
        softConcurrencyLimit: 15,
        hardConcurrencyLimit: 15,
        schedulingWeight: 3,
        parent: adhoc,
      })
    ).resourceGroupId
    const selector = { userRegex: '.*', sourceRegex: '.*', queryType: null, selectorResourceEstimate: null }
    await post('/trino/selector/create', {
      ...selector,
      priority: 100,
      clientTags: '["LargeCustomer"]',
      resourceGroupId: large,
    })
    await post('/trino/selector/create', {
      ...selector,
      priority: 1,
      clientTags: null,
      resourceGroupId: fallback,
    })
    return { adhoc, large, fallback }
  }

  it('schedules by the rows of its environment and applies a changed limit on refresh without losing queries', async () => {
    const ids = await createThroughApi('test')
    await createThroughApi('other')
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
        { timeoutMs: 2_000, what: 'the limit raised through the API to start the queued query' },
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
