import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { extractKillQueryId } from './kill-query.ts'
import { extractQueryId, type QueryIdRequest } from './query-id.ts'

const id = '20200416_160256_03078_6b4yt'
const statementPaths = ['/v1/statement', '/custom/api/statement']

function get(url: string, method = 'GET'): string | undefined {
  const [path = '', queryString = ''] = url.split(/\?(.*)/s)
  return extractQueryId({ method, path, queryString, statementPaths, body: '' })
}

function post(body: string, defaults: Partial<QueryIdRequest> = {}): string | undefined {
  return extractQueryId({
    method: 'POST',
    path: '/v1/statement',
    queryString: '',
    statementPaths,
    body,
    ...defaults,
  })
}

// Reference §5.2, from Trino Gateway's TestQueryIdCachingProxyHandler.
describe('query-id extraction from the URL', () => {
  it.each([
    `/v1/statement/queued/${id}/y0d7xc5c3a4a5fbb1b0a9f2a5e0c6b7d8/1`,
    `/v1/statement/scheduled/${id}/ya/2`,
    `/v1/statement/executing/${id}/yb/3`,
    `/v1/statement/executing/partialCancel/${id}/0/yc/1`,
    `/custom/api/statement/executing/${id}/yd/1`,
    `/ui/api/query/${id}`,
    `/ui/api/query/${id}/killed`,
    `/ui/api/query/${id}/preempted`,
    `/v1/query/${id}?pretty`,
    `/ui/troubleshooting?queryId=${id}`,
    `/ui/troubleshooting?QUERY_ID=${id}`,
    `/ui/query.html?${id}`,
    `/login?redirect=%2Fui%2Fapi%2Fquery%2F${id}`,
  ])('finds the id in %s', (url) => {
    expect(get(url)).toBe(id)
  })

  it.each([
    '/ui/api/query/myOtherThing',
    '/ui/api/query/20200416_blah?bogus_fictional_param',
    '/ui/?lang=en&p=1&id=0_1_2_a',
    '/v1/query',
    '/v1/info',
    '/v1/statement',
  ])('finds no id in %s', (url) => {
    expect(get(url)).toBeUndefined()
  })

  it('applies the same rules to DELETE and HEAD', () => {
    expect(get(`/v1/statement/executing/${id}/yb/3`, 'DELETE')).toBe(id)
    expect(get(`/v1/query/${id}`, 'HEAD')).toBe(id)
  })

  it('never reads an id from the URL of a POST', () => {
    expect(get(`/v1/statement/executing/${id}/yb/3`, 'POST')).toBeUndefined()
  })

  it('takes the rightmost candidate in the query string, as the greedy Java regex does', () => {
    expect(get(`/ui/x?queryId=1_2_3_a&query_id=4_5_6_b`)).toBe('4_5_6_b')
  })
})

describe('query-id extraction from a kill_query call', () => {
  it.each([
    [`CALL system.runtime.kill_query(query_id => '${id}', message => 'Killed by user')`, {}],
    [`CALL system.runtime.kill_query('${id}')`, {}],
    [`CALL kill_query('${id}')`, { defaultCatalog: 'system', defaultSchema: 'runtime' }],
    [`CALL runtime.kill_query('${id}', 'bye')`, { defaultCatalog: 'system' }],
    [`call SYSTEM.RUNTIME.KILL_QUERY('${id}')`, {}],
    [`/* stop it */ CALL -- now\n system . runtime . kill_query ( '${id}' ) ;`, {}],
    [`CALL "system"."runtime"."kill_query"(message => 'x', query_id => '${id}')`, {}],
  ])('finds the id in %s', (body, defaults) => {
    expect(post(body, defaults)).toBe(id)
  })

  it.each([
    [`CALL notsystem.runtime.kill_query('${id}')`, {}],
    [`CALL kill_query('${id}')`, { defaultCatalog: 'hive', defaultSchema: 'runtime' }],
    [`CALL kill_query('${id}')`, { defaultCatalog: 'system', defaultSchema: 'other' }],
    [`CALL kill_query('${id}')`, {}],
    [`CALL runtime.kill_query('${id}')`, { defaultCatalog: 'iceberg' }],
    [`SELECT 'CALL system.runtime.kill_query(''${id}'')'`, {}],
    [`SELECT 1 -- CALL system.runtime.kill_query('${id}')`, {}],
    [`SELECT /* CALL system.runtime.kill_query('${id}') */ 1`, {}],
    [`CALL system.runtime.kill_query(concat('${id}', ''))`, {}],
    [`CALL system.runtime.kill_query('${id}'`, {}],
    ['SELECT 1', {}],
  ])('finds no id in %s', (body, defaults) => {
    expect(post(body, defaults)).toBeUndefined()
  })

  it('unescapes doubled quotes in the literal', () => {
    expect(extractKillQueryId("CALL system.runtime.kill_query('a''b')", {})).toBe("a'b")
  })
})

const idArbitrary = fc
  .tuple(
    fc.integer({ min: 0, max: 99_999_999 }),
    fc.integer({ min: 0, max: 999_999 }),
    fc.integer({ min: 0, max: 99_999 }),
    fc.stringMatching(/^[a-z0-9]{1,8}$/),
  )
  .map(([a, b, c, d]) => `${a}_${b}_${c}_${d}`)
const slugArbitrary = fc.stringMatching(/^[a-z][a-z0-9]{0,12}$/)

describe('query-id extraction properties', () => {
  it('never throws, whatever the request', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD'),
        fc.string(),
        fc.string(),
        fc.string(),
        (method, path, queryString, body) => {
          extractQueryId({ method, path, queryString, statementPaths, body, defaultCatalog: 'system' })
        },
      ),
      { numRuns: 500 },
    )
  })

  it('finds any id in every listed URL shape', () => {
    const shapes = [
      (q: string, s: string) => `/v1/statement/queued/${q}/${s}/1`,
      (q: string, s: string) => `/v1/statement/executing/${q}/${s}/7`,
      (q: string, s: string) => `/v1/statement/executing/partialCancel/${q}/0/${s}/1`,
      (q: string, s: string) => `/custom/api/statement/scheduled/${q}/${s}/2`,
      (q: string) => `/ui/api/query/${q}`,
      (q: string, s: string) => `/ui/api/query/${q}/${s}`,
      (q: string) => `/v1/query/${q}?pretty`,
      (q: string, s: string) => `/ui/${s}?queryId=${q}`,
      (q: string) => `/ui/query.html?${q}`,
      (q: string) => `/login?redirect=%2Fui%2Fapi%2Fquery%2F${q}`,
    ]
    fc.assert(
      fc.property(idArbitrary, slugArbitrary, fc.nat(shapes.length - 1), (queryId, slug, shape) => {
        expect(get((shapes[shape] as (q: string, s: string) => string)(queryId, slug))).toBe(queryId)
      }),
      { numRuns: 500 },
    )
  })

  it('finds the id of any kill_query call, however commented', () => {
    fc.assert(
      fc.property(idArbitrary, fc.constantFrom(' ', '\n', ' /* c */ ', ' -- c\n'), (queryId, gap) => {
        const body = `CALL${gap}system.runtime.kill_query(${gap}'${queryId}'${gap})`
        expect(post(body)).toBe(queryId)
      }),
    )
  })
})
