import type { ExpectationSpec } from '../scenario/schema.ts'
import type { HttpErrorRecord } from '../workload/trino-client.ts'

/**
 * Scenario expectations as pure functions over what a run observed: the queries as the clients
 * saw them (joined with the cluster that ran each) and the records every mock cluster kept. Each
 * returns `{ name, passed, expected, actual, message }`; the message shows both sides.
 */

/** One query of a client, joined with what the cluster that ran it recorded. */
export interface ObservedQuery {
  client: string
  seq: number
  traceToken: string
  queryId: string | undefined
  /** The backend name of the cluster that ran it; undefined when no cluster saw it. */
  cluster: string | undefined
  routingGroup: string | undefined
  /** Dot-joined resource group id, as the cluster reported it. */
  resourceGroup: string | undefined
  state: string
  errorName: string | undefined
  queuedMs: number
  runMs: number
  totalMs: number
  /** The queue wait the serving cluster recorded (creation to admission); undefined when none did. */
  clusterQueuedMs?: number | undefined
  httpErrors: readonly HttpErrorRecord[]
  /** Request headers of the statement POST as the serving cluster recorded them (names lower-cased). */
  backendHeaders?: Readonly<Record<string, string>> | undefined
}

/** A query as one mock cluster recorded it (times in epoch ms). */
export interface ClusterQuery {
  cluster: string
  queryId: string
  traceToken: string | undefined
  resourceGroup: string | undefined
  state: string
  errorName: string | undefined
  createdAtMs: number
  startedAtMs: number | undefined
  finishedAtMs: number | undefined
  /** The cluster's queue wait: creation to admission, or to the end of a query that never started. */
  queuedMs?: number | undefined
  /** Request headers of the statement POST, names lower-cased, as the cluster received them. */
  headers?: Readonly<Record<string, string>> | undefined
}

export interface Observations {
  queries: readonly ObservedQuery[]
  clusterQueries: readonly ClusterQuery[]
}

export interface ExpectationResult {
  name: string
  passed: boolean
  expected: string
  actual: string
  /** `name: expected …, actual …` for logs and failure lists. */
  message: string
}

/** How many offending queries a message lists before summarising the rest. */
export const offendersListedMax = 5

export function checkExpectations(
  specs: readonly ExpectationSpec[],
  observations: Observations,
): ExpectationResult[] {
  return specs.map((spec) => checkExpectation(spec, observations))
}

export function checkExpectation(spec: ExpectationSpec, observations: Observations): ExpectationResult {
  switch (spec.kind) {
    case 'ranOn':
      return ranOn(spec, observations)
    case 'clusterShares':
      return clusterShares(spec, observations)
    case 'balance':
      return balance(spec, observations)
    case 'routingGroup':
      return everyQuery(spec, observations, 'routing group', (query) => query.routingGroup, spec.group)
    case 'resourceGroup':
      return everyQuery(spec, observations, 'resource group', (query) => query.resourceGroup, spec.group)
    case 'latency':
      return latency(spec, observations)
    case 'startShares':
      return startShares(spec, observations)
    case 'errors':
      return errors(spec, observations)
    case 'noGatewayErrors':
      return noGatewayErrors(spec, observations)
    case 'backendHeader':
      return backendHeader(spec, observations)
  }
}

type Spec<K extends ExpectationSpec['kind']> = Extract<ExpectationSpec, { kind: K }>

function result(name: string, passed: boolean, expected: string, actual: string): ExpectationResult {
  return { name, passed, expected, actual, message: `${name}: expected ${expected}; actual ${actual}` }
}

function whose(client: string | undefined): string {
  return client === undefined ? 'every query' : `every query of ${client}`
}

function selected(observations: Observations, client: string | undefined): readonly ObservedQuery[] {
  return client === undefined ? observations.queries : observations.queries.filter((q) => q.client === client)
}

function listOffenders(
  queries: readonly ObservedQuery[],
  describe: (query: ObservedQuery) => string,
): string {
  const shown = queries.slice(0, offendersListedMax).map((query) => `${query.traceToken} ${describe(query)}`)
  const more = queries.length - shown.length
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`
}

function formatBounds(
  bounds: { min?: number | undefined; max?: number | undefined },
  format: (n: number) => string,
) {
  if (bounds.min !== undefined && bounds.max !== undefined)
    return `${format(bounds.min)}..${format(bounds.max)}`
  if (bounds.min !== undefined) return `>= ${format(bounds.min)}`
  if (bounds.max !== undefined) return `<= ${format(bounds.max)}`
  return 'any'
}

function within(value: number, bounds: { min?: number | undefined; max?: number | undefined }): boolean {
  return (
    (bounds.min === undefined || value >= bounds.min) && (bounds.max === undefined || value <= bounds.max)
  )
}

function ranOn(spec: Spec<'ranOn'>, observations: Observations): ExpectationResult {
  const queries = selected(observations, spec.client)
  const allowed = new Set(spec.clusters)
  const name = spec.name ?? `${whose(spec.client)} ran on ${spec.clusters.join(' or ')}`
  const expected = `${whose(spec.client)} on ${spec.clusters.join(' or ')}`
  if (queries.length === 0) return result(name, false, expected, 'no queries')
  const offenders = queries.filter((query) => query.cluster === undefined || !allowed.has(query.cluster))
  const perCluster = [...countBy(queries, (query) => query.cluster ?? '(no cluster)')]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([cluster, count]) => `${cluster} ${count}`)
    .join(', ')
  const actual =
    offenders.length === 0
      ? `${queries.length} of ${queries.length} on ${perCluster}`
      : `${offenders.length} of ${queries.length} elsewhere (${perCluster}): ${listOffenders(offenders, (q) => `on ${q.cluster ?? 'no cluster'}${q.errorName ? ` (${q.errorName})` : ''}`)}`
  return result(name, offenders.length === 0, expected, actual)
}

function clusterShares(spec: Spec<'clusterShares'>, observations: Observations): ExpectationResult {
  const queries = selected(observations, spec.client)
  const counts = countBy(queries, (query) => query.cluster ?? '(no cluster)')
  const clusters = Object.keys(spec.shares)
  const name = spec.name ?? `shares of ${whose(spec.client)} per cluster`
  const expected = clusters
    .map((cluster) => `${cluster} ${formatBounds(spec.shares[cluster] ?? {}, formatShare)}`)
    .join(', ')
  if (queries.length === 0) return result(name, false, expected, 'no queries')
  const shares = clusters.map((cluster) => ({ cluster, share: (counts.get(cluster) ?? 0) / queries.length }))
  const passed = shares.every(({ cluster, share }) => within(share, spec.shares[cluster] ?? {}))
  const actual = shares
    .map(
      ({ cluster, share }) =>
        `${cluster} ${formatShare(share)} (${counts.get(cluster) ?? 0}/${queries.length})`,
    )
    .join(', ')
  return result(name, passed, expected, actual)
}

function balance(spec: Spec<'balance'>, observations: Observations): ExpectationResult {
  const name = spec.name ?? `balance of ${spec.measure} across ${spec.clusters.join(', ')}`
  const expected = `max/min ${spec.measure} <= ${spec.ratioMax}`
  const values = new Map<string, number>()
  if (spec.measure === 'total') {
    const counts = countBy(selected(observations, spec.client), (query) => query.cluster ?? '')
    for (const cluster of spec.clusters) values.set(cluster, counts.get(cluster) ?? 0)
  } else {
    const ids = clientQueryIds(observations, spec.client)
    for (const cluster of spec.clusters) {
      const records = observations.clusterQueries.filter(
        (record) => record.cluster === cluster && (ids === undefined || ids.has(record.queryId)),
      )
      values.set(cluster, inFlightPeak(records))
    }
  }
  const numbers = [...values.values()]
  const max = Math.max(...numbers)
  const min = Math.min(...numbers)
  const ratio = max === 0 ? 1 : min === 0 ? Number.POSITIVE_INFINITY : max / min
  const actual = `${[...values].map(([cluster, value]) => `${cluster} ${value}`).join(', ')} (ratio ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'infinite'})`
  return result(
    name,
    max > 0 && ratio <= spec.ratioMax,
    expected,
    max === 0 ? `nothing ran: ${actual}` : actual,
  )
}

function clientQueryIds(observations: Observations, client: string | undefined): Set<string> | undefined {
  if (client === undefined) return undefined
  return new Set(selected(observations, client).flatMap((query) => query.queryId ?? []))
}

/** The most queries a cluster held at once, queued or running (created until finished). */
export function inFlightPeak(records: readonly ClusterQuery[]): number {
  const events: Array<[number, number]> = []
  for (const record of records) {
    events.push([record.createdAtMs, 1])
    events.push([record.finishedAtMs ?? Number.POSITIVE_INFINITY, -1])
  }
  // Ends before starts at the same instant: a slot freed and taken again is not two in flight.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let current = 0
  let peak = 0
  for (const [, delta] of events) {
    current += delta
    peak = Math.max(peak, current)
  }
  return peak
}

function everyQuery(
  spec: Spec<'routingGroup'> | Spec<'resourceGroup'>,
  observations: Observations,
  what: string,
  read: (query: ObservedQuery) => string | undefined,
  wanted: string,
): ExpectationResult {
  const queries = selected(observations, spec.client)
  const name = spec.name ?? `${whose(spec.client)} in ${what} ${wanted}`
  const expected = `${what} ${wanted} for ${whose(spec.client)}`
  if (queries.length === 0) return result(name, false, expected, 'no queries')
  const offenders = queries.filter((query) => read(query) !== wanted)
  const actual =
    offenders.length === 0
      ? `${queries.length} of ${queries.length} in ${wanted}`
      : `${offenders.length} of ${queries.length} elsewhere: ${listOffenders(offenders, (q) => `in ${read(q) ?? 'none'}`)}`
  return result(name, offenders.length === 0, expected, actual)
}

/** Nearest-rank percentile of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(sorted.length, rank) - 1] as number
}

function latency(spec: Spec<'latency'>, observations: Observations): ExpectationResult {
  const scope =
    spec.routingGroup !== undefined ? `routing group ${spec.routingGroup}` : (spec.client ?? 'every client')
  const queries =
    spec.routingGroup !== undefined
      ? observations.queries.filter((query) => query.routingGroup === spec.routingGroup)
      : selected(observations, spec.client)
  const name = spec.name ?? `p${spec.percentile} ${spec.metric} of ${scope}`
  const expected = `p${spec.percentile} ${spec.metric} <= ${spec.maxMs} ms`
  if (queries.length === 0) return result(name, false, expected, 'no queries')
  const values = queries.map((query) => query[spec.metric])
  // A query no cluster recorded has no cluster-side wait: the expectation cannot hold for it.
  const unseen = values.filter((value) => value === undefined).length
  if (unseen > 0)
    return result(name, false, expected, `${unseen} of ${queries.length} queries have no ${spec.metric}`)
  const value = percentile(values as number[], spec.percentile)
  return result(
    name,
    value <= spec.maxMs,
    expected,
    `p${spec.percentile} ${spec.metric} = ${value} ms over ${queries.length} queries`,
  )
}

/**
 * Shares of the starts that happened while the cluster was contended: while queries of at least two
 * of the named groups were waiting on the same cluster. Those starts are the scheduler's choices;
 * starts into an idle cluster say nothing about fairness.
 */
export function contendedStarts(
  records: readonly ClusterQuery[],
  groups: ReadonlySet<string>,
): Map<string, number> {
  const starts = new Map<string, number>([...groups].map((group) => [group, 0]))
  const byCluster = new Map<string, ClusterQuery[]>()
  for (const record of records) {
    if (record.resourceGroup === undefined || !groups.has(record.resourceGroup)) continue
    byCluster.set(record.cluster, [...(byCluster.get(record.cluster) ?? []), record])
  }
  for (const clusterRecords of byCluster.values()) {
    for (const record of clusterRecords) {
      const startedAt = record.startedAtMs
      if (startedAt === undefined) continue
      const waitingGroups = new Set(
        clusterRecords
          .filter((other) => other.createdAtMs < startedAt && waitEndMs(other) >= startedAt)
          .map((other) => other.resourceGroup as string),
      )
      if (waitingGroups.size >= 2 && waitingGroups.has(record.resourceGroup as string)) {
        starts.set(record.resourceGroup as string, (starts.get(record.resourceGroup as string) ?? 0) + 1)
      }
    }
  }
  return starts
}

/** A query waits from creation until it starts, or until it ends without starting (rejected, canceled). */
function waitEndMs(record: ClusterQuery): number {
  return record.startedAtMs ?? record.finishedAtMs ?? Number.POSITIVE_INFINITY
}

function startShares(spec: Spec<'startShares'>, observations: Observations): ExpectationResult {
  const groups = Object.keys(spec.groups)
  const records = observations.clusterQueries.filter(
    (record) => spec.cluster === undefined || record.cluster === spec.cluster,
  )
  const starts = contendedStarts(records, new Set(groups))
  const total = [...starts.values()].reduce((sum, n) => sum + n, 0)
  const name = spec.name ?? `shares of starts while contended${spec.cluster ? ` on ${spec.cluster}` : ''}`
  const expected = groups
    .map((group) => `${group} ${formatBounds(spec.groups[group] ?? {}, formatShare)}`)
    .join(', ')
  if (total === 0)
    return result(name, false, expected, 'no start happened while two of the groups were waiting')
  const passed = groups.every((group) => within((starts.get(group) ?? 0) / total, spec.groups[group] ?? {}))
  const actual = groups
    .map(
      (group) =>
        `${group} ${formatShare((starts.get(group) ?? 0) / total)} (${starts.get(group) ?? 0}/${total})`,
    )
    .join(', ')
  return result(name, passed, expected, actual)
}

function errors(spec: Spec<'errors'>, observations: Observations): ExpectationResult {
  const queries = selected(observations, spec.client)
  const counts = countBy(
    queries.filter((query) => query.errorName !== undefined),
    (query) => query.errorName as string,
  )
  const listed = Object.keys(spec.counts)
  const name = spec.name ?? `errors of ${whose(spec.client).replace(/^every query/, 'the queries')}`
  const expected =
    listed.length === 0
      ? 'no errors'
      : `${listed
          .map((errorName) => {
            const bound = spec.counts[errorName] ?? 0
            return `${errorName} ${typeof bound === 'number' ? `= ${bound}` : formatBounds(bound, String)}`
          })
          .join(', ')}, no other error`
  const listedOk = listed.every((errorName) => {
    const bound = spec.counts[errorName] ?? 0
    const count = counts.get(errorName) ?? 0
    return typeof bound === 'number' ? count === bound : within(count, bound)
  })
  const unlisted = [...counts.keys()].filter((errorName) => !listed.includes(errorName))
  const names = [...new Set([...listed, ...counts.keys()])]
  const actual =
    counts.size === 0 && listed.length === 0
      ? `no errors in ${queries.length} queries`
      : `${names.map((errorName) => `${errorName} ${counts.get(errorName) ?? 0}`).join(', ')} in ${queries.length} queries${
          unlisted.length > 0
            ? `; unexpected: ${listOffenders(
                queries.filter((q) => q.errorName !== undefined && unlisted.includes(q.errorName)),
                (q) => q.errorName as string,
              )}`
            : ''
        }`
  return result(name, listedOk && unlisted.length === 0, expected, actual)
}

function noGatewayErrors(spec: Spec<'noGatewayErrors'>, observations: Observations): ExpectationResult {
  const allowed = new Set(spec.allowStatuses)
  const queries = selected(observations, spec.client)
  const offenders = queries.filter((query) => query.httpErrors.some((error) => !allowed.has(error.status)))
  const name = spec.name ?? `no non-2xx from the gateway for ${whose(spec.client).replace(/^every /, 'any ')}`
  const expected = allowed.size === 0 ? 'only 2xx responses' : `only 2xx or ${[...allowed].join(', ')}`
  const statuses = countBy(
    queries.flatMap((query) => query.httpErrors.filter((error) => !allowed.has(error.status))),
    (error) => `${error.method} ${error.status}`,
  )
  const actual =
    offenders.length === 0
      ? `none in ${queries.length} queries`
      : `${[...statuses].map(([what, n]) => `${n}x ${what}`).join(', ')}: ${listOffenders(offenders, (q) =>
          q.httpErrors
            .filter((error) => !allowed.has(error.status))
            .map((error) => `${error.method} ${error.status}${error.retried ? ' (retried)' : ''}`)
            .join(' '),
        )}`
  return result(name, offenders.length === 0, expected, actual)
}

function backendHeader(spec: Spec<'backendHeader'>, observations: Observations): ExpectationResult {
  const queries = selected(observations, spec.client)
  const key = spec.header.toLowerCase()
  const headerAt = (query: ObservedQuery): string | null | undefined =>
    query.backendHeaders === undefined
      ? undefined
      : Object.hasOwn(query.backendHeaders, key)
        ? (query.backendHeaders[key] as string)
        : null
  // A query no cluster saw proves nothing about what reached the backend: it fails the expectation.
  const offenders = queries.filter((query) => headerAt(query) !== spec.value)
  const wanted = spec.value === null ? 'absent' : JSON.stringify(spec.value)
  const name = spec.name ?? `${spec.header} at the backend for ${whose(spec.client)}`
  const actual =
    queries.length === 0
      ? 'no queries'
      : offenders.length === 0
        ? `${wanted} in all ${queries.length} queries`
        : `${offenders.length} of ${queries.length} differ: ${listOffenders(offenders, (query) => {
            const value = headerAt(query)
            return value === undefined
              ? 'reached no cluster'
              : value === null
                ? 'absent'
                : JSON.stringify(value)
          })}`
  return result(name, queries.length > 0 && offenders.length === 0, `${spec.header} ${wanted}`, actual)
}
