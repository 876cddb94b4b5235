/**
 * The query-count router inside a real gateway: two mock-trino clusters on loopback, the UI_API
 * monitor measuring them, `/api/public/backends/{name}/state` showing the router's counts.
 */
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningMockTrino, startMockTrino } from '../../mock-trino/index.ts'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import type { ClusterStats } from '../clusters/trino-status.ts'
import { type RunningGateway, startGateway } from '../index.ts'
import { addBackend, testGatewayConfig } from '../test-support/gateway.ts'
import { queryCountBasedRouterModule } from './query-count-router.ts'

let database: TestDatabase
let busy: RunningMockTrino
let idle: RunningMockTrino
let gateway: RunningGateway

async function post(url: string, user: string): Promise<{ id: string }> {
  const response = await request(`${url}/v1/statement`, {
    method: 'POST',
    headers: { 'x-trino-user': user },
    body: 'SELECT 1 /* mock: duration=60s */',
  })
  expect(response.statusCode).toBe(200)
  return (await response.body.json()) as { id: string }
}

async function state(name: string): Promise<ClusterStats> {
  const response = await request(`${gateway.url}/api/public/backends/${name}/state`)
  return (await response.body.json()) as ClusterStats
}

beforeAll(async () => {
  database = await openTestDatabase()
  busy = await startMockTrino({ name: 'a-busy', seed: 1 })
  idle = await startMockTrino({ name: 'b-idle', seed: 2 })
  // Three queries of alice wait on a-busy (POSTed, never polled: QUEUED).
  for (let i = 0; i < 3; i++) await post(busy.url, 'alice')
  gateway = await startGateway({
    config: testGatewayConfig(database.url, {
      modules: [queryCountBasedRouterModule],
      clusterStatsConfiguration: { monitorType: 'UI_API' },
      backendState: { username: 'monitor' },
    }),
    seed: 5,
    logLevel: 'silent',
  })
  await addBackend(gateway.url, { name: 'a-busy', proxyTo: busy.url })
  await addBackend(gateway.url, { name: 'b-idle', proxyTo: idle.url })
  await gateway.runHealthRound()
})

afterAll(async () => {
  await gateway?.close()
  await busy?.close()
  await idle?.close()
  await database?.close()
})

describe('QueryCountBasedRouter in the gateway', () => {
  it('shows the measured counts, per-user queue included, on /api/public/backends/{name}/state', async () => {
    expect(await state('a-busy')).toMatchObject({
      trinoStatus: 'HEALTHY',
      queuedQueryCount: 3,
      runningQueryCount: 0,
      userQueuedCount: { alice: 3 },
    })
    expect(await state('b-idle')).toMatchObject({
      trinoStatus: 'HEALTHY',
      queuedQueryCount: 0,
      userQueuedCount: {},
    })
  })

  it('sends a new query to the cluster with the shorter queue and counts it there until the next round', async () => {
    const { id } = await post(gateway.url, 'bob')
    expect(idle.control.queries().map((query) => query.queryId)).toContain(id)
    expect(busy.control.queries().map((query) => query.queryId)).not.toContain(id)
    // The optimistic local increment, visible before any monitor round.
    expect((await state('b-idle')).runningQueryCount).toBe(1)
    await gateway.runHealthRound()
    // The round replaces it with what the cluster reports: the query waits for its first poll.
    expect(await state('b-idle')).toMatchObject({ runningQueryCount: 0, queuedQueryCount: 1 })
  })

  it('keeps sending work away from the cluster with a queue while the other has none', async () => {
    await gateway.runHealthRound()
    const before = busy.control.queries().length
    for (let i = 0; i < 3; i++) await post(gateway.url, 'carol')
    // b-idle has a queue of one now, a-busy of three: all three go to b-idle.
    expect(busy.control.queries().length).toBe(before)
  })
})
