/**
 * Two gateway processes on one database, with no routing.tokenKeys: a query submitted through one is
 * polled to completion through the other, which has never seen it. Each process signs with a key of
 * its own, so the other's token is no claim: the second process finds the query in `query_history`
 * (or, while the row is still in the first's write-behind buffer, by probing the backends).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../test-support/database.ts'
import { type FakeTrino, startFakeTrino } from './test-support/fake-trino.ts'
import { addBackend, stateOf } from './test-support/gateway.ts'
import { type GatewayProcess, processConfigLines, startGatewayProcess } from './test-support/process.ts'

interface QueryResults {
  id: string
  nextUri?: string
}

let database: TestDatabase
let workDir: string
const backends: FakeTrino[] = []
const gateways: GatewayProcess[] = []

beforeAll(async () => {
  database = await openTestDatabase()
  workDir = await mkdtemp(join(tmpdir(), 'tgl-two-gateways-'))
  for (const name of ['m1', 'm2', 'm3']) backends.push(await startFakeTrino(name))
  for (const which of ['one', 'two']) {
    gateways.push(
      await startGatewayProcess({
        configPath: join(workDir, `${which}.yaml`),
        configLines: processConfigLines(database.url, '200ms'),
        seed: 3,
      }),
    )
  }
})

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()))
  await Promise.all(backends.map((backend) => backend.close()))
  await database?.close()
  await rm(workDir, { recursive: true, force: true })
})

describe('two gateway processes on one database', () => {
  it('poll a query submitted through one to completion through the other', async () => {
    const [one, two] = gateways as [GatewayProcess, GatewayProcess]
    for (const backend of backends) await addBackend(one.url, { name: backend.name, proxyTo: backend.url })
    // The second process learns the backends from the shared database on its next monitor round.
    for (const gateway of gateways) {
      for (const backend of backends) {
        await waitFor(async () => (await stateOf(gateway.url, backend.name)) === 'HEALTHY', {
          timeoutMs: 20_000,
          what: `${backend.name} HEALTHY on ${gateway.url}`,
        })
      }
    }
    expect(new Set(gateways.map((gateway) => gateway.pid)).size).toBe(2)
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${one.url}/v1/statement`, { method: 'POST', body: 'SELECT 3 PAGES' })
      expect(response.status).toBe(200)
      let page = (await response.json()) as QueryResults
      const owner = backends.find((backend) => backend.queries.has(page.id)) as FakeTrino
      expect(owner).toBeDefined()
      const pollsBefore = owner.requests.length
      let polls = 0
      while (page.nextUri !== undefined) {
        // The first nextUri names the gateway the client submitted through, later ones the gateway it
        // polled: each gateway rewrites them to the address the client used.
        expect(page.nextUri.startsWith(polls === 0 ? one.url : two.url)).toBe(true)
        const next = await fetch(page.nextUri.replace(one.url, two.url))
        expect(next.status).toBe(200)
        page = (await next.json()) as QueryResults
        polls++
      }
      expect(polls).toBeGreaterThan(0)
      // Every poll reached the query's own backend and no other. (Others may have been probed with
      // HEAD when the row was still in the first gateway's write-behind buffer.)
      expect(owner.requests.length - pollsBefore).toBeGreaterThanOrEqual(polls)
      for (const other of backends.filter((backend) => backend !== owner)) {
        expect(
          other.requests.some((request) => request.method !== 'HEAD' && request.url.includes(page.id)),
        ).toBe(false)
      }
    }
  })
})

describe('two gateway processes sharing routing.tokenKeys', () => {
  it('poll queries submitted through one to the end through the other with the database stopped after the submission', async () => {
    const shared = await openTestDatabase()
    const dir = await mkdtemp(join(tmpdir(), 'tgl-two-gateways-tokens-'))
    const clusters: FakeTrino[] = []
    const pair: GatewayProcess[] = []
    try {
      for (const name of ['k1', 'k2']) clusters.push(await startFakeTrino(name))
      for (const which of ['one', 'two']) {
        pair.push(
          await startGatewayProcess({
            configPath: join(dir, `${which}.yaml`),
            configLines: [
              ...processConfigLines(shared.url, '200ms'),
              'routing:',
              '  tokenKeys:',
              '    - id: shared1',
              '      secret: one-secret-for-every-instance-0123456789',
            ],
            seed: 4,
          }),
        )
      }
      const [one, two] = pair as [GatewayProcess, GatewayProcess]
      for (const cluster of clusters) await addBackend(one.url, { name: cluster.name, proxyTo: cluster.url })
      for (const gateway of pair) {
        for (const cluster of clusters) {
          await waitFor(async () => (await stateOf(gateway.url, cluster.name)) === 'HEALTHY', {
            timeoutMs: 20_000,
            what: `${cluster.name} HEALTHY on ${gateway.url}`,
          })
        }
      }
      const firstPages: QueryResults[] = []
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${one.url}/v1/statement`, { method: 'POST', body: 'SELECT 3 PAGES' })
        expect(response.status).toBe(200)
        firstPages.push((await response.json()) as QueryResults)
      }
      // The database goes away: no gateway can read or write query_history from here on.
      await shared.close()
      const probesBefore = clusters.map(
        (cluster) => cluster.requests.filter((r) => r.method === 'HEAD').length,
      )
      for (const first of firstPages) {
        const owner = clusters.find((cluster) => cluster.queries.has(first.id)) as FakeTrino
        let page = first
        let polls = 0
        while (page.nextUri !== undefined) {
          expect(page.nextUri).toContain('tgRoute=shared1.')
          const next = await fetch(page.nextUri.replace(one.url, two.url))
          expect(next.status, await next.clone().text()).toBe(200)
          page = (await next.json()) as QueryResults
          polls++
        }
        expect(polls).toBe(3)
        // Every poll reached the query's own backend.
        expect(owner.requests.filter((request) => request.url.includes(first.id)).length).toBe(polls)
      }
      // No poll needed a probe: the token named the backend.
      expect(clusters.map((cluster) => cluster.requests.filter((r) => r.method === 'HEAD').length)).toEqual(
        probesBefore,
      )
    } finally {
      for (const gateway of pair) {
        try {
          // SIGKILL: with the database gone a graceful stop would wait out its history flush.
          process.kill(gateway.pid, 'SIGKILL')
        } catch {
          // Gone already.
        }
      }
      await Promise.all(clusters.map((cluster) => cluster.close()))
      await shared.close()
      await rm(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
