/**
 * Every probe against a real mock-trino on a loopback port: the counts must be the ones the mock
 * really has. Failure cases run against a tiny HTTP server answering 400, 500 or invalid JSON, and
 * against a closed port.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../../common/wait.ts'
import { type RunningMockTrino, startMockTrino } from '../../../mock-trino/index.ts'
import type { BackendRecord } from '../../store/types.ts'
import {
  createStatsProbe,
  defaultMetricsProbeConfig,
  type ProbeContext,
  type StatsMonitorType,
} from './index.ts'

const dispatcher = new Agent({ connections: 16 })
const context: ProbeContext = {
  dispatcher,
  backendState: { username: 'monitor', password: '', ssl: false, xForwardedProtoHeader: false },
  requestTimeoutMs: 5_000,
  retries: 0,
}
const settings = { metrics: defaultMetricsProbeConfig, queryTimeoutMs: 10_000 }

function backendAt(url: string): BackendRecord {
  return { name: 'c', routingGroup: 'adhoc', proxyTo: url, externalUrl: url, active: true }
}

const probe = (type: StatsMonitorType, url: string, overrides: Partial<typeof settings> = {}) =>
  createStatsProbe(type, context, { ...settings, ...overrides })(backendAt(url))

async function submit(mock: RunningMockTrino, user: string): Promise<string> {
  const response = await request(`${mock.url}/v1/statement`, {
    method: 'POST',
    headers: { 'x-trino-user': user },
    body: 'SELECT * FROM lineitem /* mock: duration=60s */',
    dispatcher,
  })
  const body = (await response.body.json()) as { nextUri: string }
  return body.nextUri
}

describe('cluster-stats probes against mock-trino', () => {
  let mock: RunningMockTrino
  beforeAll(async () => {
    // Two queries polled once (submitted, so RUNNING) and three only POSTed (QUEUED until their
    // first poll): both counts are non-zero while a slot stays free for the JDBC monitor's query.
    mock = await startMockTrino({ name: 'probed', seed: 3 })
    const running = [await submit(mock, 'alice'), await submit(mock, 'bob')]
    for (const user of ['alice', 'alice', 'carol']) await submit(mock, user)
    await Promise.all(
      running.map((uri) => request(`${uri}?maxWait=10ms`, { dispatcher }).then((r) => r.body.dump())),
    )
    await waitFor(() => mock.control.counts().running === 2, {
      timeoutMs: 5_000,
      what: 'two running queries',
    })
  })
  afterAll(async () => {
    await mock.close()
  })

  const truth = () => {
    const counts = mock.control.counts()
    const queuedByUser: Record<string, number> = {}
    for (const query of mock.control.queries().filter((q) => q.state === 'QUEUED')) {
      queuedByUser[query.user] = (queuedByUser[query.user] ?? 0) + 1
    }
    return { running: counts.running, queued: counts.queued, queuedByUser }
  }

  it.each(['UI_API', 'METRICS', 'JMX', 'JDBC'] as const)(
    '%s reports HEALTHY with the counts the mock has',
    async (type) => {
      const result = await probe(type, mock.url)
      const expected = truth()
      expect(expected).toMatchObject({ running: 2, queued: 3 })
      expect(result).toMatchObject({
        trinoStatus: 'HEALTHY',
        runningQueryCount: expected.running,
        queuedQueryCount: expected.queued,
      })
      if (type === 'UI_API') expect(result.userQueuedCount).toEqual(expected.queuedByUser)
      else expect(result.userQueuedCount).toBeNull()
    },
  )

  it('JDBC leaves out the monitor user’s own queries', async () => {
    const before = truth()
    const first = await probe('JDBC', mock.url)
    const second = await probe('JDBC', mock.url)
    expect(first).toMatchObject({ runningQueryCount: before.running, queuedQueryCount: before.queued })
    expect(second).toMatchObject({ runningQueryCount: before.running, queuedQueryCount: before.queued })
    expect(mock.control.queries().filter((q) => q.user === 'monitor').length).toBeGreaterThanOrEqual(2)
  })

  it.each([
    [{ trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount: 100 }, {}, 'UNHEALTHY'],
    [{}, { trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount: 0.5 }, 'UNHEALTHY'],
    [{ trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount: 0.5 }, {}, 'HEALTHY'],
    [{}, { trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount: 100 }, 'HEALTHY'],
  ])(
    'METRICS with minimum %j and maximum %j reports %s',
    async (metricMinimumValues, metricMaximumValues, status) => {
      const result = await probe('METRICS', mock.url, {
        metrics: { ...defaultMetricsProbeConfig, metricMinimumValues, metricMaximumValues },
      })
      expect(result.trinoStatus).toBe(status)
    },
  )
})

describe('cluster-stats probes when the cluster misbehaves', () => {
  let server: Server
  let url: string
  let closedUrl: string
  let answer: { status: number; body: string } = { status: 200, body: '{}' }
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(answer.body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
    await new Promise<void>((resolve) => closed.close(() => resolve()))
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await dispatcher.close()
  })

  // JMX and METRICS: UNHEALTHY (reference §7); UI_API: UNKNOWN without a usable answer; JDBC: UNKNOWN.
  const expectedFailure: Record<StatsMonitorType, string> = {
    JMX: 'UNHEALTHY',
    METRICS: 'UNHEALTHY',
    UI_API: 'UNKNOWN',
    JDBC: 'UNKNOWN',
  }
  const cases = [
    ['a 400', { status: 400, body: '{"message":"bad"}' }],
    ['a 500', { status: 500, body: '{"message":"boom"}' }],
    ['invalid JSON', { status: 200, body: '{"attributes": [' }],
  ] as const
  for (const type of ['JMX', 'METRICS', 'UI_API', 'JDBC'] as const) {
    for (const [what, reply] of cases) {
      it(`${type} reports ${expectedFailure[type]} on ${what}`, async () => {
        answer = reply
        const result = await probe(type, url)
        expect(result.trinoStatus).toBe(expectedFailure[type])
        expect(result.problem).toBeTruthy()
      })
    }
    it(`${type} reports ${expectedFailure[type]} on a network error`, async () => {
      const result = await probe(type, closedUrl)
      expect(result.trinoStatus).toBe(expectedFailure[type])
      expect(result.problem).toMatch(/ECONNREFUSED|connect/i)
    })
  }
})
