/**
 * Routing tokens over real sockets: follow-ups whose nextUri carries `tgRoute` go straight to the
 * backend the token names, on any gateway holding the key, without the cache, query_history or a
 * probe; rotation accepts the previous key; a forged token is refused naming the query id.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../test-support/database.ts'
import { type RoutingDecisionRecord, type RunningGateway, startGateway } from './index.ts'
import { routingTokenParameter } from './proxy/routing-token.ts'
import { type FakeTrino, startFakeTrino } from './test-support/fake-trino.ts'
import { addBackend, stateOf, testGatewayConfig } from './test-support/gateway.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const oldKey = { id: 'k2026-11', secret: 'old-secret-old-secret-old-secret-0' }
const newKey = { id: 'k2026-12', secret: 'new-secret-new-secret-new-secret-1' }

interface QueryResults {
  id: string
  nextUri?: string
  partialCancelUri?: string
  infoUri?: string
}

async function database(): Promise<TestDatabase> {
  const opened = await openTestDatabase()
  cleanups.push(() => opened.close())
  return opened
}

async function gateway(
  db: TestDatabase,
  tokenKeys: readonly { id: string; secret: string }[],
): Promise<RunningGateway> {
  const running = await startGateway({
    config: testGatewayConfig(db.url, { routing: { tokenKeys } }),
    seed: 5,
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

/** Registers the backends through `first`; every gateway then reads them from the database. */
async function register(gateways: readonly RunningGateway[], backends: readonly FakeTrino[]): Promise<void> {
  const [first] = gateways as [RunningGateway]
  for (const backend of backends) await addBackend(first.url, { name: backend.name, proxyTo: backend.url })
  for (const running of gateways) {
    await running.runHealthRound()
    for (const backend of backends) {
      await waitFor(async () => (await stateOf(running.url, backend.name)) === 'HEALTHY', {
        timeoutMs: 10_000,
        what: `${backend.name} HEALTHY on ${running.url}`,
      })
    }
  }
}

async function submit(url: string, sql: string): Promise<QueryResults> {
  const response = await fetch(`${url}/v1/statement`, {
    method: 'POST',
    headers: { 'x-trino-user': 'alice' },
    body: sql,
  })
  expect(response.status).toBe(200)
  return (await response.json()) as QueryResults
}

function tokenOf(uri: string): string {
  const token = new URL(uri).searchParams.get(routingTokenParameter)
  expect(token).not.toBeNull()
  return token as string
}

function rebase(uri: string, from: RunningGateway, to: RunningGateway): string {
  expect(uri.startsWith(from.url)).toBe(true)
  return to.url + uri.slice(from.url.length)
}

function probesOf(backends: readonly FakeTrino[]): number {
  return backends.reduce(
    (sum, backend) => sum + backend.requests.filter((request) => request.method === 'HEAD').length,
    0,
  )
}

describe('routing tokens', () => {
  it('route follow-ups through another gateway with the database stopped, with no lookup and no probe', async () => {
    const db = await database()
    const one = await gateway(db, [newKey])
    const two = await gateway(db, [newKey])
    const backends = [await fake('t1'), await fake('t2')]
    await register([one, two], backends)
    const decisions: RoutingDecisionRecord[] = []
    two.onRoutingDecision((record) => decisions.push(record))

    const first = await submit(one.url, 'SELECT 3 PAGES')
    const owner = backends.find((backend) => backend.queries.has(first.id)) as FakeTrino
    expect(first.nextUri).toContain(`${routingTokenParameter}=${newKey.id}.`)
    expect(first.partialCancelUri).toContain(`${routingTokenParameter}=`)
    // Trino's query page reads its whole query string as the id: infoUri gets no token.
    expect(first.infoUri).not.toContain(routingTokenParameter)
    await db.close()

    const probesBefore = probesOf(backends)
    let page = first
    let polls = 0
    let previous = one
    while (page.nextUri !== undefined) {
      const response = await fetch(rebase(page.nextUri, previous, two))
      expect(response.status, await response.clone().text()).toBe(200)
      page = (await response.json()) as QueryResults
      previous = two
      polls++
    }
    expect(polls).toBe(3)
    expect(decisions.map((decision) => [decision.stickySource, decision.backend])).toEqual(
      Array.from({ length: 3 }, () => ['token', owner.name]),
    )
    expect(probesOf(backends)).toBe(probesBefore)
    // The backend never saw a token: the gateway strips it before forwarding.
    for (const backend of backends) {
      for (const request of backend.requests) expect(request.url).not.toContain(routingTokenParameter)
    }
  })

  it('accepts tokens of the previous key after rotation, and refuses them once the key is retired', async () => {
    const db = await database()
    const before = await gateway(db, [oldKey])
    const rotated = await gateway(db, [newKey, oldKey])
    const retired = await gateway(db, [newKey])
    const backends = [await fake('r1')]
    await register([before, rotated, retired], backends)

    const first = await submit(before.url, 'SELECT 2 PAGES')
    expect(tokenOf(first.nextUri as string).startsWith(`${oldKey.id}.`)).toBe(true)
    const refused = await fetch(rebase(first.nextUri as string, before, retired))
    expect(refused.status).toBe(400)
    const refusal = (await refused.json()) as { code: string; message: string; details: { queryId: string } }
    expect(refusal.code).toBe('ROUTING_TOKEN_INVALID')
    expect(refusal.details.queryId).toBe(first.id)
    expect(refusal.message).toContain('none of routing.tokenKeys')

    const polled = await fetch(rebase(first.nextUri as string, before, rotated))
    expect(polled.status).toBe(200)
    const second = (await polled.json()) as QueryResults
    // The rotated gateway signs with its first key.
    expect(tokenOf(second.nextUri as string).startsWith(`${newKey.id}.`)).toBe(true)
    const third = await fetch(rebase(second.nextUri as string, rotated, retired))
    expect(third.status).toBe(200)
  })

  it("refuses a forged token or another query's token with ROUTING_TOKEN_INVALID naming the query id", async () => {
    const db = await database()
    const running = await gateway(db, [newKey])
    const backends = [await fake('f1'), await fake('f2')]
    await register([running], backends)
    const first = await submit(running.url, 'SELECT 2 PAGES')
    const other = await submit(running.url, 'SELECT 2 PAGES')
    const owner = backends.find((backend) => backend.queries.has(first.id)) as FakeTrino
    const elsewhere = backends.find((backend) => backend !== owner) as FakeTrino
    const token = tokenOf(first.nextUri as string)
    const [keyId, , mac] = token.split('.') as [string, string, string]
    const forged = `${keyId}.${Buffer.from(elsewhere.name).toString('base64url')}.${mac}`
    const requestsBefore = elsewhere.requests.length

    const cases = [
      [(first.nextUri as string).replace(token, forged), first.id, 'signature does not match'],
      [(first.nextUri as string).replace(token, tokenOf(other.nextUri as string)), first.id, 'signature'],
      [(first.nextUri as string).replace(token, 'not-a-token'), first.id, 'not of the form'],
    ] as const
    for (const [uri, queryId, reason] of cases) {
      const response = await fetch(uri)
      expect(response.status).toBe(400)
      const body = (await response.json()) as { code: string; message: string; details: { queryId: string } }
      expect(body.code).toBe('ROUTING_TOKEN_INVALID')
      expect(body.message).toContain(`query ${queryId}`)
      expect(body.message).toContain(reason)
      expect(body.details.queryId).toBe(queryId)
    }
    expect(elsewhere.requests.length).toBe(requestsBefore)
    // Without a token the same URL takes the lookup path (here the cache) and works.
    const bare = (first.nextUri as string).replace(`?${routingTokenParameter}=${token}`, '')
    expect(bare).not.toContain(routingTokenParameter)
    expect((await fetch(bare)).status).toBe(200)
  })

  it("looks a query up when the token is another instance's per-process key (no shared key configured)", async () => {
    const db = await database()
    const one = await gateway(db, [])
    const two = await gateway(db, [])
    const backends = [await fake('p1')]
    await register([one, two], backends)
    const decisions: RoutingDecisionRecord[] = []
    two.onRoutingDecision((record) => decisions.push(record))
    const first = await submit(one.url, 'SELECT 2 PAGES')
    expect(tokenOf(first.nextUri as string).startsWith('~')).toBe(true)
    // The row is durable by the time one's answer is read (sync) or soon after (write-behind).
    await waitFor(async () => (await one.store.history.findByQueryId(first.id)) !== undefined, {
      timeoutMs: 10_000,
      what: 'the query_history row',
    })
    const response = await fetch(rebase(first.nextUri as string, one, two))
    expect(response.status).toBe(200)
    const next = (await response.json()) as QueryResults
    expect(decisions.map((decision) => decision.stickySource)).toEqual(['history'])
    // two's own token on the next page routes two's next poll by token.
    expect((await fetch(next.nextUri as string)).status).toBe(200)
    expect(decisions.map((decision) => decision.stickySource)).toEqual(['history', 'token'])
  })
})
