import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { clientSchema } from '../scenario/schema.ts'
import { arrivalOffsetsMs, driveClient, headersFor, sqlFor } from './driver.ts'
import { rebase, runQuery } from './trino-client.ts'

/**
 * A tiny fake of the statement protocol: POST answers QUEUED, the queued URI answers RUNNING with a
 * row, the executing URI answers FINISHED. Behaviours are switched per test through `plan`.
 */
interface Plan {
  /** Statuses to answer, in order, before the normal answer of a path kind. */
  postStatuses: number[]
  getStatuses: number[]
  failWith?: string
  /** Holds the executing answer until released, to observe concurrency. */
  holdExecuting?: Promise<void>
}

let server: Server
let baseUrl: string
let plan: Plan
let seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = []
let inFlight = 0
let inFlightPeak = 0
let counter = 0
const agent = new Agent({ connections: 64 })

function reply(res: ServerResponse, status: number, body?: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8')
    })
    req.on('end', async () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      const url = new URL(req.url ?? '/', baseUrl)
      if (req.method === 'POST' && url.pathname === '/v1/statement') {
        const status = plan.postStatuses.shift()
        if (status !== undefined) return reply(res, status, 'try again')
        const id = `20240101_000000_${String(++counter).padStart(5, '0')}_abcde`
        inFlight++
        inFlightPeak = Math.max(inFlightPeak, inFlight)
        return reply(res, 200, {
          id,
          nextUri: `${baseUrl}/v1/statement/queued/${id}/y/1`,
          stats: { state: 'QUEUED' },
        })
      }
      const [, , , kind, id] = url.pathname.split('/')
      if (req.method === 'GET' && kind === 'queued') {
        const status = plan.getStatuses.shift()
        if (status !== undefined) return reply(res, status)
        if (plan.failWith !== undefined) {
          inFlight--
          return reply(res, 200, {
            id,
            stats: { state: 'FAILED' },
            error: { errorName: plan.failWith, message: 'no' },
          })
        }
        return reply(res, 200, {
          id,
          nextUri: `${baseUrl}/v1/statement/executing/${id}/y/0`,
          data: [[1], [2]],
          stats: { state: 'RUNNING' },
        })
      }
      if (req.method === 'GET' && kind === 'executing') {
        await plan.holdExecuting
        inFlight--
        return reply(res, 200, { id, data: [[3]], stats: { state: 'FINISHED' } })
      }
      if (req.method === 'DELETE') return reply(res, 204)
      return reply(res, 404)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterEach(() => {
  plan = { postStatuses: [], getStatuses: [] }
  seen = []
  inFlight = 0
  inFlightPeak = 0
})

afterAll(async () => {
  await agent.close()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

plan = { postStatuses: [], getStatuses: [] }

const query = (overrides: Partial<Parameters<typeof runQuery>[0]> = {}) =>
  runQuery({
    gatewayUrls: [baseUrl],
    submitGateway: 0,
    sql: 'SELECT 1',
    headers: { 'X-Trino-User': 'alice', 'X-Trino-Trace-Token': 's/c/1', 'X-Trino-Source': 'test' },
    queryTimeoutMs: 10_000,
    dispatcher: agent,
    ...overrides,
  })

describe('Trino protocol client', () => {
  it('posts the SQL and follows nextUri to the end, counting rows', async () => {
    const outcome = await query()
    expect(outcome).toMatchObject({ state: 'FINISHED', rows: 3, requests: 3, httpErrorCount: 0 })
    expect(outcome.queryId).toMatch(/^20240101_/)
    expect(seen.map((r) => `${r.method} ${r.url.split('/').slice(0, 4).join('/')}`)).toEqual([
      'POST /v1/statement',
      'GET /v1/statement/queued',
      'GET /v1/statement/executing',
    ])
    expect(seen[0]?.body).toBe('SELECT 1')
    expect(seen[0]?.headers['x-trino-source']).toBe('test')
    // Follow-ups carry the user and trace token, not the whole session.
    expect(seen[1]?.headers['x-trino-trace-token']).toBe('s/c/1')
    expect(seen[1]?.headers['x-trino-source']).toBeUndefined()
    expect(outcome.queuedMs + outcome.runMs).toBe(outcome.totalMs)
  })

  it('retries 503 and 502 and records them as gateway errors that were retried', async () => {
    plan.postStatuses = [503]
    plan.getStatuses = [502]
    const outcome = await query()
    expect(outcome.state).toBe('FINISHED')
    expect(outcome.httpErrors).toEqual([
      { method: 'POST', gateway: 0, status: 503, retried: true },
      { method: 'GET', gateway: 0, status: 502, retried: true },
    ])
  })

  it('gives up after the bounded number of attempts', async () => {
    plan.postStatuses = Array.from({ length: 20 }, () => 429)
    const outcome = await query()
    expect(outcome).toMatchObject({
      state: 'FAILED',
      errorName: 'HTTP_RETRIES_EXHAUSTED',
      httpErrorCount: 10,
    })
  })

  it('fails at once on a status that is not retried, naming it', async () => {
    plan.postStatuses = [500]
    const outcome = await query()
    expect(outcome).toMatchObject({ state: 'FAILED', errorName: 'HTTP_500', requests: 1 })
  })

  it('reports the Trino error name of a failed query', async () => {
    plan.failWith = 'QUERY_QUEUE_FULL'
    const outcome = await query()
    expect(outcome).toMatchObject({ state: 'FAILED', errorName: 'QUERY_QUEUE_FULL', errorMessage: 'no' })
  })

  it('cancels and reports CLIENT_TIMEOUT when the query outlives its timeout', async () => {
    let release = () => {}
    plan.holdExecuting = new Promise((resolve) => {
      release = resolve
    })
    const outcome = await query({ queryTimeoutMs: 300 })
    release()
    expect(outcome).toMatchObject({ state: 'FAILED', errorName: 'CLIENT_TIMEOUT' })
  })

  it('names a refused connection', async () => {
    const outcome = await query({ gatewayUrls: ['http://127.0.0.1:1'], queryTimeoutMs: 2000 })
    expect(outcome).toMatchObject({ state: 'FAILED', errorName: 'CONNECTION_FAILED' })
  })

  it('rebases a nextUri onto another gateway, keeping path and query', () => {
    expect(
      rebase('http://127.0.0.1:1000/v1/statement/queued/q/y/1?maxWait=1s', 'http://127.0.0.1:2000'),
    ).toBe('http://127.0.0.1:2000/v1/statement/queued/q/y/1?maxWait=1s')
  })
})

describe('client workload driver', () => {
  const spec = (raw: Record<string, unknown>) => clientSchema.parse({ name: 'c', sql: 'SELECT 1', ...raw })

  it('keeps at most `concurrency` queries in flight and runs exactly `queries`', async () => {
    let release = () => {}
    plan.holdExecuting = new Promise((resolve) => {
      release = resolve
    })
    const done = driveClient({
      spec: spec({ queries: 7, concurrency: 3 }),
      scenario: 's',
      seed: 1,
      gatewayUrls: [baseUrl],
      dispatcher: agent,
    })
    await expect.poll(() => inFlight, { timeout: 5000 }).toBe(3)
    release()
    const queries = await done
    expect(inFlightPeak).toBe(3)
    expect(queries.map((q) => q.traceToken)).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `s/c/${n}`))
    expect(
      new Set(seen.filter((r) => r.method === 'POST').map((r) => r.headers['x-trino-trace-token'])).size,
    ).toBe(7)
  })

  it('submits an open-loop client without waiting for queries to end', async () => {
    let release = () => {}
    plan.holdExecuting = new Promise((resolve) => {
      release = resolve
    })
    const done = driveClient({
      spec: spec({ queries: 5, arrivalRatePerSecond: 200, arrivalProcess: 'uniform' }),
      scenario: 's',
      seed: 1,
      gatewayUrls: [baseUrl],
      dispatcher: agent,
    })
    await expect.poll(() => inFlight, { timeout: 5000 }).toBe(5)
    release()
    expect((await done).every((q) => q.outcome.state === 'FINISHED')).toBe(true)
  })

  it('sends waves: a monitor round, the POSTs one at a time, every query past its first poll before the next round', async () => {
    let release = () => {}
    plan.holdExecuting = new Promise((resolve) => {
      release = resolve
    })
    const rounds: string[] = []
    const done = driveClient({
      spec: spec({ queries: 5, waves: { size: 2 } }),
      scenario: 's',
      seed: 1,
      gatewayUrls: [baseUrl],
      dispatcher: agent,
      monitorRound: async () => {
        const posts = seen.filter((r) => r.method === 'POST').length
        const firstPolls = seen.filter((r) => r.url.includes('/queued/')).length
        rounds.push(`round after ${posts} POSTs, ${firstPolls} first polls`)
      },
    })
    // Every query submitted while none has ended: the waves do not wait for queries to end.
    await expect.poll(() => inFlight, { timeout: 5000 }).toBe(5)
    release()
    expect((await done).every((q) => q.outcome.state === 'FINISHED')).toBe(true)
    expect(rounds).toEqual([
      'round after 0 POSTs, 0 first polls',
      'round after 2 POSTs, 2 first polls',
      'round after 4 POSTs, 4 first polls',
    ])
    const posts = seen.filter((r) => r.method === 'POST').map((r) => r.headers['x-trino-trace-token'])
    expect(posts).toEqual([1, 2, 3, 4, 5].map((n) => `s/c/${n}`))
    const queuedPolls = seen.filter((r) => r.url.includes('/queued/'))
    expect(queuedPolls.every((r) => r.url.endsWith('?maxWait=0s'))).toBe(true)
  })

  it('refuses waves without a way to run monitor rounds, and waves with concurrency', async () => {
    await expect(
      driveClient({
        spec: spec({ queries: 2, waves: { size: 1 } }),
        scenario: 's',
        seed: 1,
        gatewayUrls: [baseUrl],
        dispatcher: agent,
      }),
    ).rejects.toThrow(/monitor rounds/)
    expect(() => spec({ queries: 2, waves: { size: 1 }, concurrency: 2 })).toThrow(/waves alone/)
  })

  it('draws arrival times and SQL from the seed and trace token only', () => {
    const open = spec({ queries: 50, arrivalRatePerSecond: 10 })
    const offsets = arrivalOffsetsMs(open, 's', 42)
    expect(offsets).toEqual(arrivalOffsetsMs(open, 's', 42))
    expect(offsets).not.toEqual(arrivalOffsetsMs(open, 's', 43))
    expect(offsets[0]).toBe(0)
    expect(offsets.every((offset, i) => i === 0 || offset >= (offsets[i - 1] as number))).toBe(true)
    // 50 exponential gaps of mean 100 ms: far from 0 and far from 50 s.
    expect(offsets.at(-1)).toBeGreaterThan(1000)
    expect(offsets.at(-1)).toBeLessThan(20_000)
    const many = spec({ sql: ['SELECT 1', 'SELECT 2', 'SELECT 3'] })
    expect(sqlFor(many, 1, 's/c/9')).toBe(sqlFor(many, 1, 's/c/9'))
    const drawn = new Set(Array.from({ length: 30 }, (_, i) => sqlFor(many, 1, `s/c/${i}`)))
    expect(drawn.size).toBe(3)
  })

  it('turns declared headers into Trino headers', () => {
    const headers = headersFor(
      spec({
        headers: {
          user: 'admin',
          source: 'collegues',
          clientTags: ['LargeCustomer', 'x'],
          routingGroup: 'internal',
          session: { query_priority: 2, foo: 'a b' },
          catalog: 'iceberg',
          schema: 'db',
          extra: { 'X-Trino-Client-Info': 'harness' },
        },
      }),
      's/c/1',
    )
    expect(headers).toEqual({
      'X-Trino-User': 'admin',
      'X-Trino-Trace-Token': 's/c/1',
      'X-Trino-Source': 'collegues',
      'X-Trino-Client-Tags': 'LargeCustomer,x',
      'X-Trino-Routing-Group': 'internal',
      'X-Trino-Catalog': 'iceberg',
      'X-Trino-Schema': 'db',
      'X-Trino-Session': 'query_priority=2,foo=a%20b',
      'X-Trino-Client-Info': 'harness',
    })
  })
})
