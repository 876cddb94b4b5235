/**
 * Issue 3, "through the gateway": a real Trino client (npm trino-client) completes queries against
 * mock coordinators while only ever talking to the gateway.
 */
import { BasicAuth, type QueryResult, Trino } from 'trino-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { type RunningGateway, startGateway } from '../gateway/index.ts'
import { addBackend, stateOf, testGatewayConfig } from '../gateway/test-support/gateway.ts'
import { openTestDatabase, type TestDatabase } from '../test-support/database.ts'
import { type RunningMockTrino, startMockTrino } from './index.ts'

let database: TestDatabase
let gateway: RunningGateway
const mocks: RunningMockTrino[] = []

beforeAll(async () => {
  database = await openTestDatabase()
  gateway = await startGateway({
    config: testGatewayConfig(database.url, {
      routing: { tokenKeys: [{ id: 'k1', secret: 'through-the-gateway-secret-0123456789' }] },
    }),
    seed: 7,
    logLevel: 'silent',
  })
  // One coordinator builds nextUri from X-Forwarded-* (like http-server.process-forwarded=true), the
  // other does not: the client must reach neither directly either way.
  for (const [name, processForwarded] of [
    ['trino-a', true],
    ['trino-b', false],
  ] as const) {
    const mock = await startMockTrino({
      name,
      seed: 7,
      coordinator: { processForwarded },
      logLevel: 'silent',
    })
    mocks.push(mock)
    await addBackend(gateway.url, { name, proxyTo: mock.url, routingGroup: 'adhoc' })
  }
  for (const mock of mocks) {
    await waitFor(async () => (await stateOf(gateway.url, mock.name)) === 'HEALTHY', {
      timeoutMs: 10_000,
      what: `${mock.name} to be HEALTHY`,
    })
  }
})

afterAll(async () => {
  await gateway?.close()
  await Promise.all(mocks.map((mock) => mock.close()))
  await database?.close()
})

function client(): Trino {
  return Trino.create({
    server: gateway.url,
    catalog: 'iceberg',
    schema: 'sales',
    source: 'vitest',
    auth: new BasicAuth('alice'),
  })
}

async function collect(trino: Trino, sql: string): Promise<QueryResult[]> {
  const results: QueryResult[] = []
  for await (const result of await trino.query(sql)) results.push(result)
  return results
}

describe('trino-client through the gateway', () => {
  it('completes queries on both clusters while every nextUri points at the gateway', async () => {
    const stickySources: (string | null)[] = []
    const unsubscribe = gateway.onRoutingDecision((record) => {
      if (record.kind === 'sticky') stickySources.push(record.stickySource)
    })
    const trino = client()
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        collect(trino, `SELECT ${i} AS n /* mock: rows=2 duration=50ms */`),
      ),
    )
    for (const [i, results] of runs.entries()) {
      expect(results.flatMap((r) => r.data ?? [])).toEqual([[i], [i]])
      expect(results.at(-1)?.stats?.state).toBe('FINISHED')
      for (const result of results) {
        if (result.nextUri !== undefined) {
          expect(result.nextUri.startsWith(gateway.url)).toBe(true)
          expect(result.nextUri).toContain('tgRoute=k1.')
        }
        if (result.infoUri !== undefined) expect(result.infoUri.startsWith(gateway.url)).toBe(true)
      }
    }
    unsubscribe()
    // Every poll the client made was routed by the token the gateway put into its nextUri.
    expect(stickySources.length).toBeGreaterThanOrEqual(12)
    expect(new Set(stickySources)).toEqual(new Set(['token']))
    const served = mocks.map((mock) => mock.control.queries().filter((q) => q.sql.includes('AS n')).length)
    expect(served.reduce((a, b) => a + b, 0)).toBe(12)
    // Every request a coordinator saw came through the gateway.
    for (const mock of mocks) {
      for (const query of mock.control.queries()) expect(query.headers.via).toMatch(/TrinoGateway/)
    }
  })

  it('cancels through the gateway and delivers Trino errors by name', async () => {
    const trino = client()
    const pending = collect(trino, 'SELECT 1 /* mock: duration=30s */')
    const running = await waitFor(
      () =>
        mocks
          .flatMap((mock) => mock.control.queries())
          .find((q) => q.sql.includes('30s') && q.state === 'RUNNING'),
      { timeoutMs: 10_000, what: 'the long query to run' },
    )
    await trino.cancel(running.queryId)
    expect((await pending).at(-1)?.error?.errorName).toBe('USER_CANCELED')

    const failed = await collect(trino, 'SELECT 1 /* mock: fail=EXCEEDED_TIME_LIMIT */')
    expect(failed.at(-1)?.error).toMatchObject({
      errorName: 'EXCEEDED_TIME_LIMIT',
      errorType: 'INSUFFICIENT_RESOURCES',
    })
  })
})
