import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { expectationSchema } from '../scenario/schema.ts'
import {
  type ClusterQuery,
  checkExpectation,
  contendedStarts,
  inFlightPeak,
  type Observations,
  type ObservedQuery,
  percentile,
} from './expectations.ts'

function query(client: string, seq: number, fields: Partial<ObservedQuery> = {}): ObservedQuery {
  return {
    client,
    seq,
    traceToken: `s/${client}/${seq}`,
    queryId: `q-${client}-${seq}`,
    cluster: 'trino-a',
    routingGroup: 'adhoc',
    resourceGroup: 'global',
    state: 'FINISHED',
    errorName: undefined,
    queuedMs: 10,
    runMs: 100,
    totalMs: 110,
    httpErrors: [],
    ...fields,
  }
}

function record(
  cluster: string,
  id: string,
  group: string,
  created: number,
  started?: number,
  finished?: number,
): ClusterQuery {
  return {
    cluster,
    queryId: id,
    traceToken: undefined,
    resourceGroup: group,
    state: finished === undefined ? 'RUNNING' : 'FINISHED',
    errorName: undefined,
    createdAtMs: created,
    startedAtMs: started,
    finishedAtMs: finished,
  }
}

const observations = (queries: ObservedQuery[], clusterQueries: ClusterQuery[] = []): Observations => ({
  queries,
  clusterQueries,
})

const check = (raw: Record<string, unknown>, observed: Observations) =>
  checkExpectation(expectationSchema.parse(raw), observed)

describe('expectations', () => {
  const twoClients = observations([
    query('plain', 1),
    query('plain', 2),
    query('named', 1, { cluster: 'trino-b', routingGroup: 'internal' }),
    query('named', 2, { cluster: 'trino-b', routingGroup: 'internal' }),
  ])

  it.each([
    {
      what: 'ranOn holds when every query ran on a listed cluster',
      raw: { kind: 'ranOn', client: 'plain', clusters: ['trino-a'] },
      passed: true,
      actual: /2 of 2 on trino-a 2/,
    },
    {
      what: 'ranOn fails naming the query that ran elsewhere',
      raw: { kind: 'ranOn', clusters: ['trino-a'] },
      passed: false,
      actual: /2 of 4 elsewhere.*s\/named\/1 on trino-b/,
    },
    {
      what: 'ranOn fails when the client ran no query',
      raw: { kind: 'ranOn', client: 'ghost', clusters: ['trino-a'] },
      passed: false,
      actual: /no queries/,
    },
    {
      what: 'routingGroup holds for a client in its group',
      raw: { kind: 'routingGroup', client: 'named', group: 'internal' },
      passed: true,
      actual: /2 of 2 in internal/,
    },
    {
      what: 'routingGroup fails showing the group a query had',
      raw: { kind: 'routingGroup', group: 'internal' },
      passed: false,
      actual: /s\/plain\/1 in adhoc/,
    },
    {
      what: 'resourceGroup holds',
      raw: { kind: 'resourceGroup', group: 'global' },
      passed: true,
      actual: /4 of 4/,
    },
    {
      what: 'clusterShares holds inside bounds',
      raw: { kind: 'clusterShares', shares: { 'trino-a': { min: 0.4, max: 0.6 }, 'trino-b': { min: 0.4 } } },
      passed: true,
      actual: /trino-a 50.0% \(2\/4\)/,
    },
    {
      what: 'clusterShares fails outside bounds',
      raw: { kind: 'clusterShares', shares: { 'trino-a': { max: 0.25 } } },
      passed: false,
      actual: /trino-a 50.0%/,
    },
    {
      what: 'balance of totals holds within the ratio',
      raw: { kind: 'balance', clusters: ['trino-a', 'trino-b'], ratioMax: 1 },
      passed: true,
      actual: /ratio 1.00/,
    },
    {
      what: 'balance fails when a cluster got nothing',
      raw: { kind: 'balance', client: 'plain', clusters: ['trino-a', 'trino-b'], ratioMax: 3 },
      passed: false,
      actual: /trino-b 0 \(ratio infinite\)/,
    },
    {
      what: 'latency holds under the bound',
      raw: { kind: 'latency', metric: 'totalMs', percentile: 95, maxMs: 110 },
      passed: true,
      actual: /p95 totalMs = 110 ms over 4/,
    },
    {
      what: 'latency fails over the bound',
      raw: { kind: 'latency', routingGroup: 'internal', metric: 'runMs', percentile: 50, maxMs: 99 },
      passed: false,
      actual: /= 100 ms over 2/,
    },
    {
      what: 'errors holds with none expected and none seen',
      raw: { kind: 'errors' },
      passed: true,
      actual: /no errors in 4 queries/,
    },
    {
      what: 'noGatewayErrors holds with only 2xx',
      raw: { kind: 'noGatewayErrors' },
      passed: true,
      actual: /none in 4/,
    },
  ])('$what', ({ raw, passed, actual }) => {
    const outcome = check(raw, twoClients)
    expect(outcome.passed).toBe(passed)
    expect(outcome.actual).toMatch(actual)
    expect(outcome.message).toContain(outcome.expected)
    expect(outcome.message).toContain(outcome.actual)
  })

  const failing = observations([
    query('c', 1, { state: 'FAILED', errorName: 'QUERY_QUEUE_FULL' }),
    query('c', 2, { state: 'FAILED', errorName: 'QUERY_QUEUE_FULL' }),
    query('c', 3, {
      state: 'FAILED',
      errorName: 'HTTP_500',
      httpErrors: [{ method: 'POST', gateway: 0, status: 500, retried: false }],
    }),
    query('c', 4, { httpErrors: [{ method: 'GET', gateway: 1, status: 503, retried: true }] }),
  ])

  it.each([
    {
      what: 'errors fails on an error name not listed',
      raw: { kind: 'errors', counts: { QUERY_QUEUE_FULL: 2 } },
      passed: false,
      actual: /unexpected: s\/c\/3 HTTP_500/,
    },
    {
      what: 'errors holds when every name is listed with its count',
      raw: { kind: 'errors', counts: { QUERY_QUEUE_FULL: 2, HTTP_500: { min: 1 } } },
      passed: true,
      actual: /QUERY_QUEUE_FULL 2, HTTP_500 1/,
    },
    {
      what: 'errors fails when a count is off',
      raw: { kind: 'errors', counts: { QUERY_QUEUE_FULL: 1, HTTP_500: 1 } },
      passed: false,
      actual: /QUERY_QUEUE_FULL 2/,
    },
    {
      what: 'noGatewayErrors fails listing the statuses',
      raw: { kind: 'noGatewayErrors' },
      passed: false,
      actual: /1x POST 500, 1x GET 503/,
    },
    {
      what: 'noGatewayErrors holds when the statuses are allowed',
      raw: { kind: 'noGatewayErrors', allowStatuses: [500, 503] },
      passed: true,
      actual: /none/,
    },
  ])('$what', ({ raw, passed, actual }) => {
    const outcome = check(raw, failing)
    expect(outcome.passed).toBe(passed)
    expect(outcome.actual).toMatch(actual)
  })

  it('measures the in-flight peak, a slot freed and retaken at one instant counting once', () => {
    expect(
      inFlightPeak([
        record('a', '1', 'g', 0, 0, 10),
        record('a', '2', 'g', 10, 10, 20),
        record('a', '3', 'g', 5, 5, 15),
      ]),
    ).toBe(2)
    expect(inFlightPeak([])).toBe(0)
  })

  it('balances in-flight peaks from the cluster records', () => {
    const observed = observations(
      [],
      [
        record('trino-a', '1', 'g', 0, 0, 10),
        record('trino-a', '2', 'g', 0, 0, 10),
        record('trino-b', '3', 'g', 0, 0, 10),
      ],
    )
    const outcome = check(
      { kind: 'balance', clusters: ['trino-a', 'trino-b'], measure: 'inFlightPeak', ratioMax: 1.5 },
      observed,
    )
    expect(outcome).toMatchObject({ passed: false, actual: 'trino-a 2, trino-b 1 (ratio 2.00)' })
  })

  it('counts only starts made while two of the groups were waiting on the cluster', () => {
    const records = [
      // Idle cluster: the first query of each group starts at once, no contention.
      record('a', 'l1', 'large', 0, 0, 100),
      record('a', 'd1', 'default', 0, 0, 100),
      // Both groups wait from 10 ms; large starts at 100, default at 150.
      record('a', 'l2', 'large', 10, 100, 200),
      record('a', 'd2', 'default', 10, 150, 200),
      // Waits alone after the default query started: not contended.
      record('a', 'l3', 'large', 10, 200, 300),
      // Another cluster's waiting queries never contend with this one's.
      record('b', 'x1', 'default', 10, 120, 130),
    ]
    expect(contendedStarts(records, new Set(['large', 'default']))).toEqual(
      new Map([
        ['large', 1],
        ['default', 1],
      ]),
    )
    const outcome = check(
      { kind: 'startShares', groups: { large: { min: 0.6 }, default: { max: 0.4 } } },
      observations([], records),
    )
    expect(outcome).toMatchObject({ passed: false, actual: 'large 50.0% (1/2), default 50.0% (1/2)' })
  })

  it('fails startShares when nothing was contended', () => {
    const outcome = check(
      { kind: 'startShares', groups: { a: { min: 0 }, b: { min: 0 } } },
      observations([], [record('x', '1', 'a', 0, 0, 1)]),
    )
    expect(outcome).toMatchObject({ passed: false, actual: /no start happened/ })
  })

  it('takes nearest-rank percentiles that are always one of the values', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3)
    expect(percentile([5, 1, 3, 2, 4], 100)).toBe(5)
    expect(percentile([5, 1, 3, 2, 4], 0)).toBe(1)
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 100 }),
        (values, p) => {
          const value = percentile(values, p)
          expect(values).toContain(value)
          expect(values.filter((v) => v <= value).length / values.length).toBeGreaterThanOrEqual(p / 100)
        },
      ),
    )
  })
})

describe('backendHeader', () => {
  const routed = { 'x-routed-by': 'scenario-router', 'x-trino-user': 'harness' }
  it.each([
    { waits: [100, 200, 2900], maxMs: 3000, passed: true, actual: /p100 clusterQueuedMs = 2900 ms over 3/ },
    { waits: [100, 200, 3100], maxMs: 3000, passed: false, actual: /= 3100 ms/ },
    {
      waits: [100, undefined, 50],
      maxMs: 3000,
      passed: false,
      actual: /1 of 3 queries have no clusterQueuedMs/,
    },
  ])(
    'latency of clusterQueuedMs: the wait the cluster recorded ($waits, bound $maxMs)',
    ({ waits, maxMs, passed, actual }) => {
      const queries = waits.map((wait, i) => query('c', i + 1, { queuedMs: 1, clusterQueuedMs: wait }))
      const outcome = check(
        { kind: 'latency', client: 'c', metric: 'clusterQueuedMs', percentile: 100, maxMs },
        observations(queries),
      )
      expect(outcome.passed).toBe(passed)
      expect(outcome.actual).toMatch(actual)
    },
  )

  it.each<[string, string | null, Array<Partial<ObservedQuery>>, boolean, string]>([
    [
      'X-Routed-By',
      'scenario-router',
      [{ backendHeaders: routed }, { backendHeaders: routed }],
      true,
      'in all 2',
    ],
    ['x-routed-by', 'scenario-router', [{ backendHeaders: routed }], true, 'in all 1'],
    ['X-Routed-By', 'scenario-router', [{ backendHeaders: routed }, { backendHeaders: {} }], false, 'absent'],
    ['X-Routed-By', null, [{ backendHeaders: { 'x-trino-user': 'a' } }], true, 'absent in all 1'],
    ['X-Routed-By', null, [{ backendHeaders: routed }], false, '"scenario-router"'],
    [
      'X-Routed-By',
      'scenario-router',
      [{ backendHeaders: undefined, cluster: undefined }],
      false,
      'reached no cluster',
    ],
    ['constructor', null, [{ backendHeaders: {} }], true, 'absent in all 1'],
  ])('%s expected %j', (header, value, fields, passed, actual) => {
    const outcome = check(
      { kind: 'backendHeader', header, value },
      observations(fields.map((f, i) => query('c', i, f))),
    )
    expect(outcome.passed).toBe(passed)
    expect(outcome.actual).toContain(actual)
  })

  it('fails when the client sent no queries', () => {
    expect(check({ kind: 'backendHeader', header: 'X', value: null }, observations([])).passed).toBe(false)
  })
})
