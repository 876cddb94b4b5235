import { BoundedMap } from '../common/bounded-map.ts'
import type { QueryDescriptor, QueryScheduler, QueryUsage } from '../trino/scheduler.ts'
import { type TrinoErrorName, trinoErrorCodes } from './errors.ts'
import { QueryIdGenerator } from './protocol/query-id.ts'
import { answerRuntimeQueries, readsRuntimeQueries } from './protocol/runtime-queries.ts'
import type { StatementSession } from './protocol/session.ts'
import {
  type Column,
  column,
  parseLiteralSelect,
  parseSessionStatement,
  queryTypeOf,
  resolveExecute,
  type SessionStatement,
} from './sql.ts'
import type { MockQueryRecord, MockQueryState, QueryCounts } from './types.ts'
import { parseDirective } from './workload/directive.ts'
import { cpuTimeMsAfter, planQuery, type QueryPlan, type Workload } from './workload/model.ts'

/**
 * The coordinator's functional core: every query's state machine and the admission through a
 * QueryScheduler, driven only by events (statement POSTs, polls, cancels) and the times they carry.
 * No timers, no sockets: the HTTP shell (`server.ts`) feeds it and renders what it returns.
 *
 * A query's life: QUEUED (created by the POST; submitted to the scheduler on the first poll, as
 * Trino does), then RUNNING from admission, producing its pages once `durationMs` has passed, then
 * FINISHED when the client has fetched the final response, or FAILED (its plan's failure, a
 * rejection, a cancel, or abandonment after `clientTimeoutMs` without a poll). The running slot is
 * held until FINISHED or FAILED.
 *
 * Usage: a running query holds its plan's `peakMemoryBytes` and accrues its plan's CPU time evenly
 * over `durationMs`. Every `advance` reports both to the scheduler (`updateUsage`, when it has one),
 * as Trino refreshes resource-group usage on its scheduling loop; the end of a query reports its
 * final CPU time with `release`, so resource groups' CPU and memory limits act on the model.
 */

/** Trino's `query.max-length` default. */
export const queryLengthCharsMaxDefault = 1_000_000
/** Trino's `query.client.timeout` default. */
export const clientTimeoutMsDefault = 5 * 60_000
/** How many finished queries stay listed (Trino: `query.max-history`); older ones are pruned. */
export const finishedQueriesMaxDefault = 10_000

export interface CoordinatorOptions {
  name: string
  seed: number
  workload: Workload
  scheduler: QueryScheduler
  clientTimeoutMs?: number
  finishedQueriesMax?: number
  queryLengthCharsMax?: number
  /** Draws the opaque slug of a query's URIs (the shell passes a seeded source). */
  nextSlug: () => string
  querySuffix: string
}

export interface StatementInput {
  sql: string
  session: StatementSession
  headers: Record<string, string>
}

export interface QueryFailure {
  errorName: string
  message: string
}

/** What one statement response says; `protocol/results.ts` renders it as Trino's JSON. */
export interface StatementResponse {
  queryId: string
  slug: string
  state: MockQueryState
  queued: boolean
  scheduled: boolean
  next?: { context: 'queued' | 'executing'; token: number }
  columns?: readonly Column[]
  data?: unknown[][]
  error?: QueryFailure
  updateType?: string
  setHeaders?: ReadonlyArray<readonly [string, string]>
  elapsedMs: number
  queuedMs: number
  processedRows: number
  cpuTimeMs: number
}

export interface ResultSet {
  columns: readonly Column[]
  rowCount: number
  row(index: number): unknown[]
}

interface Entry {
  record: MockQueryRecord
  seq: number
  slug: string
  /** Last queued token served (the POST is token 0). */
  queuedToken: number
  /** Last executing token served; -1 before the first. */
  executingToken: number
  lastExecuting?: StatementResponse
  submitted: boolean
  session?: StatementSession
  plan?: QueryPlan
  result?: ResultSet
  effect?: SessionStatement
  /** The statement that runs: the SQL, or the prepared statement an EXECUTE names. */
  resolvedSql?: string
  pendingFailure?: QueryFailure
  readyAtMs?: number
  rowsServed: number
  lastAccessMs: number
  finalServed: boolean
}

export type PollCheck = { kind: 'notFound' } | { kind: 'gone' } | { kind: 'ok'; queryId: string }

const generatedColumns: readonly Column[] = [column('row_number', 'bigint'), column('payload', 'varchar')]

export class Coordinator {
  readonly name: string
  readonly clientTimeoutMs: number
  readonly finishedQueriesMax: number
  private readonly queryLengthCharsMax: number
  private readonly ids: QueryIdGenerator
  private readonly active = new Map<string, Entry>()
  /** Finished entries in finishing order, pruned beyond `finishedQueriesMax`. */
  private readonly finished: BoundedMap<string, Entry>
  private sequence = 0
  private readonly totals = { finished: 0, failed: 0, canceled: 0 }
  private readonly live = { running: 0, queued: 0 }
  private changeListener: ((queryId: string) => void) | undefined

  constructor(private readonly options: CoordinatorOptions) {
    this.name = options.name
    this.clientTimeoutMs = options.clientTimeoutMs ?? clientTimeoutMsDefault
    this.finishedQueriesMax = options.finishedQueriesMax ?? finishedQueriesMaxDefault
    this.finished = new BoundedMap(this.finishedQueriesMax)
    this.queryLengthCharsMax = options.queryLengthCharsMax ?? queryLengthCharsMaxDefault
    this.ids = new QueryIdGenerator(options.querySuffix)
  }

  /** The admission scheduler, read by `/v1/resourceGroupState`. */
  get scheduler(): QueryScheduler {
    return this.options.scheduler
  }

  /** Called with a query's id whenever its state changes (admission, failure, finish). */
  onChange(listener: (queryId: string) => void): void {
    this.changeListener = listener
  }

  /** `POST /v1/statement`: allocates the query; it is submitted on its first poll. */
  create(input: StatementInput, nowMs: number): { queryId: string; slug: string } {
    const queryId = this.ids.next(nowMs)
    const record: MockQueryRecord = {
      queryId,
      sql: input.sql,
      user: input.session.user,
      clientTags: input.session.clientTags,
      sessionProperties: input.session.sessionProperties,
      headers: input.headers,
      state: 'QUEUED',
      createdAtMs: nowMs,
    }
    const { session } = input
    if (session.traceToken !== undefined) record.traceToken = session.traceToken
    if (session.source !== undefined) record.source = session.source
    if (session.catalog !== undefined) record.catalog = session.catalog
    if (session.schema !== undefined) record.schema = session.schema
    if (session.clientInfo !== undefined) record.clientInfo = session.clientInfo
    const entry: Entry = {
      record,
      seq: ++this.sequence,
      slug: this.options.nextSlug(),
      queuedToken: 0,
      executingToken: -1,
      submitted: false,
      session,
      rowsServed: 0,
      lastAccessMs: nowMs,
      finalServed: false,
    }
    this.active.set(queryId, entry)
    this.live.queued++
    return { queryId, slug: entry.slug }
  }

  /** Validates a queued-URI poll (Trino's token rules), records the heartbeat and submits the query. */
  checkQueued(queryId: string, slug: string, token: number, nowMs: number): PollCheck {
    const entry = this.find(queryId)
    if (entry === undefined || entry.slug !== slug) return { kind: 'notFound' }
    if (token !== entry.queuedToken && token !== entry.queuedToken + 1) return { kind: 'gone' }
    entry.lastAccessMs = nowMs
    if (!entry.submitted && entry.record.state === 'QUEUED') this.submit(entry, nowMs)
    return { kind: 'ok', queryId }
  }

  /** True when a queued poll has news: the query left the queue (dispatched or failed). */
  queuedSettled(queryId: string): boolean {
    const entry = this.find(queryId)
    return entry === undefined || entry.record.state !== 'QUEUED'
  }

  respondQueued(queryId: string, token: number, nowMs: number): StatementResponse | undefined {
    const entry = this.find(queryId)
    if (entry === undefined) return undefined
    entry.queuedToken = Math.max(entry.queuedToken, token)
    return this.queuedResponse(entry, token, nowMs)
  }

  /** Validates an executing-URI poll; a repeated token gets the identical cached response. */
  checkExecuting(
    queryId: string,
    slug: string,
    token: number,
    nowMs: number,
  ): PollCheck | { kind: 'cached'; response: StatementResponse } {
    const entry = this.find(queryId)
    if (entry === undefined || entry.slug !== slug || entry.record.startedAtMs === undefined) {
      return { kind: 'notFound' }
    }
    entry.lastAccessMs = nowMs
    if (token < entry.executingToken) return { kind: 'gone' }
    if (token === entry.executingToken && entry.lastExecuting !== undefined) {
      return { kind: 'cached', response: entry.lastExecuting }
    }
    if (token !== entry.executingToken + 1 || entry.finalServed) return { kind: 'notFound' }
    return { kind: 'ok', queryId }
  }

  /** True when an executing poll has news: a page, a final state. */
  executingSettled(queryId: string, nowMs: number): boolean {
    const entry = this.find(queryId)
    if (entry === undefined || entry.record.state !== 'RUNNING') return true
    return entry.readyAtMs !== undefined && nowMs >= entry.readyAtMs
  }

  /** When a running query's results (or failure) become due; the shell wakes its pollers then. */
  readyAtMs(queryId: string): number | undefined {
    return this.active.get(queryId)?.readyAtMs
  }

  respondExecuting(queryId: string, token: number, nowMs: number): StatementResponse | undefined {
    const entry = this.find(queryId)
    if (entry === undefined) return undefined
    // Two polls of one token can be in flight at once (a client retrying through a restarted
    // gateway while its first long poll is still held): the later one gets the identical answer,
    // and the query advances once, as in Trino.
    if (token === entry.executingToken && entry.lastExecuting !== undefined) return entry.lastExecuting
    this.settleDue(entry, nowMs)
    const response = this.executingResponse(entry, token, nowMs)
    entry.executingToken = token
    entry.lastExecuting = response
    if (response.next === undefined) entry.finalServed = true
    return response
  }

  slugMatches(queryId: string, slug: string): boolean {
    return this.find(queryId)?.slug === slug
  }

  /** DELETE of a nextUri or of `/v1/query/{id}`: FAILED with USER_CANCELED. */
  cancel(queryId: string, nowMs: number): boolean {
    const entry = this.active.get(queryId)
    if (entry === undefined) return false
    this.fail(entry, { errorName: 'USER_CANCELED', message: 'Query was canceled' }, nowMs)
    return true
  }

  /** `PUT /v1/query/{id}/killed|preempted`. */
  kill(
    queryId: string,
    errorName: 'ADMINISTRATIVELY_KILLED' | 'ADMINISTRATIVELY_PREEMPTED',
    message: string,
    nowMs: number,
  ): 'killed' | 'done' | 'unknown' {
    const entry = this.find(queryId)
    if (entry === undefined) return 'unknown'
    if (!this.active.has(queryId)) return 'done'
    this.fail(entry, { errorName, message }, nowMs)
    return 'killed'
  }

  /**
   * Advances time: the scheduler's tick, plan failures that fell due, and abandonment of queries
   * nobody polled for `clientTimeoutMs`. The shell calls it every 100 ms, as Trino's scheduling loop runs.
   */
  advance(nowMs: number): void {
    for (const started of this.options.scheduler.tick(nowMs)) this.startById(started, nowMs)
    this.reportUsage(nowMs)
    for (const entry of this.active.values()) {
      if (nowMs - entry.lastAccessMs > this.clientTimeoutMs) {
        const at = new Date(entry.lastAccessMs).toISOString()
        this.fail(
          entry,
          {
            errorName: 'ABANDONED_QUERY',
            message: `Query ${entry.record.queryId} has not been accessed since ${at}: currentTime ${new Date(nowMs).toISOString()}`,
          },
          nowMs,
        )
      } else this.settleDue(entry, nowMs)
    }
  }

  /** Reports every running query's CPU time so far and memory to the scheduler; starts what it lets start. */
  private reportUsage(nowMs: number): void {
    const { scheduler } = this.options
    if (scheduler.updateUsage === undefined) return
    const running: Array<[string, QueryUsage]> = []
    for (const entry of this.active.values()) {
      const usage = this.usageOf(entry, nowMs)
      if (entry.record.state === 'RUNNING' && usage !== undefined) running.push([entry.record.queryId, usage])
    }
    for (const [queryId, usage] of running) {
      for (const started of scheduler.updateUsage(queryId, usage, nowMs)) this.startById(started, nowMs)
    }
  }

  /** What a started query has used by `nowMs` according to its plan. */
  private usageOf(entry: Entry, nowMs: number): QueryUsage | undefined {
    const { plan, record } = entry
    if (plan === undefined || record.startedAtMs === undefined) return undefined
    const endMs = Math.min(nowMs, record.finishedAtMs ?? nowMs)
    return { cpuTimeMs: cpuTimeMsAfter(plan, endMs - record.startedAtMs), memoryBytes: plan.peakMemoryBytes }
  }

  counts(): QueryCounts {
    return { running: this.live.running, queued: this.live.queued, ...this.totals }
  }

  record(queryId: string): MockQueryRecord | undefined {
    const entry = this.find(queryId)
    return entry === undefined ? undefined : entry.record
  }

  /** Every query still known (active, then retained finished ones), oldest first. */
  records(): MockQueryRecord[] {
    const all: Entry[] = [...this.finished.values(), ...this.active.values()]
    all.sort((a, b) => a.seq - b.seq)
    return all.map((entry) => entry.record)
  }

  activeCount(): number {
    return this.active.size
  }

  retainedFinishedCount(): number {
    return this.finished.size
  }

  private find(queryId: string): Entry | undefined {
    return this.active.get(queryId) ?? this.finished.get(queryId)
  }

  private submit(entry: Entry, nowMs: number): void {
    entry.submitted = true
    const { record } = entry
    const session = entry.session as StatementSession
    if (record.sql.length > this.queryLengthCharsMax) {
      this.fail(
        entry,
        {
          errorName: 'QUERY_TEXT_TOO_LARGE',
          message: `Query text length (${record.sql.length}) exceeds the maximum length (${this.queryLengthCharsMax})`,
        },
        nowMs,
      )
      return
    }
    const directive = parseDirective(record.sql)
    if (!directive.ok) {
      this.fail(entry, { errorName: 'SYNTAX_ERROR', message: directive.message }, nowMs)
      return
    }
    const resolved = resolveExecute(record.sql, session.preparedStatements)
    if (!resolved.ok) {
      this.fail(entry, { errorName: resolved.errorName, message: resolved.message }, nowMs)
      return
    }
    const queryType = queryTypeOf(resolved.sql)
    if (queryType !== undefined) record.queryType = queryType
    const priority = Number.parseInt(session.sessionProperties.query_priority ?? '1', 10)
    const descriptor: QueryDescriptor = {
      queryId: record.queryId,
      user: record.user,
      source: record.source,
      clientTags: record.clientTags,
      queryType,
      resourceEstimate: session.resourceEstimate,
      priority: Number.isFinite(priority) ? priority : 1,
      createdAtMs: record.createdAtMs,
    }
    entry.plan = planQuery(
      this.options.workload,
      this.options.seed,
      record.traceToken ?? `seq/${entry.seq}`,
      directive.directive,
    )
    // The resolved statement decides the result; keep it for start().
    entry.effect = parseSessionStatement(resolved.sql)
    entry.resolvedSql = resolved.sql
    const admission = this.options.scheduler.submit(descriptor, nowMs)
    if (admission.resourceGroupId !== undefined) record.resourceGroupId = [...admission.resourceGroupId]
    if (admission.kind === 'rejected') {
      this.fail(entry, { errorName: admission.errorName, message: admission.message }, nowMs, false)
    } else if (admission.kind === 'running') {
      this.start(entry, nowMs)
    }
  }

  private startById(queryId: string, nowMs: number): void {
    const entry = this.active.get(queryId)
    if (entry === undefined || entry.record.state !== 'QUEUED') {
      throw new Error(`scheduler started ${queryId}, which is not a queued query of ${this.name}`)
    }
    this.start(entry, nowMs)
  }

  private start(entry: Entry, nowMs: number): void {
    const plan = entry.plan as QueryPlan
    const { record } = entry
    record.state = 'RUNNING'
    record.startedAtMs = nowMs
    record.queuedMs = nowMs - record.createdAtMs
    this.live.queued--
    this.live.running++
    entry.readyAtMs = nowMs + plan.durationMs
    const sql = entry.resolvedSql ?? record.sql
    if (plan.failure !== undefined) {
      entry.pendingFailure = {
        errorName: plan.failure.errorName,
        message: plan.failure.message ?? trinoErrorCodes[plan.failure.errorName].defaultMessage,
      }
    } else {
      const result = this.resultOf(entry, sql, plan, nowMs)
      if ('errorName' in result) entry.pendingFailure = result
      else entry.result = result
    }
    this.changeListener?.(record.queryId)
  }

  private resultOf(entry: Entry, sql: string, plan: QueryPlan, nowMs: number): ResultSet | QueryFailure {
    if (entry.effect !== undefined) return materialized([column('result', 'boolean')], [[true]])
    if (readsRuntimeQueries(sql)) {
      const answer = answerRuntimeQueries(sql, this.records(), nowMs)
      return answer.ok ? materialized(answer.columns, answer.rows) : answer
    }
    const literal = parseLiteralSelect(sql)
    // A literal SELECT yields its one row, repeated when a directive asks for more.
    if (literal !== undefined) {
      const rows = /\/\*\s*mock:[^*]*\brows=/.test(sql) ? plan.rows : 1
      return { columns: literal.columns, rowCount: rows, row: () => literal.row }
    }
    return { columns: generatedColumns, rowCount: plan.rows, row: (i) => [i + 1, `row-${i + 1}`] }
  }

  private settleDue(entry: Entry, nowMs: number): void {
    if (
      entry.record.state === 'RUNNING' &&
      entry.pendingFailure !== undefined &&
      entry.readyAtMs !== undefined &&
      nowMs >= entry.readyAtMs
    ) {
      this.fail(entry, entry.pendingFailure, nowMs)
    }
  }

  private fail(entry: Entry, failure: QueryFailure, nowMs: number, inScheduler = entry.submitted): void {
    const { record } = entry
    const wasRunning = record.state === 'RUNNING'
    record.state = 'FAILED'
    record.errorName = failure.errorName
    record.errorMessage = failure.message
    record.finishedAtMs = nowMs
    // A query that never started waited from its creation until now.
    record.queuedMs ??= nowMs - record.createdAtMs
    if (failure.errorName === 'USER_CANCELED') this.totals.canceled++
    else this.totals.failed++
    this.leave(entry, wasRunning, inScheduler, nowMs)
  }

  private finish(entry: Entry, nowMs: number): void {
    entry.record.state = 'FINISHED'
    entry.record.finishedAtMs = nowMs
    this.totals.finished++
    this.leave(entry, true, true, nowMs)
  }

  private leave(entry: Entry, wasRunning: boolean, inScheduler: boolean, nowMs: number): void {
    const { queryId } = entry.record
    if (wasRunning) this.live.running--
    else this.live.queued--
    this.active.delete(queryId)
    const usage = this.usageOf(entry, nowMs)
    if (usage !== undefined) entry.record.cpuTimeMs = usage.cpuTimeMs
    // Finished entries keep only what their last response and their record need.
    entry.result = undefined
    entry.plan = undefined
    entry.session = undefined
    entry.effect = undefined
    entry.resolvedSql = undefined
    this.finished.set(queryId, entry)
    this.changeListener?.(queryId)
    if (inScheduler) {
      for (const started of this.options.scheduler.release(queryId, nowMs, usage))
        this.startById(started, nowMs)
    }
  }

  private queuedResponse(entry: Entry, token: number, nowMs: number): StatementResponse {
    const { record } = entry
    const base = {
      queryId: record.queryId,
      slug: entry.slug,
      elapsedMs: (record.finishedAtMs ?? nowMs) - record.createdAtMs,
      queuedMs: (record.startedAtMs ?? record.finishedAtMs ?? nowMs) - record.createdAtMs,
      processedRows: 0,
      cpuTimeMs: 0,
    }
    if (record.state === 'FAILED' && record.startedAtMs === undefined) {
      return {
        ...base,
        state: 'FAILED',
        queued: false,
        scheduled: false,
        error: { errorName: record.errorName as string, message: record.errorMessage as string },
      }
    }
    if (record.startedAtMs !== undefined) {
      // Dispatched: the queued endpoint still says QUEUED and points at the executing resource.
      return {
        ...base,
        state: 'QUEUED',
        queued: true,
        scheduled: false,
        next: { context: 'executing', token: 0 },
      }
    }
    return {
      ...base,
      state: 'QUEUED',
      queued: true,
      scheduled: false,
      next: { context: 'queued', token: token + 1 },
    }
  }

  private executingResponse(entry: Entry, token: number, nowMs: number): StatementResponse {
    const { record } = entry
    const startedAtMs = record.startedAtMs as number
    const endMs = record.finishedAtMs ?? nowMs
    const response: StatementResponse = {
      queryId: record.queryId,
      slug: entry.slug,
      state: record.state,
      queued: false,
      scheduled: true,
      elapsedMs: endMs - record.createdAtMs,
      queuedMs: startedAtMs - record.createdAtMs,
      processedRows: entry.rowsServed,
      cpuTimeMs: this.usageOf(entry, endMs)?.cpuTimeMs ?? record.cpuTimeMs ?? 0,
    }
    if (entry.effect !== undefined) {
      response.updateType = entry.effect.updateType
      response.setHeaders = entry.effect.headers
    }
    if (record.state === 'FAILED') {
      response.error = { errorName: record.errorName as string, message: record.errorMessage as string }
      return response
    }
    const result = entry.result
    if (result === undefined || nowMs < (entry.readyAtMs as number)) {
      // Still executing (or about to fail): nothing to fetch yet.
      if (result !== undefined) response.columns = result.columns
      response.next = { context: 'executing', token: token + 1 }
      return response
    }
    response.columns = result.columns
    const remaining = result.rowCount - entry.rowsServed
    if (remaining > 0) {
      const count = Math.min(remaining, this.options.workload.pageRows)
      const data: unknown[][] = new Array(count)
      for (let i = 0; i < count; i++) data[i] = result.row(entry.rowsServed + i)
      entry.rowsServed += count
      response.data = data
      response.processedRows = entry.rowsServed
      response.next = { context: 'executing', token: token + 1 }
      return response
    }
    // Everything was fetched: the query finishes now and frees its running slot.
    this.finish(entry, nowMs)
    response.state = 'FINISHED'
    response.elapsedMs = nowMs - record.createdAtMs
    return response
  }
}

function materialized(columns: readonly Column[], rows: unknown[][]): ResultSet {
  return { columns, rowCount: rows.length, row: (i) => rows[i] as unknown[] }
}

export function errorCodeOf(errorName: string): { code: number; type: string; failureType: string } {
  const known = (trinoErrorCodes as Record<string, (typeof trinoErrorCodes)[TrinoErrorName] | undefined>)[
    errorName
  ]
  return (
    known ?? {
      code: trinoErrorCodes.GENERIC_INTERNAL_ERROR.code,
      type: 'INTERNAL_ERROR',
      failureType: 'io.trino.spi.TrinoException',
    }
  )
}
