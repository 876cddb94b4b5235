import { type Dispatcher, request } from 'undici'
import { sleepMs } from '../../common/wait.ts'

/**
 * A Trino client-protocol client, as real clients behave: POST the SQL to `/v1/statement`, then GET
 * `nextUri` until a response has none. 429, 502, 503 and 504 are retried (Trino's protocol says
 * gateways and load balancers produce them) with a growing delay, honouring `Retry-After`, within a
 * bounded number of attempts; so are refused connections (a gateway restarting). Everything is
 * bounded: attempts, polls, the whole query's time.
 */

export const retryAttemptsMax = 10
export const retryDelayMsStep = 100
export const retryDelayMsMax = 2000
export const pollsPerQueryMax = 100_000
export const requestTimeoutMs = 30_000
/** Non-2xx responses kept per query for the report; the count is kept whatever. */
export const httpErrorsPerQueryMax = 50

/** Failures the client itself names, when the query never reached a Trino error of its own. */
export const clientErrorNames = {
  /** The gateway answered a status that is not retried: `HTTP_500`, `HTTP_404`, ... */
  httpStatus: (status: number) => `HTTP_${status}`,
  RETRIES_EXHAUSTED: 'HTTP_RETRIES_EXHAUSTED',
  CONNECTION_FAILED: 'CONNECTION_FAILED',
  CLIENT_TIMEOUT: 'CLIENT_TIMEOUT',
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  CANCELED: 'CLIENT_CANCELED',
} as const

const retryableStatuses = new Set([429, 502, 503, 504])
const connectionErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'UND_ERR_SOCKET',
  'EPIPE',
  'UND_ERR_CLOSED',
])

export interface HttpErrorRecord {
  method: 'POST' | 'GET' | 'DELETE'
  /** Which gateway URL (index into `gatewayUrls`) answered. */
  gateway: number
  status: number
  /** Whether the client retried the request after it. */
  retried: boolean
}

export interface QueryOutcome {
  queryId: string | undefined
  /** FINISHED or FAILED as Trino reports it; FAILED also for client-side failures. */
  state: 'FINISHED' | 'FAILED'
  errorName: string | undefined
  errorMessage: string | undefined
  /** Epoch ms when the POST was sent, when a response first showed a state past QUEUED, and the end. */
  submittedAtMs: number
  runningAtMs: number | undefined
  finishedAtMs: number
  queuedMs: number
  runMs: number
  totalMs: number
  rows: number
  requests: number
  /** Non-2xx responses from the gateway (bounded by httpErrorsPerQueryMax); `httpErrorCount` is exact. */
  httpErrors: HttpErrorRecord[]
  httpErrorCount: number
}

export interface QueryRequest {
  /** Gateway base URLs (`http://127.0.0.1:port`); the POST goes to `submitGateway`. */
  gatewayUrls: readonly string[]
  submitGateway: number
  /** Which gateway the n-th GET (0-based) goes to; undefined keeps nextUri's own origin. */
  pollGateway?: ((pollIndex: number) => number) | undefined
  sql: string
  /** Headers of the POST; GETs carry only `X-Trino-User` and `X-Trino-Trace-Token`. */
  headers: Readonly<Record<string, string>>
  queryTimeoutMs: number
  dispatcher: Dispatcher
  /** Called once when a response first shows the query past QUEUED. */
  onRunning?: (() => void) | undefined
  /** Called once the POST is answered (the gateway has routed it), or when the query ends before. */
  onPosted?: (() => void) | undefined
  /**
   * Called once the coordinator holds the query in its scheduler: when the first poll is answered
   * (Trino submits a query on its first poll), or when the query ends before one. With it, the
   * first poll asks `maxWait=0s`, so a query that queues answers at once instead of after a wait.
   */
  onSubmitted?: (() => void) | undefined
  signal?: AbortSignal | undefined
}

interface QueryResultsBody {
  id?: unknown
  nextUri?: unknown
  data?: unknown
  stats?: { state?: unknown }
  error?: { errorName?: unknown; message?: unknown }
}

class ClientFailure extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message)
  }
}

export async function runQuery(query: QueryRequest): Promise<QueryOutcome> {
  const submittedAtMs = Date.now()
  const deadlineMs = submittedAtMs + query.queryTimeoutMs
  const httpErrors: HttpErrorRecord[] = []
  let httpErrorCount = 0
  let requests = 0
  let rows = 0
  let queryId: string | undefined
  let runningAtMs: number | undefined
  let nextUri: string | undefined

  // Trino takes the body as raw SQL whatever its type; a declared Content-Type (the article's curl
  // sends application/json) is kept as sent.
  const hasContentType = Object.keys(query.headers).some((name) => name.toLowerCase() === 'content-type')
  const postHeaders = hasContentType
    ? query.headers
    : { ...query.headers, 'content-type': 'text/plain; charset=utf-8' }
  const followUpHeaders: Record<string, string> = {}
  for (const [name, value] of Object.entries(query.headers)) {
    const lower = name.toLowerCase()
    if (lower === 'x-trino-user' || lower === 'x-trino-trace-token') followUpHeaders[name] = value
  }

  const send = async (
    method: 'POST' | 'GET' | 'DELETE',
    gateway: number,
    url: string,
    body?: string,
  ): Promise<QueryResultsBody | undefined> => {
    // What went wrong last when the deadline ends a series of retries.
    let retriedFailure: ClientFailure | undefined
    for (let attempt = 1; ; attempt++) {
      if (query.signal?.aborted) throw new ClientFailure(clientErrorNames.CANCELED, 'the run was interrupted')
      const remainingMs = deadlineMs - Date.now()
      if (remainingMs <= 0)
        throw retriedFailure ?? new ClientFailure(clientErrorNames.CLIENT_TIMEOUT, timeoutMessage(query))
      requests++
      let status: number
      let text: string
      let retryAfter: string | string[] | undefined
      try {
        const response = await request(url, {
          method,
          dispatcher: query.dispatcher,
          headers: method === 'POST' ? postHeaders : followUpHeaders,
          ...(body === undefined ? {} : { body }),
          headersTimeout: Math.min(requestTimeoutMs, remainingMs),
          bodyTimeout: Math.min(requestTimeoutMs, remainingMs),
          ...(query.signal === undefined ? {} : { signal: query.signal }),
        })
        status = response.statusCode
        retryAfter = response.headers['retry-after']
        text = await response.body.text()
      } catch (error) {
        if (query.signal?.aborted)
          throw new ClientFailure(clientErrorNames.CANCELED, 'the run was interrupted')
        const code = (error as { code?: string }).code ?? ''
        // A POST whose connection broke after sending may have created a query: only refused
        // connections (nothing was sent) are retried for it.
        const retryable = method === 'POST' ? code === 'ECONNREFUSED' : connectionErrorCodes.has(code)
        if (retryable && attempt < retryAttemptsMax) {
          retriedFailure = new ClientFailure(
            clientErrorNames.CONNECTION_FAILED,
            `${method} ${url}: ${(error as Error).message} (${attempt} attempts before the query timeout)`,
          )
          await sleepMs(Math.min(retryDelayMs(attempt, undefined), Math.max(0, deadlineMs - Date.now())))
          continue
        }
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          throw new ClientFailure(clientErrorNames.CLIENT_TIMEOUT, timeoutMessage(query))
        }
        throw new ClientFailure(
          clientErrorNames.CONNECTION_FAILED,
          `${method} ${url}: ${(error as Error).message}${attempt > 1 ? ` after ${attempt} attempts` : ''}`,
        )
      }
      if (status >= 200 && status < 300) {
        if (method === 'DELETE' || text === '') return undefined
        try {
          return JSON.parse(text) as QueryResultsBody
        } catch {
          throw new ClientFailure(
            clientErrorNames.PROTOCOL_ERROR,
            `${method} ${url}: HTTP ${status} with a body that is not JSON`,
          )
        }
      }
      const retry = retryableStatuses.has(status) && attempt < retryAttemptsMax
      httpErrorCount++
      if (httpErrors.length < httpErrorsPerQueryMax)
        httpErrors.push({ method, gateway, status, retried: retry })
      if (retry) {
        retriedFailure = new ClientFailure(
          clientErrorNames.RETRIES_EXHAUSTED,
          `${method} ${url}: HTTP ${status} (${attempt} attempts before the query timeout)`,
        )
        await sleepMs(Math.min(retryDelayMs(attempt, retryAfter), Math.max(0, deadlineMs - Date.now())))
        continue
      }
      throw new ClientFailure(
        retryableStatuses.has(status)
          ? clientErrorNames.RETRIES_EXHAUSTED
          : clientErrorNames.httpStatus(status),
        `${method} ${url}: HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`,
      )
    }
  }

  const observe = (body: QueryResultsBody | undefined): void => {
    if (body === undefined) throw new ClientFailure(clientErrorNames.PROTOCOL_ERROR, 'a response had no body')
    if (typeof body.id === 'string') queryId ??= body.id
    if (Array.isArray(body.data)) rows += body.data.length
    const state = typeof body.stats?.state === 'string' ? body.stats.state : undefined
    const final = typeof body.nextUri !== 'string'
    if (runningAtMs === undefined && ((state !== undefined && state !== 'QUEUED') || final)) {
      runningAtMs = Date.now()
      if (state !== 'FAILED') query.onRunning?.()
    }
    nextUri = final ? undefined : (body.nextUri as string)
  }

  let posted = false
  const markPosted = (): void => {
    if (posted) return
    posted = true
    query.onPosted?.()
  }
  let submitted = false
  const markSubmitted = (): void => {
    markPosted()
    if (submitted) return
    submitted = true
    query.onSubmitted?.()
  }

  const finish = (state: 'FINISHED' | 'FAILED', errorName?: string, errorMessage?: string): QueryOutcome => {
    markSubmitted()
    const finishedAtMs = Date.now()
    const startedMs = runningAtMs ?? finishedAtMs
    return {
      queryId,
      state,
      errorName,
      errorMessage,
      submittedAtMs,
      runningAtMs,
      finishedAtMs,
      queuedMs: startedMs - submittedAtMs,
      runMs: finishedAtMs - startedMs,
      totalMs: finishedAtMs - submittedAtMs,
      rows,
      requests,
      httpErrors,
      httpErrorCount,
    }
  }

  let last: QueryResultsBody | undefined
  try {
    const submitUrl = `${trimSlash(gatewayAt(query.gatewayUrls, query.submitGateway))}/v1/statement`
    last = await send('POST', query.submitGateway, submitUrl, query.sql)
    markPosted()
    observe(last)
    if (queryId === undefined) {
      throw new ClientFailure(
        clientErrorNames.PROTOCOL_ERROR,
        `POST ${submitUrl}: the response carried no query id`,
      )
    }
    for (let poll = 0; nextUri !== undefined; poll++) {
      if (poll >= pollsPerQueryMax) {
        throw new ClientFailure(clientErrorNames.CLIENT_TIMEOUT, `more than ${pollsPerQueryMax} polls`)
      }
      const gateway = query.pollGateway?.(poll)
      const rebased = gateway === undefined ? nextUri : rebase(nextUri, gatewayAt(query.gatewayUrls, gateway))
      const url = poll === 0 && query.onSubmitted !== undefined ? withNoWait(rebased) : rebased
      last = await send('GET', gateway ?? originIndex(url, query.gatewayUrls), url)
      observe(last)
      if (poll === 0) markSubmitted()
    }
  } catch (error) {
    if (!(error instanceof ClientFailure)) throw error
    if (nextUri !== undefined && error.errorName === clientErrorNames.CLIENT_TIMEOUT) {
      // Free the cluster's slot: a real client closing a query it gave up on sends DELETE.
      await cancelQuietly(nextUri, query.dispatcher, followUpHeaders)
    }
    return finish('FAILED', error.errorName, error.message)
  }
  const trinoError = last?.error
  const state = last?.stats?.state
  if (trinoError !== undefined || state === 'FAILED') {
    return finish(
      'FAILED',
      typeof trinoError?.errorName === 'string' ? trinoError.errorName : 'GENERIC_INTERNAL_ERROR',
      typeof trinoError?.message === 'string' ? trinoError.message : undefined,
    )
  }
  return finish('FINISHED')
}

/**
 * The URL with `maxWait=0s`: Trino answers a poll at once with it. Appended as text, since
 * re-serializing the query (URLSearchParams) would re-encode the gateway's routing token.
 */
function withNoWait(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}maxWait=0s`
}

function retryDelayMs(attempt: number, retryAfter: string | string[] | undefined): number {
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter
  const seconds = header === undefined ? Number.NaN : Number(header)
  const wantedMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : attempt * retryDelayMsStep
  return Math.min(retryDelayMsMax, wantedMs)
}

function timeoutMessage(query: QueryRequest): string {
  return `the query did not finish within ${query.queryTimeoutMs} ms`
}

function gatewayAt(urls: readonly string[], index: number): string {
  const url = urls[index]
  if (url === undefined) throw new RangeError(`no gateway instance ${index} (have ${urls.length})`)
  return url
}

/** The gateway instance a URL points at, or -1 (a nextUri that names a backend directly). */
function originIndex(url: string, gatewayUrls: readonly string[]): number {
  const origin = new URL(url).origin
  return gatewayUrls.findIndex((gatewayUrl) => new URL(gatewayUrl).origin === origin)
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url
}

/** The same path and query on another gateway: what a client switching gateways between polls sends. */
export function rebase(uri: string, baseUrl: string): string {
  const target = new URL(uri)
  const base = new URL(baseUrl)
  target.protocol = base.protocol
  target.host = base.host
  return target.toString()
}

async function cancelQuietly(
  uri: string,
  dispatcher: Dispatcher,
  headers: Record<string, string>,
): Promise<void> {
  try {
    const response = await request(uri, {
      method: 'DELETE',
      dispatcher,
      headers,
      headersTimeout: 2000,
      bodyTimeout: 2000,
    })
    await response.body.dump()
  } catch {
    // Best effort: the coordinator abandons the query after query.client.timeout anyway.
  }
}
