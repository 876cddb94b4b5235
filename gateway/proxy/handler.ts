/**
 * The data plane: for a whitelisted path, find the backend (sticky query id, else routing group
 * and seeded choice), forward the request with undici and stream the answer back. The only
 * durable work is recording a new query id before its first response reaches the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { Dispatcher } from 'undici'
import { CodedError } from '../../common/errors.ts'
import { rngFor } from '../../common/random.ts'
import type { BackendRegistry } from '../clusters/registry.ts'
import { gatewayError } from '../errors.ts'
import type { BackendPicker } from '../routing/backend-picker.ts'
import type { RoutingDecisionRecord } from '../routing/decision.ts'
import { routingGroupHeader } from '../routing/header-selector.ts'
import { route } from '../routing/route.ts'
import type { RoutingGroupSelector, RoutingRequest } from '../routing/selector.ts'
import type { BackendRecord, QueryHistoryStore } from '../store/types.ts'
import { backendRequestHeaders, clientResponseHeaders, gatewayOriginOf, requestUserOf } from './headers.ts'
import { createPathFilter, proxiedMethods, statementPathOf } from './path-filter.ts'
import { extractQueryId } from './query-id.ts'
import type { QueryIdCache, QueryTarget } from './query-id-cache.ts'
import { rewriteBackendUri, rewritePrefix, scanQueryResultsPrefix } from './query-results-scan.ts'
import { bodyAfterPrefix, readBodyPrefix } from './request-body.ts'
import { findBackendForQueryId, type StickySource } from './sticky.ts'

/** Bytes of a JSON response held back to find the query id and the URIs to rewrite. */
export const responseScanBytesMax = 64 * 1024
/** How long `HEAD /v1/query/{id}` may take on each backend when looking for an unknown id. */
export const stickyProbeTimeoutMs = 5_000
/** How long the best-effort cancel of an unrecordable query may take. */
export const cancelTimeoutMs = 5_000

export interface ProxyOptions {
  statementPaths: readonly string[]
  extraWhitelistPaths: readonly string[]
  defaultRoutingGroup: string
  asyncTimeoutMs: number
  forwardedHeadersEnabled: boolean
  rewriteNextUri: boolean
  queryHistoryEnabled: boolean
  seed: number
}

export interface ProxyLogger {
  debug(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

export interface ProxyDeps {
  options: ProxyOptions
  registry: BackendRegistry
  selector: () => RoutingGroupSelector
  picker: () => BackendPicker
  cache: QueryIdCache
  history: QueryHistoryStore
  dispatcher: Dispatcher
  logger: ProxyLogger
  emitDecision: (record: RoutingDecisionRecord) => void
  /** The port the gateway listens on (X-Forwarded-Port). */
  serverPort: () => number
}

export interface DataPlane {
  isProxiedPath(path: string): boolean
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>
}

/** The request's part of every routing decision record. */
type DecisionBase = Pick<
  RoutingDecisionRecord,
  'timestampMs' | 'method' | 'path' | 'traceToken' | 'user' | 'routingGroupHeader'
>

interface Target {
  backend: BackendRecord | undefined
  backendUrl: string
  routingGroup: string | null
  externalUrl: string | null
}

export function createProxy(deps: ProxyDeps): DataPlane {
  const { options, registry, logger } = deps
  const isProxiedPath = createPathFilter(options)
  // Requests without a trace token draw from (seed, arrival number): reproducible for a serial run.
  let requestSequence = 0

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const abort = new AbortController()
    const onClientGone = () => {
      if (!response.writableFinished) abort.abort(new Error('the client went away'))
    }
    response.on('close', onClientGone)
    try {
      await serve(request, response, abort.signal)
    } catch (error) {
      if (abort.signal.aborted) {
        logger.debug({ url: request.url }, 'client went away; upstream request aborted')
      } else {
        logger.error({ err: (error as Error).message, url: request.url }, 'proxy failure')
      }
      if (!response.headersSent && !response.destroyed) {
        sendError(response, gatewayError('BACKEND_UNREACHABLE', `proxy failure: ${(error as Error).message}`))
      } else {
        response.destroy()
      }
    } finally {
      response.off('close', onClientGone)
    }
  }

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase()
    const rawUrl = request.url ?? '/'
    const queryIndex = rawUrl.indexOf('?')
    const path = queryIndex === -1 ? rawUrl : rawUrl.slice(0, queryIndex)
    const queryString = queryIndex === -1 ? '' : rawUrl.slice(queryIndex + 1)
    if (!proxiedMethods.has(method)) {
      sendError(
        response,
        gatewayError(
          'PROXY_METHOD_NOT_ALLOWED',
          `${method} is not proxied; use GET, POST, PUT, DELETE or HEAD`,
        ),
      )
      return
    }
    const body = method === 'POST' || method === 'PUT' ? await readBodyPrefix(request) : undefined
    const bodyText = body?.prefix.toString('utf8') ?? ''
    const headers = flatHeaders(request)
    const user = requestUserOf(request.headers)
    const traceToken = headers['x-trino-trace-token']
    const base = {
      timestampMs: Date.now(),
      method,
      path,
      traceToken: traceToken ?? null,
      user: user ?? null,
      routingGroupHeader: headers[routingGroupHeader] ?? null,
    }

    const queryId = extractQueryId({
      method,
      path,
      queryString,
      statementPaths: options.statementPaths,
      body: bodyText,
      defaultCatalog: headers['x-trino-catalog'],
      defaultSchema: headers['x-trino-schema'],
    })

    let target: Target
    let extraHeaders: Readonly<Record<string, string>> = {}
    if (queryId !== undefined) {
      const lookup = await findBackendForQueryId(queryId, {
        cache: deps.cache,
        history: deps.history,
        backends: () => registry.list(),
        probe: (backend, id) => probeQuery(backend, id, user),
      })
      if (!lookup.found) {
        const error = gatewayError(
          'QUERY_NOT_FOUND',
          `query ${queryId} is unknown: not in this gateway's cache, not in query_history, and none of the ${lookup.probed} backend(s) answered HEAD /v1/query/${queryId} with 200`,
          { queryId, ...(lookup.historyError === undefined ? {} : { historyError: lookup.historyError }) },
        )
        emitFailure(base, queryId, 'sticky', error)
        sendError(response, error)
        return
      }
      target = stickyTarget(lookup.target)
      emit({
        ...base,
        queryId,
        kind: 'sticky',
        stickySource: lookup.source,
        requestedGroup: null,
        candidates: [],
        selectedGroup: lookup.target.routingGroup,
        fallback: false,
        backend: target.backend?.name ?? null,
        backendUrl: target.backendUrl,
        reason: stickyReason(queryId, lookup.source),
        errorCode: null,
      })
    } else {
      const routingRequest: RoutingRequest = {
        method,
        path,
        queryString,
        headers,
        body: bodyText,
        remoteAddress: request.socket.remoteAddress ?? '',
      }
      let selection: Awaited<ReturnType<RoutingGroupSelector['select']>>
      try {
        selection = await deps.selector().select(routingRequest)
      } catch (cause) {
        // An external routing service's errors with propagateErrors are the answer the operator
        // asked for (400 with the errors, as Trino Gateway), not a selector failure.
        const error =
          cause instanceof CodedError && cause.code === 'EXTERNAL_ROUTING_ERRORS'
            ? cause
            : gatewayError(
                'ROUTING_SELECTOR_FAILED',
                `routing-group selection failed: ${(cause as Error).message}`,
              )
        emitFailure(base, null, 'routed', error)
        sendError(response, error)
        return
      }
      for (const warning of selection.warnings ?? [])
        logger.warn({ path, warning }, 'routing-group selector warning')
      extraHeaders = selection.externalHeaders ?? {}
      const requestedGroup = selection.routingGroup === '' ? undefined : selection.routingGroup
      const outcome = route({
        requestedGroup,
        defaultRoutingGroup: options.defaultRoutingGroup,
        backends: registry.list(),
        statusOf: (name) => registry.statusOf(name),
        picker: deps.picker(),
        rng: rngFor(options.seed, traceToken ?? `request/${requestSequence++}`),
        user,
      })
      const shared = {
        ...base,
        queryId: null,
        kind: 'routed' as const,
        stickySource: null,
        requestedGroup: requestedGroup ?? null,
        candidates: outcome.candidates.map((candidate) => candidate.name),
        selectedGroup: outcome.routingGroup,
        fallback: outcome.fallback,
        reason: outcome.reason,
      }
      if (!outcome.ok) {
        const error = gatewayError('NO_ROUTABLE_BACKEND', `no backend to route to: ${outcome.reason}`, {
          routingGroup: requestedGroup ?? options.defaultRoutingGroup,
          defaultRoutingGroup: options.defaultRoutingGroup,
        })
        emit({ ...shared, backend: null, backendUrl: null, errorCode: error.code })
        sendError(response, error)
        return
      }
      emit({ ...shared, backend: outcome.backend.name, backendUrl: outcome.backend.proxyTo, errorCode: null })
      target = {
        backend: outcome.backend,
        backendUrl: outcome.backend.proxyTo,
        routingGroup: outcome.routingGroup,
        externalUrl: outcome.backend.externalUrl,
      }
    }

    await forward({
      request,
      response,
      signal,
      method,
      path,
      target,
      body,
      bodyText,
      user,
      extraHeaders,
      headers,
    })
  }

  function stickyTarget(recorded: QueryTarget): Target {
    const backend = registry.list().find((candidate) => candidate.proxyTo === recorded.backendUrl)
    return {
      backend,
      backendUrl: recorded.backendUrl,
      routingGroup: recorded.routingGroup,
      externalUrl: recorded.externalUrl,
    }
  }

  async function forward(exchange: {
    request: IncomingMessage
    response: ServerResponse
    signal: AbortSignal
    method: string
    path: string
    target: Target
    body: { prefix: Buffer; complete: boolean } | undefined
    bodyText: string
    user: string | undefined
    extraHeaders: Readonly<Record<string, string>>
    headers: Readonly<Record<string, string>>
  }): Promise<void> {
    const { request, response, signal, method, path, target } = exchange
    const backendName = target.backend?.name ?? target.backendUrl
    const base = new URL(target.backendUrl)
    const upstreamHeaders = backendRequestHeaders(
      request.headers,
      {
        forwardedHeadersEnabled: options.forwardedHeadersEnabled,
        clientAddress: request.socket.remoteAddress ?? '',
        scheme: 'http',
        serverPort: deps.serverPort(),
      },
      exchange.extraHeaders,
    )
    let upstreamBody: Dispatcher.DispatchOptions['body']
    if (exchange.body !== undefined) {
      upstreamBody = exchange.body.complete
        ? exchange.body.prefix
        : bodyAfterPrefix(exchange.body.prefix, request)
    } else if (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0') {
      upstreamBody = request
    } else if (request.headers['transfer-encoding'] !== undefined) {
      upstreamBody = request
    } else {
      delete upstreamHeaders['content-length']
    }

    let upstream: Dispatcher.ResponseData
    try {
      upstream = await deps.dispatcher.request({
        origin: base.origin,
        path: `${base.pathname.replace(/\/$/, '')}${request.url ?? '/'}`,
        method: method as Dispatcher.HttpMethod,
        headers: upstreamHeaders,
        body: upstreamBody ?? null,
        signal,
        headersTimeout: options.asyncTimeoutMs,
        bodyTimeout: options.asyncTimeoutMs,
      })
    } catch (error) {
      if (signal.aborted) throw error
      const code = (error as { code?: string }).code
      const failure =
        code === 'UND_ERR_HEADERS_TIMEOUT'
          ? gatewayError(
              'BACKEND_TIMEOUT',
              `backend ${backendName} (${target.backendUrl}) did not answer within routing.asyncTimeout (${options.asyncTimeoutMs} ms)`,
              { backend: backendName },
            )
          : gatewayError(
              'BACKEND_UNREACHABLE',
              `request to backend ${backendName} (${target.backendUrl}) failed: ${describeNetworkError(error)}`,
              { backend: backendName },
            )
      logger.warn({ backend: backendName, err: failure.message }, 'backend request failed')
      sendError(response, failure)
      return
    }

    const statusCode = upstream.statusCode
    const contentType = String(upstream.headers['content-type'] ?? '')
    const statementPath = statementPathOf(path, options.statementPaths)
    const isNewQuery = method === 'POST' && statementPath !== undefined && statusCode === 200
    const readable = contentType.includes('json') && upstream.headers['content-encoding'] === undefined
    const mustScan = readable && (isNewQuery || (options.rewriteNextUri && statementPath !== undefined))
    if (!mustScan) {
      response.writeHead(statusCode, clientResponseHeaders(upstream.headers))
      await pipeline(upstream.body, response)
      return
    }

    const iterator = upstream.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    let prefix: Buffer = Buffer.alloc(0)
    let ended = false
    for (;;) {
      const next = await iterator.next()
      if (next.done) {
        ended = true
        break
      }
      prefix = Buffer.concat([prefix, next.value])
      if (prefix.length >= responseScanBytesMax || scanQueryResultsPrefix(prefix).decided) break
    }
    const scan = scanQueryResultsPrefix(prefix)

    if (isNewQuery) {
      const queryId = scan.fields.find((field) => field.key === 'id')?.value
      if (queryId !== undefined && queryId !== '') {
        const recorded = await record(queryId, exchange, target)
        if (!recorded.ok) {
          upstream.body.destroy()
          await cancelQuery(target, queryId, exchange.user)
          sendError(
            response,
            gatewayError(
              'QUERY_HISTORY_WRITE_FAILED',
              `query ${queryId} on backend ${backendName} could not be recorded in query_history (${recorded.reason}); it was cancelled so that it does not run unreachable`,
              { queryId, backend: backendName },
            ),
          )
          return
        }
      }
    }

    let out = prefix
    if (options.rewriteNextUri) {
      const origins = backendOrigins(target)
      const gatewayOrigin = gatewayOriginOf(
        request.headers,
        options.forwardedHeadersEnabled,
        `127.0.0.1:${deps.serverPort()}`,
      )
      out = rewritePrefix(prefix, scan.fields, (uri) => rewriteBackendUri(uri, origins, gatewayOrigin))
    }
    const responseHeaders = clientResponseHeaders(upstream.headers)
    if (responseHeaders['content-length'] !== undefined && out !== prefix) {
      responseHeaders['content-length'] = String(
        Number(responseHeaders['content-length']) + out.length - prefix.length,
      )
    }
    response.writeHead(statusCode, responseHeaders)
    if (!response.write(out)) await drained(response)
    if (!ended) {
      for (;;) {
        if (response.destroyed) {
          upstream.body.destroy()
          return
        }
        const next = await iterator.next()
        if (next.done) break
        if (!response.write(next.value)) await drained(response)
      }
    }
    response.end()
  }

  async function record(
    queryId: string,
    exchange: { bodyText: string; user: string | undefined; headers: Readonly<Record<string, string>> },
    target: Target,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    deps.cache.set({
      queryId,
      backendUrl: target.backendUrl,
      routingGroup: target.routingGroup,
      externalUrl: target.externalUrl,
    })
    if (!options.queryHistoryEnabled) return { ok: true }
    try {
      await deps.history.insert({
        queryId,
        queryText: exchange.bodyText,
        created: Date.now(),
        backendUrl: target.backendUrl,
        userName: exchange.user ?? null,
        source: exchange.headers['x-trino-source'] ?? null,
        routingGroup: target.routingGroup,
        externalUrl: target.externalUrl ?? target.backendUrl,
      })
      return { ok: true }
    } catch (error) {
      logger.error({ queryId, err: (error as Error).message }, 'query_history insert failed')
      return { ok: false, reason: (error as Error).message }
    }
  }

  async function cancelQuery(target: Target, queryId: string, user: string | undefined): Promise<void> {
    try {
      const url = new URL(`${target.backendUrl.replace(/\/$/, '')}/v1/query/${encodeURIComponent(queryId)}`)
      const answer = await deps.dispatcher.request({
        origin: url.origin,
        path: url.pathname,
        method: 'DELETE',
        headers: user === undefined ? {} : { 'x-trino-user': user },
        signal: AbortSignal.timeout(cancelTimeoutMs),
      })
      await answer.body.dump()
    } catch (error) {
      logger.warn({ queryId, err: (error as Error).message }, 'could not cancel an unrecorded query')
    }
  }

  async function probeQuery(
    backend: BackendRecord,
    queryId: string,
    user: string | undefined,
  ): Promise<boolean> {
    const url = new URL(`${backend.proxyTo.replace(/\/$/, '')}/v1/query/${encodeURIComponent(queryId)}`)
    const answer = await deps.dispatcher.request({
      origin: url.origin,
      path: url.pathname,
      method: 'HEAD',
      // Trino may refuse an anonymous query lookup (#1234): send the user of the follow-up.
      headers: user === undefined ? {} : { 'x-trino-user': user },
      signal: AbortSignal.timeout(stickyProbeTimeoutMs),
      headersTimeout: stickyProbeTimeoutMs,
    })
    await answer.body.dump()
    return answer.statusCode === 200
  }

  function emit(record: RoutingDecisionRecord): void {
    logger.debug({ decision: record }, 'routing decision')
    deps.emitDecision(record)
  }

  /** The decision of a request that got an error instead of a backend. */
  function emitFailure(
    base: DecisionBase,
    queryId: string | null,
    kind: RoutingDecisionRecord['kind'],
    error: CodedError,
  ): void {
    emit({
      ...base,
      queryId,
      kind,
      stickySource: null,
      requestedGroup: null,
      candidates: [],
      selectedGroup: null,
      fallback: false,
      backend: null,
      backendUrl: null,
      reason: error.message,
      errorCode: error.code,
    })
  }

  return { isProxiedPath, handle }
}

function stickyReason(queryId: string, source: StickySource): string {
  const where = { cache: 'the query-id cache', history: 'query_history', probe: 'a HEAD /v1/query probe' }[
    source
  ]
  return `query ${queryId} is sticky to its recorded backend (found in ${where})`
}

/** Origins under which the backend may name itself in `nextUri`. */
function backendOrigins(target: Target): string[] {
  const origins = new Set<string>()
  for (const url of [
    target.backendUrl,
    target.externalUrl,
    target.backend?.proxyTo,
    target.backend?.externalUrl,
  ]) {
    if (url === null || url === undefined || url === '') continue
    try {
      origins.add(new URL(url).origin)
    } catch {
      // A malformed externalUrl simply is not a rewrite source.
    }
  }
  return [...origins]
}

function flatHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

function describeNetworkError(error: unknown): string {
  const code = (error as { code?: string }).code
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  const parts = [code, cause?.code, (error as Error).message, cause?.message].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  )
  return [...new Set(parts)].join(': ') || 'unknown error'
}

export function sendError(response: ServerResponse, error: CodedError): void {
  if (response.headersSent || response.destroyed) {
    response.destroy()
    return
  }
  const body = JSON.stringify(error.toJSON())
  response.writeHead(error.statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  response.end(body)
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done)
      response.off('close', done)
      resolve()
    }
    response.on('drain', done)
    response.on('close', done)
  })
}
