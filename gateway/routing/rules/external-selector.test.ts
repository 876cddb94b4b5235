import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CodedError } from '../../../common/errors.ts'
import { requestAnalyzerConfigSchema } from '../analyzer/config.ts'
import type { RoutingRequest } from '../selector.ts'
import { createExternalRoutingGroupSelector } from './external-selector.ts'

interface Seen {
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

// A small external router: its answer is set per test; it records what it was sent.
let answer: { status: number; body: string; hang?: boolean } = { status: 200, body: '{}' }
let seen: Seen[] = []
let server: Server
let url: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      text += chunk
    })
    req.on('end', () => {
      seen.push({ headers: req.headers, body: JSON.parse(text) as Record<string, unknown> })
      if (answer.hang) return
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(answer.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/route`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  seen = []
})

function request(headers: Record<string, string> = {}): RoutingRequest {
  return {
    method: 'POST',
    path: '/v1/statement',
    queryString: 'x=1&x=2',
    headers: {
      'x-trino-user': 'alice',
      authorization: 'Basic abc',
      cookie: 'c=1',
      'content-length': '8',
      ...headers,
    },
    body: 'SELECT * FROM cat.schem.tbl',
    remoteAddress: '127.0.0.1',
  }
}

describe('external routing service', () => {
  it('posts the request description and uses the routing group it answers', async () => {
    answer = { status: 200, body: '{"routingGroup":"etl","errors":null,"externalHeaders":null}' }
    const selector = createExternalRoutingGroupSelector({
      urlPath: url,
      requestAnalyzer: requestAnalyzerConfigSchema.parse({ analyzeRequest: true }),
    })
    expect(await selector.select(request())).toEqual({ routingGroup: 'etl' })
    const [call] = seen
    expect(call?.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(call?.headers['x-trino-user']).toBe('alice')
    expect(call?.body).toMatchObject({
      method: 'POST',
      requestURI: '/v1/statement',
      queryString: 'x=1&x=2',
      remoteAddr: '127.0.0.1',
      parameters: { x: ['1', '2'] },
      trinoRequestUser: { user: 'alice', userInfo: null },
      trinoQueryProperties: { queryType: 'Query', tables: ['cat.schem.tbl'], isQueryParsingSuccessful: true },
    })
  })

  it('leaves the analysis out when analyzeRequest is off', async () => {
    answer = { status: 200, body: '{"routingGroup":"etl"}' }
    await createExternalRoutingGroupSelector({ urlPath: url }).select(request())
    expect(seen[0]?.body).toMatchObject({ trinoQueryProperties: null, trinoRequestUser: null })
  })

  it('does not send excluded headers and does not accept them back', async () => {
    answer = {
      status: 200,
      body: JSON.stringify({
        routingGroup: 'adhoc',
        externalHeaders: {
          'X-Trino-Session': 'a=b',
          Authorization: 'Bearer evil',
          'X-Empty': '',
          'X-Null': null,
        },
      }),
    }
    const selector = createExternalRoutingGroupSelector({
      urlPath: url,
      excludeHeaders: ['Authorization', 'Cookie'],
    })
    const selection = await selector.select(request())
    expect(seen[0]?.headers.authorization).toBeUndefined()
    expect(seen[0]?.headers.cookie).toBeUndefined()
    expect(selection).toEqual({
      routingGroup: 'adhoc',
      externalHeaders: { 'X-Trino-Session': 'a=b', 'X-Empty': '' },
    })
  })

  it.each([
    ['an HTTP 500', { status: 500, body: 'boom' }],
    ['invalid JSON', { status: 200, body: 'not json' }],
    ['a wrongly typed answer', { status: 200, body: '{"routingGroup":42}' }],
  ])('falls back to the routing-group header on %s', async (_what, reply) => {
    answer = reply
    const selector = createExternalRoutingGroupSelector({ urlPath: url })
    const selection = await selector.select(request({ 'x-trino-routing-group': 'batch' }))
    expect(selection.routingGroup).toBe('batch')
    expect(selection.warnings?.[0]).toMatch(/external routing service failed/)
    const noHeader = await selector.select(request())
    expect(noHeader.routingGroup).toBeUndefined()
  })

  it('falls back when the service does not answer within requestTimeoutMs', async () => {
    answer = { status: 200, body: '{}', hang: true }
    const selector = createExternalRoutingGroupSelector({ urlPath: url, requestTimeoutMs: 200 })
    const selection = await selector.select(request({ 'x-trino-routing-group': 'batch' }))
    expect(selection.routingGroup).toBe('batch')
    expect(selection.warnings?.[0]).toMatch(/failed/)
  })

  it('falls back when nothing listens', async () => {
    const selector = createExternalRoutingGroupSelector({ urlPath: 'http://127.0.0.1:1/route' })
    expect((await selector.select(request({ 'x-trino-routing-group': 'batch' }))).routingGroup).toBe('batch')
  })

  it('rejects the request with the errors when propagateErrors is on', async () => {
    answer = { status: 200, body: '{"routingGroup":"etl","errors":["x","y"]}' }
    const selector = createExternalRoutingGroupSelector({ urlPath: url, propagateErrors: true })
    const failure = await Promise.resolve(selector.select(request())).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(CodedError)
    expect(failure).toMatchObject({
      code: 'EXTERNAL_ROUTING_ERRORS',
      statusCode: 400,
      details: { errors: ['x', 'y'] },
    })
  })

  it('uses the answered group and headers despite errors when propagateErrors is off', async () => {
    answer = { status: 200, body: '{"routingGroup":"etl","errors":["x"],"externalHeaders":{"X-A":"1"}}' }
    const selection = await createExternalRoutingGroupSelector({ urlPath: url }).select(request())
    expect(selection).toEqual({
      routingGroup: 'etl',
      externalHeaders: { 'X-A': '1' },
      warnings: ['external routing service: x'],
    })
  })

  it.each(['{"routingGroup":""}', '{}', '{"routingGroup":null,"errors":["x"]}'])(
    'leaves the default group to the gateway for %s',
    async (body) => {
      answer = { status: 200, body }
      const selection = await createExternalRoutingGroupSelector({ urlPath: url }).select(request())
      expect(selection.routingGroup).toBeUndefined()
    },
  )

  it('refuses a urlPath that is not a URL', () => {
    expect(() => createExternalRoutingGroupSelector({ urlPath: 'not a url' })).toThrow(
      /urlPath must be an absolute/,
    )
  })
})
