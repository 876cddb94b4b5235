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
import { type GatewayProcess, startGatewayProcess } from './test-support/process.ts'

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
        configLines: [
          'serverConfig:',
          '  http-server.http.port: 0',
          'dataStore:',
          `  jdbcUrl: ${database.url}`,
          'monitor:',
          '  taskDelay: 200ms',
        ],
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
      // Every poll reached the query's own backend and no other.
      expect(owner.requests.length - pollsBefore).toBeGreaterThanOrEqual(polls)
      for (const other of backends.filter((backend) => backend !== owner)) {
        expect(other.requests.some((request) => request.url.includes(page.id))).toBe(false)
      }
    }
  })
})
