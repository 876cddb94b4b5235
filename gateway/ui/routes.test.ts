/** The UI's files over a real socket: the redirect, the page's headers, gzip when accepted, 404 for others. */
import { get } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { type RunningGateway, startGateway } from '../index.ts'
import { testGatewayConfig } from '../test-support/gateway.ts'

let database: TestDatabase
let gateway: RunningGateway

beforeAll(async () => {
  database = await openTestDatabase()
  gateway = await startGateway({ config: testGatewayConfig(database.url), seed: 2, logLevel: 'silent' })
})
afterAll(async () => {
  await gateway?.close()
  await database?.close()
})

function raw(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
    (resolve, reject) => {
      get(`${gateway.url}${path}`, { headers }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        )
      }).on('error', reject)
    },
  )
}

describe('the web UI files', () => {
  it('redirects / to the page, which only runs the gateway’s own script', async () => {
    const root = await raw('/')
    expect(root.status).toBe(303)
    expect(root.headers.location).toBe('/trino-gateway')
    const page = await raw('/trino-gateway')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['x-frame-options']).toBe('DENY')
    expect(page.body.toString()).toContain('<script type="module" src="/trino-gateway/assets/app.js">')
  })
  it('serves the script gzipped when the client accepts it, the same bytes otherwise', async () => {
    const plain = await raw('/trino-gateway/assets/app.js')
    const gzipped = await raw('/trino-gateway/assets/app.js', { 'accept-encoding': 'gzip, deflate' })
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(gzipped.headers['content-encoding']).toBe('gzip')
    expect(gzipped.headers.vary).toBe('accept-encoding')
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true)
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 2)
  })
  it('answers 404 for a file the UI does not have', async () => {
    expect((await raw('/trino-gateway/assets/secret.txt')).status).toBe(404)
    expect((await raw('/trino-gateway/assets/..%2Fpackage.json')).status).toBe(404)
  })
})
