/**
 * The gateway over real sockets: fake coordinators on loopback, the store on the test database
 * (embedded, or the PostgreSQL server when TGL_TEST_DATABASE says so).
 */
import { request as httpRequest } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../test-support/database.ts'
import { type RoutingDecisionRecord, type RunningGateway, startGateway } from './index.ts'
import { type FakeTrino, startFakeTrino } from './test-support/fake-trino.ts'
import { addBackend, stateOf, testGatewayConfig } from './test-support/gateway.ts'

let database: TestDatabase
const cleanups: (() => Promise<void>)[] = []

beforeAll(async () => {
  database = await openTestDatabase()
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(async () => {
  await database?.close()
})

async function gateway(overrides: Record<string, unknown> = {}, seed = 7): Promise<RunningGateway> {
  const running = await startGateway({
    config: testGatewayConfig(database.url, overrides),
    seed,
    logLevel: 'silent',
  })
  cleanups.push(() => running.close())
  return running
}

async function fake(name: string): Promise<FakeTrino> {
  const backend = await startFakeTrino(name)
  cleanups.push(() => backend.close())
  return backend
}

/** Clears backends and history so each test starts from an empty database. */
async function resetStore(running: RunningGateway): Promise<void> {
  await running.store.query('DELETE FROM gateway_backend')
  await running.store.query('DELETE FROM query_history')
  await running.runHealthRound()
}

async function healthy(running: RunningGateway, ...names: string[]): Promise<void> {
  for (const name of names) {
    await waitFor(async () => (await stateOf(running.url, name)) === 'HEALTHY', {
      timeoutMs: 10_000,
      what: `${name} HEALTHY`,
    })
  }
}

interface QueryResults {
  id: string
  nextUri?: string
  infoUri?: string
  data?: string[][]
}

async function submit(
  url: string,
  sql: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${url}/v1/statement`, {
    method: 'POST',
    headers: { 'x-trino-user': 'alice', ...headers },
    body: sql,
    ...(signal === undefined ? {} : { signal }),
  })
}

/** Follows nextUri to the end; returns the backend names seen in the data. */
async function drain(first: QueryResults, rebase?: (uri: string) => string): Promise<string[]> {
  const seen: string[] = []
  let page = first
  for (let hops = 0; page.nextUri !== undefined && hops < 50; hops++) {
    const response = await fetch(rebase ? rebase(page.nextUri) : page.nextUri, {
      headers: { 'x-trino-user': 'alice' },
    })
    expect(response.status).toBe(200)
    page = (await response.json()) as QueryResults
    for (const row of page.data ?? []) seen.push(row[0] as string)
  }
  expect(page.nextUri).toBeUndefined()
  return seen
}

describe('routing new queries', () => {
  it('routes by X-Trino-Routing-Group, else to the default group, and falls back for an unknown group', async () => {
    const running = await gateway()
    await resetStore(running)
    const adhoc = await fake('adhoc1')
    const etl = await fake('etl1')
    await addBackend(running.url, { name: 'adhoc1', proxyTo: adhoc.url, routingGroup: 'adhoc' })
    await addBackend(running.url, { name: 'etl1', proxyTo: etl.url, routingGroup: 'etl' })
    await healthy(running, 'adhoc1', 'etl1')

    const decisions: RoutingDecisionRecord[] = []
    running.onRoutingDecision((record) => decisions.push(record))
    expect((await submit(running.url, 'SELECT 1 PAGES', { 'x-trino-routing-group': 'etl' })).status).toBe(200)
    expect((await submit(running.url, 'SELECT 1 PAGES')).status).toBe(200)
    expect((await submit(running.url, 'SELECT 1 PAGES', { 'x-trino-routing-group': 'nosuch' })).status).toBe(
      200,
    )
    expect(
      decisions.map((decision) => [decision.backend, decision.selectedGroup, decision.fallback]),
    ).toEqual([
      ['etl1', 'etl', false],
      ['adhoc1', 'adhoc', false],
      ['adhoc1', 'adhoc', true],
    ])
    expect(etl.requests.filter((request) => request.method === 'POST')).toHaveLength(1)
    expect(adhoc.requests.filter((request) => request.method === 'POST')).toHaveLength(2)
  })

  it('answers 503 NO_ROUTABLE_BACKEND naming the groups when neither has a healthy backend', async () => {
    const running = await gateway()
    await resetStore(running)
    const etl = await fake('etl2')
    await addBackend(running.url, { name: 'etl2', proxyTo: etl.url, routingGroup: 'etl' })
    await healthy(running, 'etl2')
    etl.setInfo({ starting: true })
    await running.runHealthRound()
    const response = await submit(running.url, 'SELECT 1 PAGES', { 'x-trino-routing-group': 'etl' })
    expect(response.status).toBe(503)
    const body = (await response.json()) as { code: string; message: string }
    expect(body.code).toBe('NO_ROUTABLE_BACKEND')
    expect(body.message).toContain('"etl"')
    expect(body.message).toContain('etl2: active, PENDING')
    expect(body.message).toContain('default group "adhoc" has no backends')
  })

  it('chooses the same backend for the same seed and trace token, whatever the order', async () => {
    const running = await gateway({}, 99)
    await resetStore(running)
    const backends = await Promise.all(['r1', 'r2', 'r3'].map((name) => fake(name)))
    for (const backend of backends)
      await addBackend(running.url, { name: backend.name, proxyTo: backend.url })
    await healthy(running, 'r1', 'r2', 'r3')
    const decisions: RoutingDecisionRecord[] = []
    running.onRoutingDecision((record) => decisions.push(record))
    const tokens = Array.from({ length: 12 }, (_, i) => `trace-${i}`)
    for (const token of tokens) await submit(running.url, 'SELECT 1 PAGES', { 'x-trino-trace-token': token })
    for (const token of [...tokens].reverse())
      await submit(running.url, 'SELECT 1 PAGES', { 'x-trino-trace-token': token })
    const first = new Map<string, string | null>()
    for (const decision of decisions) {
      const token = decision.traceToken as string
      if (!first.has(token)) first.set(token, decision.backend)
      expect(decision.backend).toBe(first.get(token))
      expect(decision.candidates).toEqual(['r1', 'r2', 'r3'])
    }
    expect(new Set(first.values()).size).toBeGreaterThan(1)
  })
})

describe('sticky follow-ups', () => {
  it('polls a query to completion on its backend, with nextUri rewritten to the gateway (history: sync)', async () => {
    // sync: the row is committed before the answer, so it can be read at once.
    const running = await gateway({ routing: { history: 'sync' } })
    await resetStore(running)
    const backends = await Promise.all(['s1', 's2', 's3'].map((name) => fake(name)))
    for (const backend of backends)
      await addBackend(running.url, { name: backend.name, proxyTo: backend.url })
    await healthy(running, 's1', 's2', 's3')
    const response = await submit(running.url, 'SELECT 4 PAGES', { 'x-trino-source': 'tests' })
    expect(response.status).toBe(200)
    const first = (await response.json()) as QueryResults
    // Durable before the client saw the id.
    const [row] = await running.store.query<{
      backend_url: string
      user_name: string
      source: string
      query_text: string
    }>('SELECT backend_url, user_name, source, query_text FROM query_history WHERE query_id = $1', [first.id])
    const owner = backends.find((backend) => backend.queries.has(first.id)) as FakeTrino
    expect(row).toEqual({
      backend_url: owner.url,
      user_name: 'alice',
      source: 'tests',
      query_text: 'SELECT 4 PAGES',
    })
    expect(first.nextUri?.startsWith(`${running.url}/v1/statement/executing/${first.id}/`)).toBe(true)
    expect(first.infoUri).toBe(`${running.url}/ui/query.html?${first.id}`)
    expect(await drain(first)).toEqual([owner.name, owner.name, owner.name, owner.name])
  })

  it('keeps routing a known query to its backend after the backend is deactivated', async () => {
    const running = await gateway()
    await resetStore(running)
    const backend = await fake('d1')
    await addBackend(running.url, { name: 'd1', proxyTo: backend.url })
    await healthy(running, 'd1')
    const first = (await (await submit(running.url, 'SELECT 2 PAGES')).json()) as QueryResults
    expect((await fetch(`${running.url}/gateway/backend/deactivate/d1`, { method: 'POST' })).status).toBe(200)
    expect(await drain(first)).toEqual(['d1', 'd1'])
    expect((await submit(running.url, 'SELECT 1 PAGES')).status).toBe(503)
  })

  it('finds a query no history knows by probing every backend, and 404s a query nobody knows', async () => {
    const running = await gateway()
    await resetStore(running)
    const a = await fake('p1')
    const b = await fake('p2')
    await addBackend(running.url, { name: 'p1', proxyTo: a.url })
    await addBackend(running.url, { name: 'p2', proxyTo: b.url, active: false })
    await healthy(running, 'p1')
    const id = b.createQuery(1)
    const decisions: RoutingDecisionRecord[] = []
    running.onRoutingDecision((record) => decisions.push(record))
    const found = await fetch(`${running.url}/v1/statement/executing/${id}/y0/1`, {
      headers: { 'x-trino-user': 'bob' },
    })
    expect(found.status).toBe(200)
    expect(decisions[0]).toMatchObject({ kind: 'sticky', stickySource: 'probe', backend: 'p2', queryId: id })
    const probe = b.requests.find((request) => request.method === 'HEAD')
    expect(probe?.headers['x-trino-user']).toBe('bob')

    const unknown = '20200101_000000_99999_zzzzz'
    const missing = await fetch(`${running.url}/v1/statement/executing/${unknown}/y0/1`)
    expect(missing.status).toBe(404)
    const body = (await missing.json()) as { code: string; message: string }
    expect(body.code).toBe('QUERY_NOT_FOUND')
    expect(body.message).toContain(unknown)
  })

  it('routes a kill_query call to the backend of the query it names', async () => {
    const running = await gateway()
    await resetStore(running)
    const a = await fake('k1')
    const b = await fake('k2')
    await addBackend(running.url, { name: 'k1', proxyTo: a.url })
    await addBackend(running.url, { name: 'k2', proxyTo: b.url, routingGroup: 'etl' })
    await healthy(running, 'k1', 'k2')
    const first = (await (
      await submit(running.url, 'SELECT 1 PAGES', { 'x-trino-routing-group': 'etl' })
    ).json()) as QueryResults
    const before = b.requests.length
    await submit(running.url, `CALL system.runtime.kill_query(query_id => '${first.id}', message => 'stop')`)
    expect(b.requests.slice(before).map((request) => request.body)).toEqual([
      `CALL system.runtime.kill_query(query_id => '${first.id}', message => 'stop')`,
    ])
  })

  it('follows a query submitted through one gateway to completion through another on the same database', async () => {
    const one = await gateway()
    await resetStore(one)
    const two = await gateway()
    const backends = await Promise.all(['m1', 'm2', 'm3'].map((name) => fake(name)))
    for (const backend of backends) await addBackend(one.url, { name: backend.name, proxyTo: backend.url })
    await healthy(one, 'm1', 'm2', 'm3')
    await two.runHealthRound()
    for (let i = 0; i < 4; i++) {
      const first = (await (await submit(one.url, 'SELECT 3 PAGES')).json()) as QueryResults
      const owner = backends.find((backend) => backend.queries.has(first.id)) as FakeTrino
      const seen = await drain(first, (uri) => uri.replace(one.url, two.url))
      expect(seen).toEqual([owner.name, owner.name, owner.name])
    }
  })

  it('keeps polling on the same backend after the gateway restarts mid-query', async () => {
    const first = await startGateway({ config: testGatewayConfig(database.url), seed: 1, logLevel: 'silent' })
    await resetStore(first)
    const backends = await Promise.all(['x1', 'x2'].map((name) => fake(name)))
    for (const backend of backends) await addBackend(first.url, { name: backend.name, proxyTo: backend.url })
    await healthy(first, 'x1', 'x2')
    const page = (await (await submit(first.url, 'SELECT 3 PAGES')).json()) as QueryResults
    const owner = backends.find((backend) => backend.queries.has(page.id)) as FakeTrino
    const second = await fetch(page.nextUri as string)
    const next = (await second.json()) as QueryResults
    await first.close()
    const restarted = await gateway({}, 2)
    expect(await drain(next, (uri) => uri.replace(first.url, restarted.url))).toEqual([
      owner.name,
      owner.name,
    ])
  })

  it('cancels the query and answers 503 when its id cannot be recorded durably (history: sync)', async () => {
    const running = await gateway({ routing: { history: 'sync' } })
    await resetStore(running)
    const backend = await fake('w1')
    await addBackend(running.url, { name: 'w1', proxyTo: backend.url })
    await healthy(running, 'w1')
    await running.store.query('ALTER TABLE query_history RENAME TO query_history_away')
    try {
      const response = await submit(running.url, 'SELECT 2 PAGES')
      expect(response.status).toBe(503)
      const body = (await response.json()) as { code: string; message: string; details: { queryId: string } }
      expect(body.code).toBe('QUERY_HISTORY_WRITE_FAILED')
      expect(body.message).toContain('w1')
      expect(
        backend.requests.some(
          (request) => request.method === 'DELETE' && request.url === `/v1/query/${body.details.queryId}`,
        ),
      ).toBe(true)
    } finally {
      await running.store.query('ALTER TABLE query_history_away RENAME TO query_history')
    }
  })

  it('answers at once and keeps retrying the row while query_history cannot be written (history: write-behind)', async () => {
    const running = await gateway()
    await resetStore(running)
    const backend = await fake('w2')
    await addBackend(running.url, { name: 'w2', proxyTo: backend.url })
    await healthy(running, 'w2')
    const metric = async (name: string) => {
      const text = await (await fetch(`${running.url}/metrics`)).text()
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`))
      return Number(line?.split(' ').at(-1))
    }
    await running.store.query('ALTER TABLE query_history RENAME TO query_history_away')
    let page: QueryResults
    try {
      const response = await submit(running.url, 'SELECT 2 PAGES')
      expect(response.status).toBe(200)
      page = (await response.json()) as QueryResults
      await waitFor(async () => (await metric('trino_gateway_query_history_write_failures_total')) >= 1, {
        timeoutMs: 10_000,
        what: 'a failed background write',
      })
      expect(await metric('trino_gateway_query_history_rows_pending')).toBe(1)
      // The follow-ups route by token meanwhile.
      expect(await drain(page)).toEqual(['w2', 'w2'])
    } finally {
      await running.store.query('ALTER TABLE query_history_away RENAME TO query_history')
    }
    await waitFor(async () => (await running.store.history.findByQueryId(page.id)) !== undefined, {
      timeoutMs: 10_000,
      what: 'the retried row',
    })
    expect(await metric('trino_gateway_query_history_rows_pending')).toBe(0)
    expect(await metric('trino_gateway_query_history_rows_written_total')).toBe(1)
    expect(backend.requests.some((request) => request.method === 'DELETE')).toBe(false)
  })

  it('keeps routing follow-ups from the cache when query history is disabled, leaving the table empty', async () => {
    const running = await gateway({ dataStore: { queryHistoryEnabled: false } })
    await resetStore(running)
    const backends = await Promise.all(['h1', 'h2'].map((name) => fake(name)))
    for (const backend of backends)
      await addBackend(running.url, { name: backend.name, proxyTo: backend.url })
    await healthy(running, 'h1', 'h2')
    const first = (await (await submit(running.url, 'SELECT 2 PAGES')).json()) as QueryResults
    const owner = backends.find((backend) => backend.queries.has(first.id)) as FakeTrino
    expect(await drain(first)).toEqual([owner.name, owner.name])
    expect(await running.store.query('SELECT * FROM query_history')).toEqual([])
  })
})

describe('forwarding', () => {
  it('passes method, path, query, body and headers, adding Via and appending X-Forwarded-*', async () => {
    const running = await gateway({ extraWhitelistPaths: ['/echo/.*'] })
    await resetStore(running)
    const backend = await fake('f1')
    await addBackend(running.url, { name: 'f1', proxyTo: `${backend.url}/` })
    await healthy(running, 'f1')
    for (const method of ['GET', 'PUT', 'DELETE', 'POST']) {
      const response = await fetch(`${running.url}/echo/x?a=1`, {
        method,
        headers: { 'x-forwarded-for': '1.2.3.4', 'x-custom': 'kept', 'accept-encoding': 'gzip' },
        ...(method === 'PUT' || method === 'POST' ? { body: `${method} body` } : {}),
      })
      expect(response.status).toBe(200)
      const echo = (await response.json()) as {
        method: string
        url: string
        body: string
        headers: Record<string, string>
      }
      expect(echo.method).toBe(method)
      expect(echo.url).toBe('/echo/x?a=1')
      expect(echo.body).toBe(method === 'PUT' || method === 'POST' ? `${method} body` : '')
      expect(echo.headers['x-custom']).toBe('kept')
      expect(echo.headers['accept-encoding']).toBeUndefined()
      expect(echo.headers.via).toBe('HTTP/1.1 TrinoGateway')
      expect(echo.headers['x-forwarded-for']).toBe('1.2.3.4, 127.0.0.1')
      expect(echo.headers['x-forwarded-host']).toBe('127.0.0.1')
      expect(echo.headers['x-forwarded-port']).toBe(String(running.port))
      expect(echo.headers.host).toBe(new URL(backend.url).host)
    }
    const head = await fetch(`${running.url}/echo/x`, { method: 'HEAD' })
    expect(head.status).toBe(200)
  })

  it('forwards a POST whose client sent Expect: 100-continue (curl does for bodies over 1 KiB)', async () => {
    const running = await gateway({ extraWhitelistPaths: ['/echo/.*'] })
    await resetStore(running)
    const backend = await fake('f1')
    await addBackend(running.url, { name: 'f1', proxyTo: backend.url })
    await healthy(running, 'f1')
    const body = 'x'.repeat(2048)
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const client = httpRequest(`${running.url}/echo/expect`, {
        method: 'POST',
        headers: { expect: '100-continue', 'content-length': String(body.length) },
      })
      client.on('continue', () => client.end(body))
      client.on('error', reject)
      client.on('response', (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          text += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }))
      })
    })
    expect(answer.status).toBe(200)
    const echo = JSON.parse(answer.text) as { body: string; headers: Record<string, string> }
    expect(echo.body).toBe(body)
    expect(echo.headers.expect).toBeUndefined()
  })

  it('strips every forwarded header when routing.forwardedHeadersEnabled is false', async () => {
    const running = await gateway({
      extraWhitelistPaths: ['/echo/.*'],
      routing: { forwardedHeadersEnabled: false },
    })
    await resetStore(running)
    const backend = await fake('f2')
    await addBackend(running.url, { name: 'f2', proxyTo: backend.url })
    await healthy(running, 'f2')
    const response = await fetch(`${running.url}/echo/y`, {
      headers: { forwarded: 'for=1.1.1.1', 'x-forwarded-host': 'evil.example', 'X-Forwarded-Proto': 'https' },
    })
    const echo = (await response.json()) as { headers: Record<string, string> }
    expect(Object.keys(echo.headers).filter((name) => name.includes('forwarded'))).toEqual([])
  })

  it('leaves nextUri as the backend wrote it when routing.rewriteNextUri is false', async () => {
    const running = await gateway({ routing: { rewriteNextUri: false } })
    await resetStore(running)
    const backend = await fake('n1')
    await addBackend(running.url, { name: 'n1', proxyTo: backend.url })
    await healthy(running, 'n1')
    const first = (await (await submit(running.url, 'SELECT 2 PAGES')).json()) as QueryResults
    expect(first.nextUri?.startsWith(backend.url)).toBe(true)
  })

  it('answers 502 naming the backend when it refuses connections, 504 when it is too slow', async () => {
    const running = await gateway({
      clusterStatsConfiguration: { monitorType: 'NOOP' },
      routing: { asyncTimeout: '300ms' },
    })
    await resetStore(running)
    const dead = await fake('dead')
    await dead.close()
    await addBackend(running.url, { name: 'dead', proxyTo: dead.url })
    await healthy(running, 'dead')
    const refused = await submit(running.url, 'SELECT 1 PAGES')
    expect(refused.status).toBe(502)
    const refusedBody = (await refused.json()) as { code: string; message: string }
    expect(refusedBody.code).toBe('BACKEND_UNREACHABLE')
    expect(refusedBody.message).toContain('dead')
    expect(refusedBody.message).toContain('ECONNREFUSED')

    const slow = await fake('slow')
    await fetch(`${running.url}/gateway/backend/modify/delete`, { method: 'POST', body: 'dead' })
    await addBackend(running.url, { name: 'slow', proxyTo: slow.url })
    await healthy(running, 'slow')
    const timedOut = await submit(running.url, 'SLEEP 2000')
    expect(timedOut.status).toBe(504)
    const timedOutBody = (await timedOut.json()) as { code: string; message: string }
    expect(timedOutBody.code).toBe('BACKEND_TIMEOUT')
    expect(timedOutBody.message).toContain('slow')
  })

  it('aborts the backend stream when the client goes away mid-result', async () => {
    const running = await gateway()
    await resetStore(running)
    const backend = await fake('g1')
    await addBackend(running.url, { name: 'g1', proxyTo: backend.url })
    await healthy(running, 'g1')
    const abort = new AbortController()
    const response = await submit(running.url, `BIG ${200 * 1024 * 1024}`, {}, abort.signal)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    abort.abort()
    await waitFor(() => backend.abortedStreams === 1, {
      timeoutMs: 10_000,
      what: 'the backend to see its reader go away',
    })
    // The gateway still serves others.
    expect((await submit(running.url, 'SELECT 1 PAGES')).status).toBe(200)
  })

  it('answers 404 for paths that are neither proxied nor gateway resources, 405 for other methods', async () => {
    const running = await gateway()
    expect((await fetch(`${running.url}/invalid`, { method: 'POST' })).status).toBe(404)
    const patch = await fetch(`${running.url}/v1/statement`, { method: 'PATCH' })
    expect(patch.status).toBe(405)
    expect(((await patch.json()) as { code: string }).code).toBe('PROXY_METHOD_NOT_ALLOWED')
  })
})
