import { describe, expect, it } from 'vitest'
import { parseSession } from './session.ts'

describe('statement session headers', () => {
  it('reads every session header Trino reads', () => {
    const result = parseSession({
      'x-trino-user': 'alice',
      'x-trino-source': 'customers',
      'x-trino-catalog': 'iceberg',
      'x-trino-schema': 'sales',
      'x-trino-client-tags': 'LargeCustomer, etl,LargeCustomer',
      'x-trino-client-info': 'notebook 7',
      'x-trino-session': 'query_priority=5,foo=a%20b',
      'x-trino-trace-token': 'trace-1',
      'x-trino-resource-estimate': 'EXECUTION_TIME=1m,CPU_TIME=2s,PEAK_MEMORY=1.5GB',
      'x-trino-prepared-statement': 'q1=SELECT%201',
    })
    expect(result).toEqual({
      ok: true,
      session: {
        user: 'alice',
        source: 'customers',
        catalog: 'iceberg',
        schema: 'sales',
        clientTags: ['LargeCustomer', 'etl'],
        clientInfo: 'notebook 7',
        sessionProperties: { query_priority: '5', foo: 'a b' },
        traceToken: 'trace-1',
        resourceEstimate: { executionTimeMs: 60_000, cpuTimeMs: 2000, peakMemoryBytes: 1.5 * 1024 ** 3 },
        preparedStatements: { q1: 'SELECT 1' },
      },
    })
  })

  it('takes the user of Basic authentication without a password', () => {
    const result = parseSession({ authorization: `Basic ${Buffer.from('bob:').toString('base64')}` })
    expect(result.ok && result.session.user).toBe('bob')
  })

  it.each([
    [{}, 401, 'Basic authentication or X-Trino-User must be sent'],
    [
      { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` },
      401,
      'Password not allowed for insecure authentication',
    ],
    [{ 'x-trino-user': 'a', 'x-trino-schema': 's' }, 400, 'Schema is set but catalog is not'],
    [{ 'x-trino-user': 'a', 'x-trino-session': 'novalue' }, 400, 'Invalid X-Trino-Session header'],
    [{ 'x-trino-user': 'a', 'x-trino-resource-estimate': 'DISK=1GB' }, 400, 'Unsupported resource name DISK'],
    [
      { 'x-trino-user': 'a', 'x-trino-prepared-statement': 'broken' },
      400,
      'Invalid X-Trino-Prepared-Statement header',
    ],
  ])('answers %j with %d %s', (headers, statusCode, message) => {
    expect(parseSession(headers)).toMatchObject({ ok: false, statusCode, message })
  })
})
