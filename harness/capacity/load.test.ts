/**
 * The autocannon request sequences against a real mock coordinator on a loopback port: a query is
 * a POST and its polls, every sequence ends with its query, and the counters add up. Short and
 * without timing assertions: the figures themselves belong to `npm run capacity`.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockTrino } from '../../mock-trino/index.ts'
import { probeRequestsPerQuery, runStep, type TrinoLoad } from './load.ts'
import { capacitySql } from './run.ts'

let mock: Awaited<ReturnType<typeof startMockTrino>>
const headers = { 'x-trino-user': 'capacity-test' }

beforeAll(async () => {
  mock = await startMockTrino({ name: 'capacity-test', seed: 3 })
})
afterAll(async () => {
  await mock?.close()
})

describe('Trino protocol sequences', () => {
  it('probes the requests one query takes: POST, queued poll, executing poll with the row, last poll', async () => {
    expect(await probeRequestsPerQuery({ baseUrl: mock.url, sql: capacitySql, headers })).toBe(4)
  })

  it('refuses a query that fails instead of measuring errors as throughput', async () => {
    await expect(
      probeRequestsPerQuery({ baseUrl: mock.url, sql: 'SELECT 1 /* mock: fail=QUERY_REJECTED */', headers }),
    ).rejects.toThrow(/the query failed/)
  })

  it('runs every query of a closed-loop step to its end through the sequence', async () => {
    const before = mock.control.counts()
    const load: TrinoLoad = { baseUrl: mock.url, sql: capacitySql, headers, requestsPerQuery: 4 }
    const step = await runStep(load, { connections: 2, durationS: 1 })
    expect(step.requests).toBeGreaterThan(0)
    expect(step.errors + step.non2xx + step.timeouts + step.resets + step.unfinishedQueries).toBe(0)
    // Every finished query used exactly its 4 requests; each of the 2 connections may have stopped
    // with one query begun (1 to 3 requests sent), or with the last answer of a query the mock
    // already counted as finished still on its way (not counted by autocannon).
    const finished = mock.control.counts().finished - before.finished
    expect(finished).toBeGreaterThan(0)
    expect(step.requests).toBeGreaterThanOrEqual(4 * finished - 2)
    expect(step.requests).toBeLessThanOrEqual(4 * finished + 2 * 3)
    expect(step.latencyMs.p50).toBeLessThanOrEqual(step.latencyMs.max)
  })

  it('caps an open-loop step at the offered count and corrects its latencies', async () => {
    const load: TrinoLoad = { baseUrl: mock.url, sql: capacitySql, headers, requestsPerQuery: 4 }
    const step = await runStep(load, { connections: 4, durationS: 1, offeredRequestsPerSecond: 16 })
    expect(step.requests).toBeLessThanOrEqual(16)
    // Answered plus never sent is at most what was offered: nothing beyond the cap was sent.
    expect(step.requests + step.droppedRequests).toBeLessThanOrEqual(16)
    expect(step.errors + step.non2xx + step.unfinishedQueries).toBe(0)
  })

  it('stops a step early when asked', async () => {
    const load: TrinoLoad = { baseUrl: mock.url, sql: capacitySql, headers, requestsPerQuery: 4 }
    const stop = new AbortController()
    stop.abort()
    const step = await runStep(load, { connections: 1, durationS: 30, stop: stop.signal })
    expect(step.durationS).toBeLessThan(30)
  })

  it('splits latencies into statement submissions and follow-ups by the position in the sequence', async () => {
    // A two-request protocol whose POST takes 40 ms and whose follow-up is answered at once.
    const server = createServer((request, response) => {
      const answer = (body: object) => {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(JSON.stringify(body))
      }
      request.resume()
      if (request.method === 'POST')
        setTimeout(() => answer({ id: 'q', nextUri: 'http://x/v1/statement/q/1' }), 40)
      else answer({ id: 'q' })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const step = await runStep(
        { baseUrl, sql: 'SELECT 1', headers, requestsPerQuery: 2 },
        { connections: 2, durationS: 1 },
      )
      expect(step.latencyMsByKind).not.toBeNull()
      // Every POST waited 40 ms and no follow-up did: a split by anything else would mix them.
      expect(step.latencyMsByKind?.submission.p50).toBeGreaterThanOrEqual(39)
      expect(step.latencyMsByKind?.followUp.p99).toBeLessThan(39)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
