import type { StatementResponse } from '../coordinator.ts'
import { isTrinoErrorName, trinoErrorCodes } from '../errors.ts'
import type { MockQueryRecord } from '../types.ts'
import type { Headers } from './session.ts'

/**
 * Renders the coordinator's answers as Trino's JSON: absent fields omitted (airlift's NON_ABSENT),
 * absolute URIs built from the request's base URI, errors with Trino's names and codes.
 */

export interface TrinoQueryError {
  message: string
  errorCode: number
  errorName: string
  errorType: string
  failureInfo: { type: string; message: string; suppressed: never[]; stack: string[] }
}

export function queryError(errorName: string, message: string): TrinoQueryError {
  const known = isTrinoErrorName(errorName)
    ? trinoErrorCodes[errorName]
    : trinoErrorCodes.GENERIC_INTERNAL_ERROR
  return {
    message,
    errorCode: known.code,
    errorName: known.name,
    errorType: known.type,
    failureInfo: { type: known.failureType, message, suppressed: [], stack: [] },
  }
}

function first(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const text = Array.isArray(value) ? value[0] : value
  // A proxy chain appends; Trino's Jetty takes the first (client-facing) value.
  return text?.split(',')[0]?.trim() || undefined
}

/**
 * The base URI of absolute `nextUri`/`infoUri` links: from `X-Forwarded-Proto|Host|Port` when
 * `processForwarded` (Trino's `http-server.process-forwarded=true`), else from the Host header.
 */
export function baseUri(headers: Headers, processForwarded: boolean, fallbackHost: string): string {
  const host = first(headers.host) ?? fallbackHost
  if (!processForwarded) return `http://${host}`
  const proto = first(headers['x-forwarded-proto']) ?? 'http'
  let forwardedHost = first(headers['x-forwarded-host']) ?? host
  const port = first(headers['x-forwarded-port'])
  if (port !== undefined) {
    forwardedHost = `${stripPort(forwardedHost)}${defaultPort(proto) === port ? '' : `:${port}`}`
  }
  return `${proto}://${forwardedHost}`
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end < 0 ? host : host.slice(0, end + 1)
  }
  const colon = host.lastIndexOf(':')
  return colon < 0 ? host : host.slice(0, colon)
}

function defaultPort(proto: string): string {
  return proto === 'https' ? '443' : '80'
}

export function infoUri(base: string, queryId: string): string {
  return `${base}/ui/query.html?${queryId}`
}

export function nextUriOf(base: string, response: StatementResponse): string | undefined {
  const next = response.next
  if (next === undefined) return undefined
  return `${base}/v1/statement/${next.context}/${response.queryId}/${response.slug}/${next.token}`
}

/** The POST response, assembled from constant pieces: it is the hot path of the benchmark. */
export function renderCreated(base: string, queryId: string, slug: string): string {
  return `{"id":"${queryId}","infoUri":"${base}/ui/query.html?${queryId}","nextUri":"${base}/v1/statement/queued/${queryId}/${slug}/1","stats":${queuedStatsJson},"warnings":[]}`
}

const queuedStatsJson = JSON.stringify({
  state: 'QUEUED',
  queued: true,
  scheduled: false,
  nodes: 0,
  totalSplits: 0,
  queuedSplits: 0,
  runningSplits: 0,
  completedSplits: 0,
  cpuTimeMillis: 0,
  wallTimeMillis: 0,
  queuedTimeMillis: 0,
  elapsedTimeMillis: 0,
  processedRows: 0,
  processedBytes: 0,
  physicalInputBytes: 0,
  physicalWrittenBytes: 0,
  peakMemoryBytes: 0,
  spilledBytes: 0,
})

/** Bytes per generated row, so processedBytes grows with rows as on a real cluster. */
const rowBytesEstimate = 16

function statementStats(response: StatementResponse): Record<string, unknown> {
  const done = response.state === 'FINISHED' || response.state === 'FAILED'
  const scheduled = response.scheduled
  const stats: Record<string, unknown> = {
    state: response.state,
    queued: response.queued,
    scheduled,
    nodes: scheduled ? 1 : 0,
    totalSplits: scheduled ? 1 : 0,
    queuedSplits: 0,
    runningSplits: scheduled && !done ? 1 : 0,
    completedSplits: scheduled && done ? 1 : 0,
    cpuTimeMillis: response.cpuTimeMs,
    wallTimeMillis: response.cpuTimeMs,
    queuedTimeMillis: response.queuedMs,
    elapsedTimeMillis: response.elapsedMs,
    processedRows: response.processedRows,
    processedBytes: response.processedRows * rowBytesEstimate,
    physicalInputBytes: 0,
    physicalWrittenBytes: 0,
    peakMemoryBytes: 0,
    spilledBytes: 0,
  }
  if (scheduled) {
    stats.progressPercentage = done ? 100 : 0
    stats.rootStage = {
      stageId: '0',
      state: done ? response.state : 'RUNNING',
      done,
      nodes: 1,
      totalSplits: 1,
      queuedSplits: 0,
      runningSplits: done ? 0 : 1,
      completedSplits: done ? 1 : 0,
      cpuTimeMillis: response.cpuTimeMs,
      wallTimeMillis: response.cpuTimeMs,
      processedRows: response.processedRows,
      processedBytes: response.processedRows * rowBytesEstimate,
      physicalInputBytes: 0,
      failedTasks: 0,
      coordinatorOnly: false,
      subStages: [],
    }
  }
  return stats
}

export function renderStatement(base: string, response: StatementResponse): string {
  const body: Record<string, unknown> = { id: response.queryId, infoUri: infoUri(base, response.queryId) }
  const nextUri = nextUriOf(base, response)
  if (nextUri !== undefined) body.nextUri = nextUri
  if (response.columns !== undefined) body.columns = response.columns
  if (response.data !== undefined && response.data.length > 0) body.data = response.data
  body.stats = statementStats(response)
  if (response.error !== undefined) body.error = queryError(response.error.errorName, response.error.message)
  body.warnings = []
  if (response.updateType !== undefined) body.updateType = response.updateType
  return JSON.stringify(body)
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString()
}

/** Airlift's Duration string: two decimals in the largest unit that keeps the value at least 1. */
export function airliftDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ]
  for (const [unit, factor] of units) {
    if (ms >= factor) return `${(ms / factor).toFixed(2)}${unit}`
  }
  return `${(ms * 1_000_000).toFixed(2)}ns`
}

function sessionOf(record: MockQueryRecord): Record<string, unknown> {
  const session: Record<string, unknown> = {
    queryId: record.queryId,
    clientTransactionSupport: false,
    user: record.user,
    groups: [],
    enabledRoles: [],
    path: '',
    timeZoneKey: 0,
    timeZone: 'UTC',
    locale: 'en_US',
    clientTags: record.clientTags,
    clientCapabilities: [],
    resourceEstimates: {},
    start: iso(record.createdAtMs),
    systemProperties: record.sessionProperties,
    catalogProperties: {},
    preparedStatements: {},
    protocolName: 'trino',
  }
  if (record.source !== undefined) session.source = record.source
  if (record.catalog !== undefined) session.catalog = record.catalog
  if (record.schema !== undefined) session.schema = record.schema
  if (record.traceToken !== undefined) session.traceToken = record.traceToken
  if (record.clientInfo !== undefined) session.clientInfo = record.clientInfo
  const userAgent = record.headers['user-agent']
  if (userAgent !== undefined) session.userAgent = userAgent
  return session
}

function queryStatsOf(record: MockQueryRecord, nowMs: number): Record<string, unknown> {
  const endMs = record.finishedAtMs ?? nowMs
  const queuedMs = (record.startedAtMs ?? endMs) - record.createdAtMs
  const stats: Record<string, unknown> = {
    createTime: iso(record.createdAtMs),
    queuedTime: airliftDuration(queuedMs),
    elapsedTime: airliftDuration(endMs - record.createdAtMs),
    executionTime: airliftDuration(record.startedAtMs === undefined ? 0 : endMs - record.startedAtMs),
    totalDrivers: record.startedAtMs === undefined ? 0 : 1,
    queuedDrivers: 0,
    runningDrivers: record.state === 'RUNNING' ? 1 : 0,
    completedDrivers: record.state === 'FINISHED' ? 1 : 0,
    rawInputDataSize: '0B',
    rawInputPositions: 0,
    physicalInputDataSize: '0B',
    cumulativeUserMemory: 0,
    userMemoryReservation: '0B',
    totalMemoryReservation: '0B',
    peakUserMemoryReservation: '0B',
    peakTotalMemoryReservation: '0B',
    totalCpuTime: airliftDuration(0),
    totalScheduledTime: airliftDuration(0),
    fullyBlocked: false,
    blockedReasons: [],
  }
  if (record.finishedAtMs !== undefined) stats.endTime = iso(record.finishedAtMs)
  if (record.state === 'FINISHED') stats.progressPercentage = 100
  return stats
}

function errorFields(record: MockQueryRecord, body: Record<string, unknown>): void {
  if (record.errorName === undefined) return
  const error = queryError(record.errorName, record.errorMessage ?? '')
  body.errorType = error.errorType
  body.errorCode = { code: error.errorCode, name: error.errorName, type: error.errorType, fatal: false }
}

/** `GET /v1/query`: Trino's BasicQueryInfo. */
export function basicQueryInfo(
  base: string,
  record: MockQueryRecord,
  nowMs: number,
): Record<string, unknown> {
  const body: Record<string, unknown> = { queryId: record.queryId, session: sessionOf(record) }
  if (record.resourceGroupId !== undefined) body.resourceGroupId = record.resourceGroupId
  body.state = record.state
  body.scheduled = record.startedAtMs !== undefined
  body.self = `${base}/v1/query/${record.queryId}`
  body.query = record.sql
  body.queryStats = queryStatsOf(record, nowMs)
  errorFields(record, body)
  if (record.queryType !== undefined) body.queryType = record.queryType
  return body
}

/** `GET /v1/query/{id}`: Trino's QueryInfo (the fields a mock can fill). */
export function queryInfo(base: string, record: MockQueryRecord, nowMs: number): Record<string, unknown> {
  const body = basicQueryInfo(base, record, nowMs)
  if (record.errorName !== undefined) {
    body.failureInfo = queryError(record.errorName, record.errorMessage ?? '').failureInfo
  }
  body.finalQueryInfo = record.state === 'FINISHED' || record.state === 'FAILED'
  return body
}

/** `GET /ui/api/query`: Trino's TrimmedBasicQueryInfo, which Trino Gateway's UI_API monitor reads. */
export function trimmedQueryInfo(
  base: string,
  record: MockQueryRecord,
  nowMs: number,
): Record<string, unknown> {
  const body: Record<string, unknown> = { queryId: record.queryId, sessionUser: record.user }
  if (record.source !== undefined) body.sessionSource = record.source
  if (record.resourceGroupId !== undefined) body.resourceGroupId = record.resourceGroupId
  body.state = record.state
  body.scheduled = record.startedAtMs !== undefined
  body.self = `${base}/v1/query/${record.queryId}`
  body.queryTextPreview = record.sql.slice(0, 300)
  body.queryStats = queryStatsOf(record, nowMs)
  errorFields(record, body)
  if (record.queryType !== undefined) body.queryType = record.queryType
  if (record.traceToken !== undefined) body.traceToken = record.traceToken
  body.clientTags = record.clientTags
  return body
}
