import { describe, expect, it } from 'vitest'
import { backendRequestHeaders, clientResponseHeaders, gatewayOriginOf, requestUserOf } from './headers.ts'

const context = { forwardedHeadersEnabled: true, clientAddress: '10.1.2.3', scheme: 'http', serverPort: 8080 }

describe('headers sent to the backend', () => {
  it('drops Host, Accept-Encoding and hop-by-hop headers and adds Via', () => {
    const headers = backendRequestHeaders(
      { host: 'gw:8080', 'accept-encoding': 'gzip', connection: 'keep-alive', 'x-trino-user': 'alice' },
      context,
    )
    expect(headers.host).toBeUndefined()
    expect(headers['accept-encoding']).toBeUndefined()
    expect(headers.connection).toBeUndefined()
    expect(headers['x-trino-user']).toBe('alice')
    expect(headers.via).toBe('HTTP/1.1 TrinoGateway')
  })

  it('drops Expect: the gateway answered 100-continue itself and sends the body it read', () => {
    expect(
      backendRequestHeaders({ expect: '100-continue', 'x-trino-user': 'alice' }, context).expect,
    ).toBeUndefined()
  })

  it('appends X-Forwarded-* to what the client sent', () => {
    const headers = backendRequestHeaders({ host: 'gw.example:8080', 'x-forwarded-for': '1.1.1.1' }, context)
    expect(headers).toMatchObject({
      'x-forwarded-for': '1.1.1.1, 10.1.2.3',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': '8080',
      'x-forwarded-host': 'gw.example',
    })
  })

  it('strips every Forwarded and X-Forwarded-* header when forwarded headers are disabled', () => {
    const headers = backendRequestHeaders(
      { host: 'gw', forwarded: 'for=1.1.1.1', 'x-forwarded-host': 'evil', 'X-Forwarded-Proto': 'https' },
      { ...context, forwardedHeadersEnabled: false },
    )
    expect(Object.keys(headers).filter((name) => name.includes('forwarded'))).toEqual([])
  })

  it('lets headers from an external routing service override the client', () => {
    expect(
      backendRequestHeaders({ 'x-trino-session': 'a=1' }, context, { 'X-Trino-Session': 'a=b' })[
        'x-trino-session'
      ],
    ).toBe('a=b')
  })
})

describe('headers sent to the client', () => {
  it('copies the backend headers but hop-by-hop ones', () => {
    expect(
      clientResponseHeaders({
        'content-type': 'application/json',
        'set-cookie': ['a=1', 'b=2'],
        'transfer-encoding': 'chunked',
      }),
    ).toEqual({ 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] })
  })
})

describe('the gateway origin the client reached', () => {
  it.each([
    [{ host: 'gw:8080' }, true, 'http://gw:8080'],
    [
      { host: 'gw:8080', 'x-forwarded-host': 'lb.example', 'x-forwarded-proto': 'https' },
      true,
      'https://lb.example',
    ],
    [
      { host: 'gw:8080', 'x-forwarded-host': 'lb.example, gw', 'x-forwarded-port': '8443' },
      true,
      'http://lb.example:8443',
    ],
    [{ host: 'gw:8080', 'x-forwarded-host': 'lb.example' }, false, 'http://gw:8080'],
    [{}, true, 'http://127.0.0.1:1'],
  ])('%j (forwarded %s) is %s', (headers, enabled, origin) => {
    expect(gatewayOriginOf(headers, enabled, '127.0.0.1:1')).toBe(origin)
  })
})

describe('request user', () => {
  it('reads X-Trino-User, else Basic auth', () => {
    expect(requestUserOf({ 'x-trino-user': 'alice' })).toBe('alice')
    expect(
      requestUserOf({ authorization: `Basic ${Buffer.from('will:supersecret').toString('base64')}` }),
    ).toBe('will')
    expect(requestUserOf({})).toBeUndefined()
  })
})
