/**
 * The capacity run's floor, against a real mock coordinator on a loopback port: a query runs to
 * its end through it with every nextUri pointing back at the proxy, and a dead backend is a 502.
 */
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockTrino } from '../../mock-trino/index.ts'
import { backendOriginOf, type MinimalProxy, startMinimalProxy } from './minimal-proxy.ts'
import { startMinimalProxyProcess } from './processes.ts'
import { capacitySql } from './run.ts'

const headers = { 'x-trino-user': 'capacity-test', 'content-type': 'text/plain' }
/** A query of `capacitySql` takes a POST and three polls; this bounds a loop that goes wrong. */
const pollsMax = 20

let mock: Awaited<ReturnType<typeof startMockTrino>>

beforeAll(async () => {
  mock = await startMockTrino({ name: 'minimal-proxy-test', seed: 5 })
})
afterAll(async () => {
  await mock?.close()
})

interface QueryAnswer {
  nextUri?: string
  stats?: { state?: string }
  data?: unknown[][]
  error?: unknown
}

/** Runs `capacitySql` through `origin`, following nextUri; returns every answer and nextUri. */
async function runQuery(origin: string): Promise<{ answers: QueryAnswer[]; nextUris: string[] }> {
  const answers: QueryAnswer[] = []
  const nextUris: string[] = []
  let response = await fetch(`${origin}/v1/statement`, { method: 'POST', headers, body: capacitySql })
  for (let i = 0; i <= pollsMax; i++) {
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)))
    const answer = JSON.parse(text) as QueryAnswer
    answers.push(answer)
    if (answer.nextUri === undefined) return { answers, nextUris }
    nextUris.push(answer.nextUri)
    response = await fetch(answer.nextUri, { headers: { 'x-trino-user': headers['x-trino-user'] } })
  }
  throw new Error(`the query needed more than ${pollsMax} polls`)
}

async function closedPortOrigin(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${address.port}`
}

describe('minimal proxy', () => {
  let proxy: MinimalProxy | undefined
  afterAll(async () => {
    await proxy?.close()
  })

  it('runs a query to its end with every nextUri pointing at the proxy', async () => {
    proxy = await startMinimalProxy(mock.url)
    const before = mock.control.counts().finished
    const { answers, nextUris } = await runQuery(proxy.url)
    expect(nextUris.length).toBeGreaterThan(0)
    for (const uri of nextUris) expect(uri.startsWith(`${proxy.url}/v1/statement/`)).toBe(true)
    expect(answers.some((answer) => answer.data !== undefined)).toBe(true)
    expect(answers.at(-1)?.stats?.state).toBe('FINISHED')
    expect(answers.every((answer) => answer.error === undefined)).toBe(true)
    expect(JSON.stringify(answers)).not.toContain(mock.url)
    expect(mock.control.counts().finished - before).toBe(1)
  })

  it('answers 502 with one line of text when the backend is down', async () => {
    const dead = await startMinimalProxy(await closedPortOrigin())
    try {
      const response = await fetch(`${dead.url}/v1/statement`, { method: 'POST', headers, body: 'SELECT 1' })
      expect(response.status).toBe(502)
      const text = await response.text()
      expect(text).toMatch(/^minimal proxy: backend error: .+\n$/)
    } finally {
      await dead.close()
    }
  })

  it('refuses a backend that is not an http origin', () => {
    expect(() => backendOriginOf(undefined)).toThrow(/usage: minimal-proxy\.ts <backend origin/)
    expect(() => backendOriginOf('not a url')).toThrow(/is not a URL/)
    expect(() => backendOriginOf('https://127.0.0.1:1')).toThrow(/only http:/)
    expect(backendOriginOf('http://127.0.0.1:8080/ignored')).toBe('http://127.0.0.1:8080')
  })

  it('runs as its own process as the capacity run starts it, and stops on SIGTERM', async () => {
    const started = await startMinimalProxyProcess(mock.url)
    try {
      expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const { nextUris } = await runQuery(started.url)
      for (const uri of nextUris) expect(uri.startsWith(started.url)).toBe(true)
    } finally {
      await started.handle.stop()
    }
  })
})
