import type { IncomingMessage, Server } from 'node:http'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { isDuration, parseDurationMs } from '../common/duration.ts'
import { type Rng, rngForRun } from '../common/random.ts'
import type { FaultsPatch } from './config.ts'
import { controlApi, controlPrefix } from './control/api.ts'
import type { Coordinator, PollCheck, StatementResponse } from './coordinator.ts'
import {
  airliftDuration,
  baseUri,
  basicQueryInfo,
  queryInfo,
  renderCreated,
  renderStatement,
  trimmedQueryInfo,
} from './protocol/results.ts'
import { type Headers, parseSession } from './protocol/session.ts'
import { resourceGroupStateApi } from './resource-groups/http.ts'
import type { Faults, MockQueryRecord, MockQueryState } from './types.ts'

/**
 * The imperative shell of a mock coordinator: fastify routes that parse requests, call the
 * Coordinator core with the current time, hold long polls, render Trino's JSON and apply faults.
 */

/** Trino holds a statement poll at most 1 s, whatever `maxWait` asks. */
export const statementPollWaitMsMax = 1000
/** Trino's scheduling loop period; also the abandonment and plan-failure sweep. */
export const schedulerTickIntervalMs = 100
/** Largest statement body accepted (Trino's `query.max-length` is one million characters). */
export const statementBodyBytesMax = 8 * 1024 * 1024
/** A poll swallowed by the `stopAnsweringPolls` fault is dropped after this long at most. */
export const stalledPollHoldMsMax = 10 * 60_000
/** The Trino version the mock reports. */
export const reportedTrinoVersion = '476'

export interface MockServerOptions {
  name: string
  host: string
  port: number
  seed: number
  environment: string
  processForwarded: boolean
  coordinator: Coordinator
  faults: Faults
  logLevel: string
}

interface Waiter {
  wake: () => void
}

export class MockServer {
  readonly app: FastifyInstance
  private faultState: Faults
  private readonly faultRng: Rng
  private readonly waiters = new Map<string, Set<Waiter>>()
  private readonly stalled = new Set<FastifyReply>()
  private tickTimer: NodeJS.Timeout | undefined
  private downTimer: NodeJS.Timeout | undefined
  private listening = false
  private boundPort = 0
  private readonly startedAtMs = Date.now()
  private readonly uiToken: string
  private closed = false
  private listenerOperation: Promise<void> = Promise.resolve()
  /** Set by `PUT /_mock/faults`: the listener changes once that response has been sent. */
  private listenerChangeAfterResponse = false

  constructor(private readonly options: MockServerOptions) {
    this.faultState = { ...options.faults }
    this.faultRng = rngForRun(`${options.seed}/faults/${options.name}`)
    this.uiToken = `mock-${options.name}-${options.seed}`.replace(/[^A-Za-z0-9_-]/g, '_')
    const level = options.logLevel
    this.app = Fastify({
      logger: level === 'silent' ? false : { level },
      bodyLimit: statementBodyBytesMax,
      // Trino's query ids and tokens never need case-insensitive or trailing-slash matching.
      routerOptions: { ignoreTrailingSlash: false },
    })
    options.coordinator.onChange((queryId) => this.wake(queryId))
    this.registerRoutes()
  }

  get coordinator(): Coordinator {
    return this.options.coordinator
  }

  get port(): number {
    return this.boundPort
  }

  async listen(): Promise<void> {
    await this.app.listen({ host: this.options.host, port: this.options.port })
    const address = this.app.server.address()
    this.boundPort = typeof address === 'object' && address !== null ? address.port : this.options.port
    this.listening = true
    this.tickTimer = setInterval(() => this.options.coordinator.advance(Date.now()), schedulerTickIntervalMs)
    this.tickTimer.unref()
    if (this.faultState.down) {
      this.syncListener()
      await this.listenerOperation
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.tickTimer)
    clearTimeout(this.downTimer)
    for (const set of this.waiters.values()) for (const waiter of set) waiter.wake()
    for (const reply of this.stalled) reply.raw.destroy()
    await this.listenerOperation
    if (!this.listening) await this.relisten()
    this.app.server.closeAllConnections()
    await this.app.close()
  }

  faults(): Faults {
    return { ...this.faultState }
  }

  /**
   * Applies a fault update whole (validated before it gets here). A change of `down` closes or
   * reopens the listener asynchronously, in order; `whenListenerSettled()` waits for it.
   */
  setFaults(patch: FaultsPatch): Faults {
    this.updateFaults(patch)
    this.syncListener()
    return this.faults()
  }

  whenListenerSettled(): Promise<void> {
    return this.listenerOperation
  }

  private updateFaults(patch: FaultsPatch): void {
    const { downForMs, ...rest } = patch
    const next: Faults = { ...this.faultState }
    for (const [key, value] of Object.entries(rest)) {
      if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value
    }
    if (downForMs !== undefined) next.down = true
    this.faultState = next
    if (downForMs !== undefined || patch.down !== undefined) clearTimeout(this.downTimer)
    if (downForMs !== undefined) {
      this.downTimer = setTimeout(() => this.setFaults({ down: false }), downForMs)
    }
  }

  private syncListener(): void {
    this.listenerOperation = this.listenerOperation.then(async () => {
      if (this.closed) return
      if (this.faultState.down && this.listening) await this.goDown()
      else if (!this.faultState.down && !this.listening) await this.relisten()
    })
  }

  private async goDown(): Promise<void> {
    this.listening = false
    const server: Server = this.app.server
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private async relisten(): Promise<void> {
    const server: Server = this.app.server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.boundPort, this.options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.listening = true
  }

  private wake(queryId: string): void {
    const set = this.waiters.get(queryId)
    if (set === undefined) return
    this.waiters.delete(queryId)
    for (const waiter of set) waiter.wake()
  }

  /** Holds a poll until the query changes or `untilMs`, whichever comes first. */
  private waitForChange(queryId: string, untilMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(queryId)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(queryId, set)
      }
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer)
          this.waiters.get(queryId)?.delete(waiter)
          resolve()
        },
      }
      const timer = setTimeout(
        () => {
          const current = this.waiters.get(queryId)
          current?.delete(waiter)
          if (current?.size === 0) this.waiters.delete(queryId)
          resolve()
        },
        Math.max(0, untilMs - Date.now()),
      )
      set.add(waiter)
    })
  }

  private base(request: FastifyRequest): string {
    return baseUri(
      request.headers as Headers,
      this.options.processForwarded,
      `${this.options.host}:${this.boundPort}`,
    )
  }

  private registerRoutes(): void {
    const app = this.app
    const core = this.options.coordinator
    app.removeAllContentTypeParsers()
    // Trino reads the statement body as raw SQL whatever the content type (the JS client sends form-encoded).
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))

    // Callback-style hooks: the POST path is the benchmark's hot path, and async hooks cost a promise each.
    app.addHook('onRequest', (request, reply, done) => {
      const faults = this.faultState
      if (
        (faults.latencyMs === 0 && faults.httpErrorRate === 0) ||
        request.url.startsWith(`${controlPrefix}/`)
      ) {
        return done()
      }
      const inject = (): void => {
        if (faults.httpErrorRate > 0 && this.faultRng() < faults.httpErrorRate) {
          reply.code(faults.httpErrorStatus).type('text/plain').send('mock-trino: injected HTTP error')
        } else done()
      }
      if (faults.latencyMs > 0) setTimeout(inject, faults.latencyMs)
      else inject()
    })

    app.addHook('onResponse', (_request, _reply, done) => {
      if (this.listenerChangeAfterResponse) {
        this.listenerChangeAfterResponse = false
        this.syncListener()
      }
      done()
    })

    app.addHook('onSend', (request, reply, payload, done) => {
      const rate = this.faultState.resetMidResponseRate
      if (
        rate <= 0 ||
        typeof payload !== 'string' ||
        request.url.startsWith(`${controlPrefix}/`) ||
        this.faultRng() >= rate
      ) {
        return done(null, payload)
      }
      // Announce the whole body, send half, then destroy the socket mid-body.
      const bytes = Buffer.from(payload)
      reply.header('content-length', bytes.length)
      let halfSent = false
      done(
        null,
        new Readable({
          read() {
            // The second read comes once the first half went into the response: headers are out, so
            // fastify destroys the socket instead of answering with an error. Node flushes the first
            // write on the next tick, hence the deferral.
            if (halfSent) setImmediate(() => this.destroy(new Error('mock-trino: injected connection reset')))
            else {
              halfSent = true
              this.push(bytes.subarray(0, Math.floor(bytes.length / 2)))
            }
          },
        }),
      )
    })

    app.post('/v1/statement', async (request, reply) => {
      const sql = typeof request.body === 'string' ? request.body : ''
      if (sql.trim() === '') return reply.code(400).type('text/plain').send('SQL statement is empty')
      const session = parseSession(request.headers as Headers)
      if (!session.ok) {
        if (session.headers !== undefined) reply.headers(session.headers)
        return reply.code(session.statusCode).type('text/plain').send(session.message)
      }
      const response = core.create(
        { sql, session: session.session, headers: recordHeaders(request.raw) },
        Date.now(),
      )
      return reply
        .type('application/json')
        .send(renderCreated(this.base(request), response.queryId, response.slug))
    })

    type PollQuery = { maxWait?: string }

    app.get<{ Params: PollParams; Querystring: PollQuery }>(
      '/v1/statement/queued/:queryId/:slug/:token',
      async (request, reply) => {
        const poll = this.openPoll(request, reply, (queryId, slug, token, nowMs) =>
          core.checkQueued(queryId, slug, token, nowMs),
        )
        if (poll.sent !== undefined) return poll.sent
        const { queryId, token, nowMs } = poll
        if (!core.queuedSettled(queryId))
          await this.waitForChange(queryId, nowMs + maxWaitMs(request.query.maxWait))
        const response = core.respondQueued(queryId, token, Date.now())
        if (response === undefined) return notFound(reply)
        return reply.type('application/json').send(renderStatement(this.base(request), response))
      },
    )

    app.get<{ Params: PollParams; Querystring: PollQuery }>(
      '/v1/statement/executing/:queryId/:slug/:token',
      async (request, reply) => {
        const poll = this.openPoll(request, reply, (queryId, slug, token, nowMs) =>
          core.checkExecuting(queryId, slug, token, nowMs),
        )
        if (poll.sent !== undefined) return poll.sent
        const { queryId, token, nowMs, check } = poll
        if (check.kind === 'cached') return this.sendExecuting(request, reply, check.response)
        if (!core.executingSettled(queryId, nowMs)) {
          const untilMs = Math.min(
            nowMs + maxWaitMs(request.query.maxWait),
            core.readyAtMs(queryId) ?? Number.POSITIVE_INFINITY,
          )
          await this.waitForChange(queryId, untilMs)
        }
        const response = core.respondExecuting(queryId, token, Date.now())
        if (response === undefined) return notFound(reply)
        return this.sendExecuting(request, reply, response)
      },
    )

    for (const context of ['queued', 'executing'] as const) {
      app.delete<{ Params: PollParams }>(
        `/v1/statement/${context}/:queryId/:slug/:token`,
        async (request, reply) => {
          const record = core.record(request.params.queryId)
          if (record === undefined || !core.slugMatches(request.params.queryId, request.params.slug)) {
            return notFound(reply)
          }
          core.cancel(request.params.queryId, Date.now())
          return reply.code(204).send()
        },
      )
    }

    app.get<{ Querystring: { state?: string } }>('/v1/query', async (request, reply) => {
      const nowMs = Date.now()
      const base = this.base(request)
      const state = request.query.state?.toUpperCase()
      const records = core.records().filter((r) => state === undefined || r.state === state)
      return reply
        .type('application/json')
        .send(JSON.stringify(records.map((r) => basicQueryInfo(base, r, nowMs))))
    })

    app.get<{ Params: { queryId: string } }>('/v1/query/:queryId', async (request, reply) => {
      const record = core.record(request.params.queryId)
      if (record === undefined) return reply.code(410).send()
      return reply
        .type('application/json')
        .send(JSON.stringify(queryInfo(this.base(request), record, Date.now())))
    })

    app.delete<{ Params: { queryId: string } }>('/v1/query/:queryId', async (request, reply) => {
      core.cancel(request.params.queryId, Date.now())
      return reply.code(204).send()
    })

    for (const [action, errorName] of [
      ['killed', 'ADMINISTRATIVELY_KILLED'],
      ['preempted', 'ADMINISTRATIVELY_PREEMPTED'],
    ] as const) {
      app.put<{ Params: { queryId: string } }>(`/v1/query/:queryId/${action}`, async (request, reply) => {
        const message =
          typeof request.body === 'string' && request.body !== '' ? request.body : `Query ${action}`
        const outcome = core.kill(request.params.queryId, errorName, message, Date.now())
        return reply.code(outcome === 'killed' ? 202 : outcome === 'done' ? 409 : 410).send()
      })
    }

    app.get('/v1/info', async (_request, reply) =>
      reply.type('application/json').send(
        JSON.stringify({
          nodeVersion: { version: reportedTrinoVersion },
          environment: this.options.environment,
          coordinator: true,
          starting: this.faultState.starting,
          uptime: airliftDuration(Date.now() - this.startedAtMs),
        }),
      ),
    )
    app.get('/v1/info/state', async (_request, reply) => reply.type('application/json').send('"ACTIVE"'))
    app.get('/v1/info/coordinator', async (_request, reply) => reply.code(200).send())

    app.get('/v1/status', async (_request, reply) => {
      const memory = process.memoryUsage()
      return reply.type('application/json').send(
        JSON.stringify({
          nodeId: `${this.options.name}`,
          nodeVersion: { version: reportedTrinoVersion },
          environment: this.options.environment,
          coordinator: true,
          uptime: airliftDuration(Date.now() - this.startedAtMs),
          externalAddress: this.options.host,
          internalAddress: this.options.host,
          memoryInfo: { availableProcessors: 1, pool: { maxBytes: memory.heapTotal, reservedBytes: 0 } },
          processors: 1,
          processCpuLoad: 0,
          systemCpuLoad: 0,
          heapUsed: memory.heapUsed,
          heapAvailable: memory.heapTotal,
          nonHeapUsed: memory.external,
        }),
      )
    })

    // The web UI's form login, as Trino does over plain HTTP: any user, no password.
    app.post('/ui/login', async (request, reply) => {
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '')
      const username = form.get('username') ?? ''
      const password = form.get('password') ?? ''
      const redirectPath = form.get('redirectPath') || '/ui/'
      if (username === '' || password !== '') return reply.redirect('/ui/login.html', 303)
      reply.header('set-cookie', `Trino-UI-Token=${this.uiToken}; Path=/ui; HttpOnly`)
      return reply.redirect(redirectPath.startsWith('/') ? redirectPath : '/ui/', 303)
    })

    app.get('/ui/api/stats', async (request, reply) => {
      if (!this.uiAuthorized(request)) return reply.code(401).send()
      const counts = core.counts()
      return reply.type('application/json').send(
        JSON.stringify({
          runningQueries: counts.running,
          blockedQueries: 0,
          queuedQueries: counts.queued,
          activeCoordinators: 1,
          activeWorkers: 1,
          runningDrivers: counts.running,
          totalAvailableProcessors: 1,
          reservedMemory: 0,
          totalInputRows: 0,
          totalInputBytes: 0,
          totalCpuTimeSecs: 0,
        }),
      )
    })

    app.get<{ Querystring: { state?: string } }>('/ui/api/query', async (request, reply) => {
      if (!this.uiAuthorized(request)) return reply.code(401).send()
      const nowMs = Date.now()
      const base = this.base(request)
      const state = request.query.state?.toUpperCase()
      const records = core.records().filter((r) => state === undefined || r.state === state)
      return reply
        .type('application/json')
        .send(JSON.stringify(records.map((r) => trimmedQueryInfo(base, r, nowMs))))
    })

    app.get('/metrics', async (request, reply) => {
      const counts = core.counts()
      const metrics: Array<[string, 'gauge' | 'counter', number]> = [
        ['trino_execution_name_QueryManager_RunningQueries', 'gauge', counts.running],
        ['trino_execution_name_QueryManager_QueuedQueries', 'gauge', counts.queued],
        [
          'trino_execution_name_QueryManager_CompletedQueries_TotalCount',
          'counter',
          counts.finished + counts.failed + counts.canceled,
        ],
        [
          'trino_execution_name_QueryManager_FailedQueries_TotalCount',
          'counter',
          counts.failed + counts.canceled,
        ],
        ['trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount', 'gauge', 1],
        ['trino_metadata_name_DiscoveryNodeManager_InactiveNodeCount', 'gauge', 0],
      ]
      const wanted = requestedMetricNames(request.query as Record<string, unknown>)
      let text = ''
      for (const [name, type, value] of metrics) {
        if (wanted !== undefined && !wanted.has(name)) continue
        text += `# TYPE ${name} ${type}\n${name} ${value.toFixed(1)}\n`
      }
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${text}# EOF\n`)
    })

    app.get<{ Params: { objectName: string } }>('/v1/jmx/mbean/:objectName', async (request, reply) => {
      const counts = core.counts()
      const beans: Record<string, { className: string; attributes: Array<[string, string, number]> }> = {
        'trino.execution:name=QueryManager': {
          className: 'io.trino.execution.SqlQueryManager',
          attributes: [
            ['RunningQueries', 'long', counts.running],
            ['QueuedQueries', 'long', counts.queued],
          ],
        },
        'trino.metadata:name=DiscoveryNodeManager': {
          className: 'io.trino.metadata.DiscoveryNodeManager',
          attributes: [
            ['ActiveNodeCount', 'int', 1],
            ['InactiveNodeCount', 'int', 0],
            ['ShuttingDownNodeCount', 'int', 0],
            ['ActiveCoordinatorCount', 'int', 1],
          ],
        },
      }
      const objectName = request.params.objectName
      const bean = beans[objectName]
      if (bean === undefined) return reply.code(404).send()
      return reply.type('application/json').send(
        JSON.stringify({
          className: bean.className,
          objectName,
          description: '',
          descriptor: {},
          attributes: bean.attributes.map(([name, type, value]) => ({
            name,
            type,
            value,
            readable: true,
            writable: false,
            descriptor: {},
          })),
          operations: [],
          notifications: [],
        }),
      )
    })

    app.register(resourceGroupStateApi, {
      scheduler: () => core.scheduler,
      details: (queryId: string) => {
        const record = core.record(queryId)
        if (record === undefined) return {}
        const { sql: query, state: queryState, catalog, schema, clientInfo } = record
        return { query, queryState, catalog, schema, clientInfo }
      },
    })

    app.register(controlApi, {
      prefix: controlPrefix,
      control: {
        queries: (state?: MockQueryState) => {
          const records = core.records()
          return (state === undefined ? records : records.filter((r) => r.state === state)).map(copyRecord)
        },
        query: (queryId: string) => {
          const record = core.record(queryId)
          return record === undefined ? undefined : copyRecord(record)
        },
        counts: () => core.counts(),
        faults: () => this.faults(),
        setFaults: (patch) => {
          this.updateFaults(patch)
          this.listenerChangeAfterResponse = true
          return this.faults()
        },
      },
    })
  }

  private sendExecuting(
    request: FastifyRequest,
    reply: FastifyReply,
    response: StatementResponse,
  ): FastifyReply {
    if (response.setHeaders !== undefined) {
      const grouped = new Map<string, string[]>()
      for (const [name, value] of response.setHeaders)
        grouped.set(name, [...(grouped.get(name) ?? []), value])
      for (const [name, values] of grouped) reply.header(name, values.length === 1 ? values[0] : values)
    }
    return reply.type('application/json').send(renderStatement(this.base(request), response))
  }

  private uiAuthorized(request: FastifyRequest): boolean {
    const cookie = request.headers.cookie ?? ''
    return cookie.split(';').some((part) => part.trim() === `Trino-UI-Token=${this.uiToken}`)
  }

  /**
   * The start both statement poll routes share: the `stopAnsweringPolls` fault, the token parse
   * and the coordinator's check, answering an unknown query (404) and a stale token (410) itself.
   * Returns the reply already sent, or the poll to answer with the check's remaining result.
   */
  private openPoll(
    request: FastifyRequest<{ Params: PollParams }>,
    reply: FastifyReply,
    check: (queryId: string, slug: string, token: number, nowMs: number) => PollCheck | CachedPollCheck,
  ):
    | { sent: FastifyReply | Promise<FastifyReply> }
    | {
        sent?: undefined
        queryId: string
        token: number
        nowMs: number
        check: Extract<PollCheck | CachedPollCheck, { kind: 'ok' | 'cached' }>
      } {
    if (this.faultState.stopAnsweringPolls) return { sent: this.stall(request, reply) }
    const { queryId, slug } = request.params
    const token = parseToken(request.params.token)
    const nowMs = Date.now()
    if (token === undefined) return { sent: notFound(reply) }
    const result = check(queryId, slug, token, nowMs)
    if (result.kind === 'notFound') return { sent: notFound(reply) }
    if (result.kind === 'gone') return { sent: reply.code(410).send() }
    return { queryId, token, nowMs, check: result }
  }

  /** The `stopAnsweringPolls` fault: never answer; drop the connection when the client gives up or at the bound. */
  private async stall(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    reply.hijack()
    this.stalled.add(reply)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, stalledPollHoldMsMax)
      request.raw.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      reply.raw.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    this.stalled.delete(reply)
    reply.raw.destroy()
    return reply
  }
}

type PollParams = { queryId: string; slug: string; token: string }
type CachedPollCheck = { kind: 'cached'; response: StatementResponse }

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).type('text/plain').send('Query not found')
}

function parseToken(text: string): number | undefined {
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined
}

function maxWaitMs(text: string | undefined): number {
  if (text === undefined || !isDuration(text)) return statementPollWaitMsMax
  return Math.min(statementPollWaitMsMax, parseDurationMs(text))
}

function recordHeaders(raw: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

function requestedMetricNames(query: Record<string, unknown>): Set<string> | undefined {
  const value = query['name[]'] ?? query.name
  if (value === undefined) return undefined
  return new Set((Array.isArray(value) ? value : [value]).map(String))
}

function copyRecord(record: MockQueryRecord): MockQueryRecord {
  const copy: MockQueryRecord = {
    ...record,
    clientTags: [...record.clientTags],
    sessionProperties: { ...record.sessionProperties },
    headers: { ...record.headers },
  }
  if (record.resourceGroupId !== undefined) copy.resourceGroupId = [...record.resourceGroupId]
  return copy
}

export { copyRecord }
