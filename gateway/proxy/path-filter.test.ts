import { describe, expect, it } from 'vitest'
import { createPathFilter } from './path-filter.ts'

// The examples of Trino Gateway's TestPathFilter (reference §1.1).
const filter = createPathFilter({
  statementPaths: ['/v1/statement', '/v2/statement'],
  extraWhitelistPaths: ['/api/v1/custom/.*', '/health/.*', '/metrics'],
})

describe('path whitelist', () => {
  it.each([
    '/v1/query/query123/status',
    '/ui/assets/app.js',
    '/oauth2/token',
    '/v1/spooled/ack/abc123',
    '/v2/statement/batch',
    '/api/v1/custom/users/123',
    '/metrics',
    '/v1/statement',
    '/v1/info',
    '/v1/node',
    '/ui/api/stats',
    '/uix',
  ])('proxies %s', (path) => {
    expect(filter(path)).toBe(true)
  })

  it.each([
    '/v3/statement',
    '/api/v2/custom/users',
    '/status',
    '/metrics/extra',
    '/v1/quer',
    '/api/v1/custom',
    '/V1/query',
    '',
    '/',
    '/gateway/backend/all',
  ])('does not proxy %j', (path) => {
    expect(filter(path)).toBe(false)
  })

  it('needs the whole path to match an extra regex', () => {
    const versioned = createPathFilter({ statementPaths: [], extraWhitelistPaths: ['/api/v[1-9]/.*'] })
    expect(versioned('/api/v3/test')).toBe(true)
    expect(versioned('/api/v10/test')).toBe(false)
  })

  it('does not proxy /v1/statement when the statement paths are empty', () => {
    expect(createPathFilter({ statementPaths: [], extraWhitelistPaths: [] })('/v1/statement')).toBe(false)
  })

  it('refuses an invalid regex naming it', () => {
    expect(() => createPathFilter({ statementPaths: [], extraWhitelistPaths: ['/a/(b'] })).toThrow('"/a/(b"')
  })
})
