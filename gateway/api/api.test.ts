/** The admin, public and web-app APIs over a real socket, on the test database. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { type RunningGateway, startGateway } from '../index.ts'
import { type FakeTrino, startFakeTrino } from '../test-support/fake-trino.ts'
import { stateOf, testGatewayConfig } from '../test-support/gateway.ts'

let database: TestDatabase
let gateway: RunningGateway
let trino: FakeTrino

beforeAll(async () => {
  database = await openTestDatabase()
  trino = await startFakeTrino('api1')
  gateway = await startGateway({ config: testGatewayConfig(database.url), seed: 3, logLevel: 'silent' })
})
afterAll(async () => {
  await gateway?.close()
  await trino?.close()
  await database?.close()
})
beforeEach(async () => {
  await gateway.store.query('DELETE FROM gateway_backend')
  await gateway.store.query('DELETE FROM query_history')
  await gateway.runHealthRound()
})

async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { 'content-type': contentType },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
  })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, text, json: json as Record<string, unknown> & unknown[] }
}

const backend = () => ({
  name: 'trino1',
  proxyTo: `${trino.url}/`,
  externalUrl: 'https://trino1.example/',
  active: true,
  routingGroup: 'etl',
})

describe('backend management API', () => {
  it('adds a backend, echoing the body, storing URLs without the trailing slash', async () => {
    const added = await call('POST', '/gateway/backend/modify/add', backend())
    expect(added.status).toBe(200)
    expect(added.json).toEqual(backend())
    const all = await call('GET', '/gateway/backend/all')
    expect(all.json).toEqual([
      {
        name: 'trino1',
        proxyTo: trino.url,
        externalUrl: 'https://trino1.example',
        active: true,
        routingGroup: 'etl',
      },
    ])
  })

  it('probes a backend added through the API at once, long before the next monitor round', async () => {
    await call('POST', '/gateway/backend/modify/add', { name: 'fresh', proxyTo: trino.url })
    await waitFor(async () => (await stateOf(gateway.url, 'fresh')) === 'HEALTHY', {
      timeoutMs: 10_000,
      what: 'fresh HEALTHY',
    })
  })

  it('refuses a duplicate name with 409 BACKEND_ALREADY_EXISTS and leaves the first one in place', async () => {
    await call('POST', '/gateway/backend/modify/add', backend())
    const again = await call('POST', '/gateway/backend/modify/add', {
      ...backend(),
      proxyTo: 'http://other:1',
    })
    expect(again.status).toBe(409)
    expect(again.json.code).toBe('BACKEND_ALREADY_EXISTS')
    expect(
      ((await call('GET', '/gateway/backend/all')).json as { proxyTo: string }[]).map((row) => row.proxyTo),
    ).toEqual([trino.url])
  })

  it.each([
    ['a missing name', { proxyTo: 'http://a:1' }, 'name: expected a non-empty string'],
    ['an empty name', { name: ' ', proxyTo: 'http://a:1' }, 'name: expected a non-empty string'],
    [
      'a proxyTo that is no URL',
      { name: 'a', proxyTo: 'trino-1' },
      'proxyTo: expected an http(s) URL such as http://trino-1:8080 (got "trino-1")',
    ],
    ['a non-http proxyTo', { name: 'a', proxyTo: 'ftp://a' }, 'proxyTo: expected an http(s) URL'],
    [
      'an active flag that is a string',
      { name: 'a', proxyTo: 'http://a:1', active: 'yes' },
      'active: expected true or false (got "yes")',
    ],
    [
      'a routingGroup that is a number',
      { name: 'a', proxyTo: 'http://a:1', routingGroup: 5 },
      'routingGroup: expected a non-empty string (got 5)',
    ],
    ['a body that is not JSON', '{"name":', '(root): not valid JSON'],
    ['a body that is an array', [], '(root): expected a JSON object'],
  ])('answers 400 REQUEST_BODY_INVALID for %s, naming field and value', async (_label, body, problem) => {
    for (const path of [
      '/gateway/backend/modify/add',
      '/gateway/backend/modify/update',
      '/entity?entityType=GATEWAY_BACKEND',
      '/webapp/saveBackend',
    ]) {
      const response = await call('POST', path, body)
      expect(response.status).toBe(400)
      expect(response.json.code).toBe('REQUEST_BODY_INVALID')
      expect((response.json.details as { problems: string[] }).problems.join('\n')).toContain(problem)
    }
    expect((await call('GET', '/gateway/backend/all')).json).toEqual([])
  })

  it('upserts on update and sets the status to PENDING (active) or UNKNOWN (inactive) before probing', async () => {
    const updated = await call('POST', '/gateway/backend/modify/update', { ...backend(), active: false })
    expect(updated.status).toBe(200)
    expect(await stateOf(gateway.url, 'trino1')).toBe('UNKNOWN')
    expect((await call('GET', '/gateway/backend/active')).json).toEqual([])
  })

  it('activates and deactivates, with 404 naming an unknown backend', async () => {
    await call('POST', '/gateway/backend/modify/add', { ...backend(), active: false })
    expect((await call('POST', '/gateway/backend/activate/trino1')).status).toBe(200)
    expect(
      ((await call('GET', '/gateway/backend/active')).json as { name: string }[]).map((row) => row.name),
    ).toEqual(['trino1'])
    await waitFor(async () => (await stateOf(gateway.url, 'trino1')) === 'HEALTHY', {
      timeoutMs: 10_000,
      what: 'activated HEALTHY',
    })
    expect((await call('POST', '/gateway/backend/deactivate/trino1')).status).toBe(200)
    expect((await call('GET', '/gateway/backend/active')).json).toEqual([])
    const unknown = await call('POST', '/gateway/backend/activate/nosuch')
    expect(unknown.status).toBe(404)
    expect(unknown.json).toMatchObject({
      code: 'BACKEND_NOT_FOUND',
      message: 'No cluster found with name: nosuch, could not (de)activate',
    })
  })

  it('deletes by the raw name in the body, whatever the content type', async () => {
    await call('POST', '/gateway/backend/modify/add', backend())
    const deleted = await call(
      'POST',
      '/gateway/backend/modify/delete',
      'trino1',
      'application/x-www-form-urlencoded',
    )
    expect(deleted.status).toBe(200)
    expect((await call('GET', '/gateway/backend/all')).json).toEqual([])
    expect((await call('GET', '/api/public/backends/trino1/state')).status).toBe(404)
    expect((await call('POST', '/gateway/backend/modify/delete', 'trino1', 'text/plain')).status).toBe(404)
    expect((await call('POST', '/gateway/backend/modify/delete', '', 'text/plain')).json.code).toBe(
      'REQUEST_BODY_INVALID',
    )
  })
})

describe('entity editor API', () => {
  it('lists GATEWAY_BACKEND and upserts through it, UNHEALTHY when inactive', async () => {
    expect((await call('GET', '/entity')).json).toEqual(['GATEWAY_BACKEND'])
    const saved = await call('POST', '/entity?entityType=GATEWAY_BACKEND', { ...backend(), active: false })
    expect(saved.status).toBe(200)
    expect(saved.text).toBe('')
    expect(await stateOf(gateway.url, 'trino1')).toBe('UNHEALTHY')
    expect(
      ((await call('GET', '/entity/GATEWAY_BACKEND')).json as { name: string }[]).map((row) => row.name),
    ).toEqual(['trino1'])
  })

  it('refuses a missing or unsupported entityType with 400 ENTITY_TYPE_INVALID', async () => {
    expect((await call('POST', '/entity', backend())).json.code).toBe('ENTITY_TYPE_INVALID')
    const other = await call('POST', '/entity?entityType=RESOURCE_GROUP', backend())
    expect(other.status).toBe(400)
    expect(other.json.message).toContain('"RESOURCE_GROUP"')
  })
})

describe('public and health endpoints', () => {
  it('serves livez, readyz after the first round, the backend list and ClusterStats', async () => {
    expect((await call('GET', '/trino-gateway/livez')).text).toBe('ok')
    expect((await call('GET', '/trino-gateway/readyz')).text).toBe('ok')
    expect((await call('GET', '/gateway')).text).toBe('ok')
    await call('POST', '/gateway/backend/modify/add', backend())
    await waitFor(async () => (await stateOf(gateway.url, 'trino1')) === 'HEALTHY', {
      timeoutMs: 10_000,
      what: 'HEALTHY',
    })
    expect((await call('GET', '/api/public/backends')).json).toHaveLength(1)
    expect((await call('GET', '/api/public/backends/trino1')).json).toMatchObject({
      name: 'trino1',
      routingGroup: 'etl',
    })
    expect((await call('GET', '/api/public/backends/trino1/state')).json).toEqual({
      clusterId: 'trino1',
      runningQueryCount: 0,
      queuedQueryCount: 0,
      numWorkerNodes: 0,
      trinoStatus: 'HEALTHY',
      proxyTo: trino.url,
      externalUrl: 'https://trino1.example',
      routingGroup: 'etl',
      userQueuedCount: null,
    })
    expect((await call('GET', '/api/public/backends/nosuch')).status).toBe(404)
  })

  it('reports a backend whose /v1/info says starting as PENDING, and a failing one as UNHEALTHY', async () => {
    await call('POST', '/gateway/backend/modify/add', backend())
    trino.setInfo({ starting: true })
    try {
      await gateway.runHealthRound()
      expect(await stateOf(gateway.url, 'trino1')).toBe('PENDING')
      trino.setInfo({ statusCode: 500 })
      await gateway.runHealthRound()
      expect(await stateOf(gateway.url, 'trino1')).toBe('UNHEALTHY')
    } finally {
      trino.setInfo({})
    }
  })
})

describe('web-app API', () => {
  it('wraps answers in the Result envelope and manages backends', async () => {
    const saved = await call('POST', '/webapp/saveBackend', backend())
    expect(saved.json).toEqual({ code: 200, msg: 'Successful.', data: backend() })
    await waitFor(async () => (await stateOf(gateway.url, 'trino1')) === 'HEALTHY', {
      timeoutMs: 10_000,
      what: 'HEALTHY',
    })
    const all = await call('POST', '/webapp/getAllBackends')
    expect(all.json).toEqual({
      code: 200,
      msg: 'Successful.',
      data: [
        {
          name: 'trino1',
          proxyTo: trino.url,
          externalUrl: 'https://trino1.example',
          active: true,
          routingGroup: 'etl',
          queued: 0,
          running: 0,
          status: 'HEALTHY',
        },
      ],
    })
    expect(
      (await call('POST', '/webapp/updateBackend', { ...backend(), routingGroup: 'adhoc' })).json.code,
    ).toBe(200)
    expect(
      ((await call('GET', '/gateway/backend/all')).json as { routingGroup: string }[])[0]?.routingGroup,
    ).toBe('adhoc')
    expect((await call('POST', '/webapp/deleteBackend', { name: 'trino1' })).json).toEqual({
      code: 200,
      msg: 'Successful.',
      data: true,
    })
    expect((await call('GET', '/gateway/backend/all')).json).toEqual([])
  })

  it('finds query history by filter and page, and counts the distribution', async () => {
    await call('POST', '/gateway/backend/modify/add', { name: 'trino1', proxyTo: trino.url })
    await waitFor(async () => (await stateOf(gateway.url, 'trino1')) === 'HEALTHY', {
      timeoutMs: 10_000,
      what: 'HEALTHY',
    })
    for (const user of ['ann', 'ann', 'bob']) {
      const response = await fetch(`${gateway.url}/v1/statement`, {
        method: 'POST',
        headers: { 'x-trino-user': user, 'x-trino-source': 'cli' },
        body: 'SELECT 1 PAGES',
      })
      expect(response.status).toBe(200)
    }
    // Write-behind: the rows are committed shortly after the answers.
    await waitFor(
      async () =>
        ((await call('POST', '/webapp/findQueryHistory')).json.data as { total: number }).total === 3,
      { timeoutMs: 10_000, what: 'three query_history rows' },
    )
    const found = await call('POST', '/webapp/findQueryHistory', {
      user: 'ann',
      page: 1,
      size: 1,
      queryId: '',
    })
    const data = found.json.data as { total: number; rows: Record<string, unknown>[] }
    expect(data.total).toBe(2)
    expect(data.rows).toHaveLength(1)
    expect(data.rows[0]).toMatchObject({
      user: 'ann',
      source: 'cli',
      backendUrl: trino.url,
      queryText: 'SELECT 1 PAGES',
      routingGroup: 'adhoc',
    })
    expect(((await call('POST', '/webapp/findQueryHistory')).json.data as { total: number }).total).toBe(3)
    const bad = await call('POST', '/webapp/findQueryHistory', { size: 0 })
    expect(bad.status).toBe(400)
    expect((bad.json.details as { problems: string[] }).problems).toEqual([
      'size: expected an integer from 1 to 1000 (got 0)',
    ])

    const distribution = (await call('POST', '/webapp/getDistribution', { latestHour: 1 })).json
      .data as Record<string, unknown>
    expect(distribution).toMatchObject({
      totalBackendCount: 1,
      onlineBackendCount: 1,
      healthyBackendCount: 1,
      totalQueryCount: 3,
    })
    expect(distribution.distributionChart).toEqual([{ backendUrl: trino.url, queryCount: 3, name: 'trino1' }])
  })
})
