// biome-ignore-all lint/suspicious/noTemplateCurlyInString: exact-match selectors must refuse ${USER} templates
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { openStore } from '../store/index.ts'
import type { GatewayStore } from '../store/types.ts'
import { resourceGroupsApi } from './resource-groups.ts'

let database: TestDatabase
let store: GatewayStore
let app: FastifyInstance

beforeAll(async () => {
  database = await openTestDatabase()
  store = await openStore({ dataStore: database.dataStore })
  app = Fastify({ logger: false })
  await app.register(resourceGroupsApi, { store })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
  await store?.close()
  await database?.close()
})
beforeEach(async () => {
  await store.query('DELETE FROM selectors')
  await store.query('DELETE FROM resource_groups')
  await store.query('DELETE FROM resource_groups_global_properties')
  await store.query('DELETE FROM exact_match_source_selectors')
})

const post = (url: string, payload: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  })
const get = async (url: string) => (await app.inject({ method: 'GET', url })).json()

/** The article's curl bodies, with `parent` and `resourceGroupId` filled from the ids the database gave. */
const adhocBody = {
  name: 'adhoc',
  softMemoryLimit: '100%',
  maxQueued: 100,
  softConcurrencyLimit: 50,
  hardConcurrencyLimit: 50,
  schedulingPolicy: 'weighted_fair',
  schedulingWeight: null,
  jmxExport: null,
  softCpuLimit: null,
  hardCpuLimit: null,
  parent: null,
  environment: 'test',
}
const largeCustomerBody = (parent: number) => ({
  name: 'large_customer',
  softMemoryLimit: '70%',
  maxQueued: 50,
  softConcurrencyLimit: 35,
  hardConcurrencyLimit: 35,
  schedulingPolicy: null,
  schedulingWeight: 7,
  jmxExport: null,
  softCpuLimit: null,
  hardCpuLimit: null,
  parent,
  environment: 'test',
})
const defaultBody = (parent: number) => ({
  ...largeCustomerBody(parent),
  name: 'default',
  softMemoryLimit: '30%',
  softConcurrencyLimit: 15,
  hardConcurrencyLimit: 15,
  schedulingWeight: 3,
})

async function createArticleGroups(): Promise<{ adhoc: number; large: number; fallback: number }> {
  const adhoc = (await post('/trino/resourcegroup/create', adhocBody)).json().resourceGroupId as number
  const large = (await post('/trino/resourcegroup/create', largeCustomerBody(adhoc))).json()
    .resourceGroupId as number
  const fallback = (await post('/trino/resourcegroup/create', defaultBody(adhoc))).json()
    .resourceGroupId as number
  return { adhoc, large, fallback }
}

describe('/trino/resourcegroup', () => {
  it('creates the article’s groups, echoing each body with its new id, and reads them back', async () => {
    const response = await post('/trino/resourcegroup/create', adhocBody)
    expect(response.statusCode).toBe(200)
    const adhoc = response.json()
    expect(adhoc).toEqual({ ...adhocBody, resourceGroupId: expect.any(Number) })
    const large = (await post('/trino/resourcegroup/create', largeCustomerBody(adhoc.resourceGroupId))).json()
    expect(await get('/trino/resourcegroup/read')).toEqual([adhoc, large])
    expect(await get('/trino/resourcegroup/read/')).toEqual([adhoc, large])
    expect(await get(`/trino/resourcegroup/read/${large.resourceGroupId}`)).toEqual([large])
    expect(await get('/trino/resourcegroup/read/999999')).toEqual([])
  })

  it('updates a group in place (the article’s update body) and inserts an unknown id, as Trino Gateway did', async () => {
    const ids = await createArticleGroups()
    const update = {
      ...adhocBody,
      resourceGroupId: ids.adhoc,
      hardConcurrencyLimit: 40,
      softConcurrencyLimit: 40,
    }
    expect((await post('/trino/resourcegroup/update', update)).json()).toEqual(update)
    expect(await get(`/trino/resourcegroup/read/${ids.adhoc}`)).toEqual([update])
    const upserted = { ...adhocBody, name: 'etl', resourceGroupId: 4242 }
    expect((await post('/trino/resourcegroup/update', upserted)).json()).toEqual(upserted)
    // The serial moved past the inserted id, so the next create does not collide.
    const next = (await post('/trino/resourcegroup/create', { ...adhocBody, name: 'next' })).json()
    expect(next.resourceGroupId).toBeGreaterThan(4242)
  })

  it('deletes a group with its sub-groups and their selectors; delete without an id is 404', async () => {
    const ids = await createArticleGroups()
    await post('/trino/selector/create', { priority: 1, resourceGroupId: ids.fallback })
    expect((await post(`/trino/resourcegroup/delete/${ids.adhoc}`, '')).statusCode).toBe(200)
    expect(await get('/trino/resourcegroup/read')).toEqual([])
    expect(await get('/trino/selector/read')).toEqual([])
    expect((await post('/trino/resourcegroup/delete/', '')).statusCode).toBe(404)
  })

  it.each([
    {
      case: 'an unknown parent',
      patch: { parent: 999999 },
      field: 'parent',
      message: 'no resource group has this id',
    },
    {
      case: 'a bad policy name',
      patch: { schedulingPolicy: 'round_robin' },
      field: 'schedulingPolicy',
      message: 'expected fair, weighted',
    },
    { case: 'a negative limit', patch: { maxQueued: -1 }, field: 'maxQueued', message: 'integer >= 0' },
    {
      case: 'a soft limit above the hard one',
      patch: { softConcurrencyLimit: 60 },
      field: 'softConcurrencyLimit',
      message: 'hardConcurrencyLimit must be greater',
    },
    {
      case: 'a zero weight',
      patch: { schedulingWeight: 0 },
      field: 'schedulingWeight',
      message: 'weight must be positive',
    },
    {
      case: 'a malformed memory limit',
      patch: { softMemoryLimit: '130%' },
      field: 'softMemoryLimit',
      message: 'percentage from 0% to 100%',
    },
    {
      case: 'a malformed CPU limit',
      patch: { hardCpuLimit: 'an hour' },
      field: 'hardCpuLimit',
      message: 'Airlift duration',
    },
    { case: 'a dotted name', patch: { name: 'a.b' }, field: 'name', message: "without '.'" },
  ])('refuses $case with a 400 naming $field', async ({ patch, field, message }) => {
    const response = await post('/trino/resourcegroup/create', { ...adhocBody, ...patch })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('REQUEST_BODY_INVALID')
    expect(response.json().message).toContain(`${field}: `)
    expect(response.json().message).toContain(message)
    expect(await get('/trino/resourcegroup/read')).toEqual([])
  })

  it('refuses an update that would make a cycle, or a parent from another environment, and leaves the row unchanged', async () => {
    const ids = await createArticleGroups()
    const cycle = await post('/trino/resourcegroup/update', {
      ...adhocBody,
      resourceGroupId: ids.adhoc,
      parent: ids.large,
    })
    expect(cycle.statusCode).toBe(400)
    expect(cycle.json().message).toMatch(
      /parent: the group \d+ is an ancestor of this parent, which would make a cycle/,
    )
    const self = await post('/trino/resourcegroup/update', {
      ...adhocBody,
      resourceGroupId: ids.adhoc,
      parent: ids.adhoc,
    })
    expect(self.json().message).toMatch(/parent: a group cannot be its own parent/)
    const otherEnv = await post('/trino/resourcegroup/create', {
      ...largeCustomerBody(ids.adhoc),
      environment: 'prod',
    })
    expect(otherEnv.statusCode).toBe(400)
    expect(otherEnv.json().message).toMatch(/parent: the parent belongs to environment "test", not "prod"/)
    expect((await get(`/trino/resourcegroup/read/${ids.adhoc}`))[0].parent).toBeNull()
  })

  it('refuses malformed JSON with a 400, and useSchema as unsupported', async () => {
    const response = await post('/trino/resourcegroup/create', '{"name":')
    expect(response.statusCode).toBe(400)
    expect(response.json().message).toMatch(/not valid JSON/)
    const schema = await app.inject({ method: 'GET', url: '/trino/resourcegroup/read?useSchema=other' })
    expect(schema.statusCode).toBe(400)
    expect(schema.json().message).toMatch(/useSchema is not supported/)
  })
})

describe('/trino/selector', () => {
  it('creates the article’s two selectors and reads them highest priority first', async () => {
    const ids = await createArticleGroups()
    const tagged = {
      priority: 100,
      userRegex: '.*',
      sourceRegex: '.*',
      queryType: null,
      clientTags: '["LargeCustomer"]',
      selectorResourceEstimate: null,
      resourceGroupId: ids.large,
    }
    const fallback = { ...tagged, priority: 1, clientTags: null, resourceGroupId: ids.fallback }
    expect((await post('/trino/selector/create', fallback)).json()).toEqual(fallback)
    expect((await post('/trino/selector/create', tagged)).json()).toEqual(tagged)
    expect(await get('/trino/selector/read')).toEqual([tagged, fallback])
    expect(await get(`/trino/selector/read/${ids.fallback}`)).toEqual([fallback])
  })

  it('updates the selector equal to `current`, inserts `update` when none is, and deletes by full match', async () => {
    const ids = await createArticleGroups()
    const current = {
      priority: 1,
      userRegex: '.*',
      sourceRegex: null,
      queryType: null,
      clientTags: null,
      selectorResourceEstimate: null,
      resourceGroupId: ids.fallback,
    }
    await post('/trino/selector/create', current)
    const update = { ...current, priority: 5, queryType: 'select' }
    expect((await post('/trino/selector/update', { current, update })).json()).toEqual({
      ...update,
      queryType: 'SELECT',
    })
    expect(await get('/trino/selector/read')).toEqual([{ ...update, queryType: 'SELECT' }])
    const fresh = { ...current, priority: 7 }
    await post('/trino/selector/update', { current: { ...current, priority: 99 }, update: fresh })
    expect((await get('/trino/selector/read')).map((s: { priority: number }) => s.priority)).toEqual([7, 5])
    expect((await post('/trino/selector/delete', fresh)).statusCode).toBe(200)
    expect((await get('/trino/selector/read')).map((s: { priority: number }) => s.priority)).toEqual([5])
    expect((await post('/trino/selector/delete', '')).statusCode).toBe(400)
  })

  it.each([
    {
      case: 'an unknown group',
      patch: { resourceGroupId: 999999 },
      field: 'resourceGroupId',
      message: 'no resource group has this id',
    },
    {
      case: 'a malformed regex',
      patch: { userRegex: '([a-z' },
      field: 'userRegex',
      message: 'expected a valid regular expression',
    },
    {
      case: 'client tags that are not a JSON list',
      patch: { clientTags: 'LargeCustomer' },
      field: 'clientTags',
      message: 'JSON array of tag strings',
    },
    {
      case: 'client tags that are not strings',
      patch: { clientTags: '[1,2]' },
      field: 'clientTags',
      message: 'JSON array of tag strings',
    },
    {
      case: 'an unknown query type',
      patch: { queryType: 'SHOUT' },
      field: 'queryType',
      message: 'expected one of SELECT',
    },
    {
      case: 'a malformed resource estimate',
      patch: { selectorResourceEstimate: '{"cpuTime":{"max":"lots"}}' },
      field: 'selectorResourceEstimate',
      message: 'at cpuTime.max',
    },
  ])('refuses $case with a 400 naming $field', async ({ patch, field, message }) => {
    const ids = await createArticleGroups()
    const response = await post('/trino/selector/create', {
      priority: 1,
      resourceGroupId: ids.fallback,
      ...patch,
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().message).toContain(`${field}: `)
    expect(response.json().message).toContain(message)
    expect(await get('/trino/selector/read')).toEqual([])
  })
})

describe('/trino/globalproperty', () => {
  it('creates, reads, updates and deletes cpu_quota_period', async () => {
    expect(
      (await post('/trino/globalproperty/create', { name: 'cpu_quota_period', value: '1h' })).json(),
    ).toEqual({
      name: 'cpu_quota_period',
      value: '1h',
    })
    await post('/trino/globalproperty/update', { name: 'cpu_quota_period', value: '2h' })
    expect(await get('/trino/globalproperty/read/cpu_quota_period')).toEqual([
      { name: 'cpu_quota_period', value: '2h' },
    ])
    expect((await post('/trino/globalproperty/delete/cpu_quota_period', '')).statusCode).toBe(200)
    expect(await get('/trino/globalproperty/read')).toEqual([])
    expect((await post('/trino/globalproperty/delete/', '')).statusCode).toBe(404)
  })

  it('refuses a name outside Trino’s CHECK list and a value that is not a duration', async () => {
    const name = await post('/trino/globalproperty/create', { name: 'max_everything', value: '1h' })
    expect(name.statusCode).toBe(400)
    expect(name.json().message).toContain('name: ')
    const value = await post('/trino/globalproperty/create', { name: 'cpu_quota_period', value: 'hourly' })
    expect(value.json().message).toContain('value: expected an Airlift duration')
  })
})

describe('exact-match source selectors', () => {
  it('saves one in the Result envelope and finds it by source', async () => {
    const saved = await post('/webapp/saveExactMatchSourceSelector', {
      resourceGroupId: 'global.pipeline',
      updateTime: '2026-01-01T00:00:00Z',
      source: 'airflow',
      environment: 'test',
      queryType: 'insert',
    })
    expect(saved.json()).toEqual({
      code: 200,
      msg: 'Successful.',
      data: {
        resourceGroupId: '["global","pipeline"]',
        updateTime: '2026-01-01T00:00:00.000Z',
        source: 'airflow',
        environment: 'test',
        queryType: 'INSERT',
      },
    })
    expect(
      (await post('/webapp/findExactMatchSourceSelector', { source: 'airflow' })).json().data,
    ).toHaveLength(1)
    expect((await post('/webapp/findExactMatchSourceSelector', { source: 'other' })).json().data).toEqual([])
    const templated = await post('/webapp/saveExactMatchSourceSelector', {
      resourceGroupId: 'global.${USER}',
      source: 'x',
    })
    expect(templated.statusCode).toBe(400)
    expect(templated.json().message).toContain('resourceGroupId: ')
  })
})
