import { once } from 'node:events'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { CodedError } from '../../common/errors.ts'
import { type ForwardResult, forwardToBackend, type HoldBack } from './forward.ts'

const servers: Server[] = []
const agent = new Agent({ connections: 4 })

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

async function listen(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler)
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A front server that forwards every request to `backend` and reports each result. */
async function front(
  backend: string,
  hold?: HoldBack<string>,
): Promise<{ url: string; results: ForwardResult[] }> {
  const results: ForwardResult[] = []
  const url = await listen((request, response) => {
    void forwardToBackend(
      agent,
      {
        origin: backend,
        path: request.url ?? '/',
        method: 'GET',
        headers: {},
        body: null,
        timeoutMs: 10_000,
      },
      response,
      hold,
    ).then((result) => {
      results.push(result)
      if (result.kind === 'replaced' || result.kind === 'failed') {
        response.writeHead(502, { 'content-type': 'text/plain' })
        response.end(result.kind === 'replaced' ? result.error.code : result.error.message)
      }
    })
  })
  return { url, results }
}

async function get(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const response = await fetch(url)
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  }
}

const prefixHold = (
  release: (prefix: Buffer) => Buffer | CodedError | Promise<Buffer | CodedError>,
): HoldBack<string> => ({
  bytesMax: 1024,
  wanted: (statusCode) => statusCode === 200,
  inspect: (prefix) => ({ decided: prefix.includes('|'), found: prefix.toString() }),
  release: (prefix) => release(prefix),
})

describe('forwardToBackend', () => {
  it('streams the answer with its status and headers, minus hop-by-hop ones', async () => {
    const backend = await listen((_request, response) => {
      response.writeHead(201, { 'x-backend': 'yes', 'proxy-authenticate': 'Basic' })
      response.write('first,')
      setTimeout(() => response.end('second'), 20)
    })
    const { url, results } = await front(backend)
    const answer = await get(`${url}/x`)
    expect(answer.status).toBe(201)
    expect(answer.body).toBe('first,second')
    expect(answer.headers['x-backend']).toBe('yes')
    expect(answer.headers['proxy-authenticate']).toBeUndefined()
    expect(results).toEqual([{ kind: 'done' }])
  })

  it('holds the prefix back until it is decided, sends what release returns and fixes content-length', async () => {
    const backend = await listen((_request, response) => {
      response.writeHead(200, { 'content-length': '13' })
      response.write('abc')
      // The prefix is decided only once the '|' arrives, in a later chunk.
      setTimeout(() => response.end('|defghijkl'), 20)
    })
    const seen: string[] = []
    const { url, results } = await front(
      backend,
      prefixHold(async (prefix) => {
        seen.push(prefix.toString())
        return Buffer.from(prefix.toString().toUpperCase().replace('|', '||'))
      }),
    )
    const answer = await get(`${url}/x`)
    expect(seen).toEqual(['abc|defghijkl'])
    expect(answer.body).toBe('ABC||DEFGHIJKL')
    expect(answer.headers['content-length']).toBe('14')
    expect(results).toEqual([{ kind: 'done' }])
  })

  it('a release known at once sends the answer on, then the rest as it comes, without pausing the backend', async () => {
    const body = `abc|${'x'.repeat(200_000)}`
    const backend = await listen((_request, response) => {
      response.writeHead(200, { 'content-length': String(body.length) })
      response.write(body.slice(0, 4))
      setTimeout(() => response.end(body.slice(4)), 20)
    })
    const { url, results } = await front(
      backend,
      prefixHold((prefix) => Buffer.from(prefix.toString().toUpperCase())),
    )
    const answer = await get(`${url}/x`)
    expect(answer.body).toBe(`ABC|${'x'.repeat(200_000)}`)
    expect(answer.headers['content-length']).toBe(String(body.length))
    expect(results).toEqual([{ kind: 'done' }])
  })

  it('a synchronous error from release replaces the answer too', async () => {
    const backend = await listen((_request, response) => {
      response.writeHead(200)
      response.end('abc|')
    })
    const { url, results } = await front(
      backend,
      prefixHold(() => new CodedError('NOPE', 'refused by the gateway', 503)),
    )
    const answer = await get(`${url}/x`)
    expect(answer.status).toBe(502)
    expect(results.map((result) => result.kind)).toEqual(['replaced'])
  })

  it('replaces the answer with the error release returns and aborts the backend request', async () => {
    let backendClosed: Promise<unknown> = Promise.resolve()
    const backend = await listen((_request, response) => {
      backendClosed = once(response, 'close')
      response.writeHead(200)
      response.write('abc|')
      // Never ends on its own: only the abort can finish this exchange.
    })
    const { url, results } = await front(
      backend,
      prefixHold(async () => new CodedError('NOPE', 'refused by the gateway', 503)),
    )
    const answer = await get(`${url}/x`)
    expect(answer.status).toBe(502)
    expect(answer.body).toBe('NOPE')
    await backendClosed
    expect(results.map((result) => result.kind)).toEqual(['replaced'])
  })

  it('reports a backend that cannot be reached as failed, before anything was sent', async () => {
    const closed = await listen(() => undefined)
    const server = servers.pop() as Server
    await new Promise((resolve) => server.close(resolve))
    const { url, results } = await front(closed)
    const answer = await get(`${url}/x`)
    expect(answer.status).toBe(502)
    expect(results).toHaveLength(1)
    expect(results[0]?.kind).toBe('failed')
  })

  it('does not call the backend for a client that has already gone', async () => {
    let backendCalls = 0
    const backend = await listen((_request, response) => {
      backendCalls++
      response.end('never read')
    })
    const results: ForwardResult[] = []
    const url = await listen((request, response) => {
      // Forwarded only after the response's 'close' has fired: nothing will announce it again.
      response.once('close', () => {
        void forwardToBackend(
          agent,
          { origin: backend, path: '/x', method: 'GET', headers: {}, body: null, timeoutMs: 10_000 },
          response,
          undefined,
        ).then((result) => results.push(result))
      })
      request.socket.destroy()
    })
    await fetch(`${url}/x`).catch(() => undefined)
    await expect.poll(() => results).toEqual([{ kind: 'aborted', reason: 'the client went away' }])
    expect(backendCalls).toBe(0)
  })

  it('aborts the backend request when the client goes away mid-answer', async () => {
    let backendClosed: Promise<unknown> = Promise.resolve()
    const backend = await listen((_request, response) => {
      backendClosed = once(response, 'close')
      response.writeHead(200)
      response.write('part one')
    })
    const { url, results } = await front(backend)
    const client = httpRequest(`${url}/x`)
    client.end()
    const [response] = (await once(client, 'response')) as [IncomingMessage]
    await once(response, 'data')
    client.destroy()
    // Well before the 10 s body timeout could close it.
    const closedSoon = await Promise.race([
      backendClosed.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 1_000)),
    ])
    expect(closedSoon).toBe(true)
    await expect.poll(() => results.map((result) => result.kind)).toEqual(['aborted'])
  })
})
