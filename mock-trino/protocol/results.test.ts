import { describe, expect, it } from 'vitest'
import { airliftDuration, baseUri, queryError } from './results.ts'

describe('Trino JSON conventions', () => {
  it.each([
    [{ host: 'trino-a:8080' }, true, 'http://trino-a:8080'],
    [
      { host: 'trino-a:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gw.example.com' },
      true,
      'https://gw.example.com',
    ],
    [
      {
        host: 'trino-a:8080',
        'x-forwarded-host': 'gw:1',
        'x-forwarded-port': '9443',
        'x-forwarded-proto': 'https',
      },
      true,
      'https://gw:9443',
    ],
    [
      { host: 'trino-a:8080', 'x-forwarded-port': '443', 'x-forwarded-proto': 'https' },
      true,
      'https://trino-a',
    ],
    [{ host: 'trino-a:8080', 'x-forwarded-host': 'gw.example.com' }, false, 'http://trino-a:8080'],
  ])('builds the base URI of %j (process forwarded %s) as %s', (headers, processForwarded, expected) => {
    expect(baseUri(headers, processForwarded, 'fallback:1')).toBe(expected)
  })

  it('renders errors with Trino name, code, type and failure class', () => {
    expect(queryError('QUERY_QUEUE_FULL', 'Too many queued queries for "global"')).toEqual({
      message: 'Too many queued queries for "global"',
      errorCode: 131074,
      errorName: 'QUERY_QUEUE_FULL',
      errorType: 'INSUFFICIENT_RESOURCES',
      failureInfo: {
        type: 'io.trino.execution.resourcegroups.QueryQueueFullException',
        message: 'Too many queued queries for "global"',
        suppressed: [],
        stack: [],
      },
    })
  })

  it.each([
    [0, '0.00ns'],
    [1.5, '1.50ms'],
    [2500, '2.50s'],
    [90_000, '1.50m'],
    [8_460_000, '2.35h'],
  ])('formats %d ms as the Airlift duration %s', (ms, text) => {
    expect(airliftDuration(ms)).toBe(text)
  })
})
