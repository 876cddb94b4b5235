/**
 * The data plane: for a whitelisted path, find the backend (the follow-up's routing token, else the
 * sticky query id, else routing group and seeded choice), forward the request with undici and stream
 * the answer back. The only durable work is recording a new query id (query_history).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { CodedError } from '../../common/errors.ts'
import { rngFor } from '../../common/random.ts'
import type { BackendRegistry } from '../clusters/registry.ts'
import { gatewayError } from '../errors.ts'
import type { BackendPicker } from '../routing/backend-picker.ts'
import { type RoutingDecisionRecord, recordedHeaders } from '../routing/decision.ts'
import { routingGroupHeader } from '../routing/header-selector.ts'
import type { LocalStats } from '../routing/query-count-router.ts'
import { route } from '../routing/route.ts'
import type { RoutingGroupSelector, RoutingRequest } from '../routing/selector.ts'
import type { HistoryWriter } from '../store/history-writer.ts'
import type { BackendRecord, QueryHistoryRecord, QueryHistoryStore } from '../store/types.ts'
import { forwardToBackend, type HoldBack, type Released } from './forward.ts'
import { backendRequestHeaders, gatewayOriginOf, requestUserOf } from './headers.ts'
import { createPathFilter, proxiedMethods, statementPathOf } from './path-filter.ts'
import { extractQueryId } from './query-id.ts'
import type { QueryIdCache, QueryTarget } from './query-id-cache.ts'
import {
  rewriteBackendUri,
  rewritePrefix,
  type ScanResult,
  scanQueryResultsPrefix,
} from './query-results-scan.ts'
import { bodyAfterPrefix, readBodyPrefix } from './request-body.ts'
import {
  isProcessRoutingKeyId,
  type RoutingKey,
  type RoutingTokenCheck,
  routingTokenParameter,
  signRoutingToken,
  takeRoutingToken,
  verifyRoutingToken,
  withRoutingToken,
} from './routing-token.ts'
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
  /**
   * Prefix of the draw key of a request without a trace token (`request/<n>` by arrival): a
   * worker's (`worker/<id>/`), so workers sharing the seed do not draw the same sequence.
   */
  requestKeyPrefix?: string | undefined
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
  /** Lookups of follow-ups without a routing token. */
  history: Pick<QueryHistoryStore, 'findByQueryId'>
  /**
   * Records new queries' rows. `offer` takes a row at once when it can (write-behind with room), so
   * such a submission's answer goes on without a turn of the event loop; else `record` resolves once
   * the row is buffered or committed (sync), and a rejection cancels the query and answers 503
   * QUERY_HISTORY_WRITE_FAILED.
   */
  historyWriter: Pick<HistoryWriter, 'record' | 'offer'>
  /**
   * Keys of the routing tokens: the first signs the tokens appended to rewritten URIs, every one
   * verifies (rotation). Never empty: server.ts passes `routing.tokenKeys` or a per-process key.
   */
  routingKeys: readonly RoutingKey[]
  dispatcher: Dispatcher
  logger: ProxyLogger
  emitDecision: (record: RoutingDecisionRecord) => void
  /**
   * Whether anyone reads decision records now (a listener, or debug logging): building one costs
   * more CPU than the rest of a follow-up's routing, so none is built when nobody reads it.
   */
  decisionsWanted: () => boolean
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

/** What a follow-up's routing token says about its backend. */
type TokenRoute =
  | { kind: 'none' }
  | { kind: 'backend'; backend: BackendRecord }
  | { kind: 'invalid'; reason: string }

export function createProxy(deps: ProxyDeps): DataPlane {
  const { options, registry, logger } = deps
  const signingKey = signingKeyOf(deps.routingKeys)
  const isProxiedPath = createPathFilter(options)
  // Requests without a trace token draw from (seed, arrival number): reproducible for a serial run.
  let requestSequence = 0
  const requestKeyPrefix = options.requestKeyPrefix ?? ''

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      await serve(request, response)
    } catch (error) {
      if (response.destroyed || request.destroyed) {
        logger.debug({ url: request.url, err: (error as Error).message }, 'client went away')
      } else {
        logger.error({ err: (error as Error).message, url: request.url }, 'proxy failure')
      }
      if (!response.headersSent && !response.destroyed) {
        sendError(response, gatewayError('BACKEND_UNREACHABLE', `proxy failure: ${(error as Error).message}`))
      } else {
        response.destroy()
      }
    }
  }

  /** The gateway's port, read once it is listening (the address does not change afterwards). */
  let knownServerPort = 0
  function serverPort(): number {
    if (knownServerPort === 0) knownServerPort = deps.serverPort()
    return knownServerPort
  }

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase()
    const rawUrl = request.url ?? '/'
    const queryIndex = rawUrl.indexOf('?')
    const path = queryIndex === -1 ? rawUrl : rawUrl.slice(0, queryIndex)
    // The routing token is the gateway's: the backend (and the query-id extraction) never sees it.
    const { token: routingToken, rest: queryString } = takeRoutingToken(
      queryIndex === -1 ? '' : rawUrl.slice(queryIndex + 1),
    )
    const forwardUrl =
      routingToken === undefined ? rawUrl : queryString === '' ? path : `${path}?${queryString}`
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
    const incoming = request.headers
    const user = requestUserOf(incoming)
    const traceToken = headerOf(incoming, 'x-trino-trace-token')
    const base: DecisionBase | undefined = deps.decisionsWanted()
      ? {
          timestampMs: Date.now(),
          method,
          path,
          traceToken: traceToken ?? null,
          user: user ?? null,
          routingGroupHeader: headerOf(incoming, routingGroupHeader) ?? null,
        }
      : undefined

    const queryId = extractQueryId({
      method,
      path,
      queryString,
      statementPaths: options.statementPaths,
      body: bodyText,
      defaultCatalog: headerOf(incoming, 'x-trino-catalog'),
      defaultSchema: headerOf(incoming, 'x-trino-schema'),
    })

    let target: Target
    let extraHeaders: Readonly<Record<string, string>> = {}
    const tokenRoute: TokenRoute =
      queryId === undefined || routingToken === undefined
        ? { kind: 'none' }
        : routeByToken(queryId, routingToken)
    if (queryId !== undefined && tokenRoute.kind === 'invalid') {
      const error = gatewayError(
        'ROUTING_TOKEN_INVALID',
        `query ${queryId}: the routing token (${routingTokenParameter}) of this request is refused: ${tokenRoute.reason}; use the nextUri of the query's latest answer`,
        { queryId },
      )
      emitFailure(base, queryId, 'sticky', error)
      sendError(response, error)
      return
    }
    if (queryId !== undefined && tokenRoute.kind === 'backend') {
      const backend = tokenRoute.backend
      target = {
        backend,
        backendUrl: backend.proxyTo,
        routingGroup: backend.routingGroup,
        externalUrl: backend.externalUrl,
      }
      if (base !== undefined) {
        emit(base, {
          queryId,
          kind: 'sticky',
          stickySource: 'token',
          requestedGroup: null,
          candidates: [],
          selectedGroup: backend.routingGroup,
          fallback: false,
          backend: backend.name,
          backendUrl: backend.proxyTo,
          reason: stickyReason(queryId, 'token'),
          errorCode: null,
        })
      }
    } else if (queryId !== undefined) {
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
      if (base !== undefined) {
        emit(base, {
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
      }
    } else {
      const routingRequest: RoutingRequest = {
        method,
        path,
        queryString,
        // Only the selector reads every header, so only a request it routes flattens them.
        headers: flatHeaders(incoming),
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
      const picker = deps.picker()
      // The counts a load-aware picker compares, read before it picks, so a replay sees them too.
      let loads: Record<string, LocalStats> | undefined
      const recordingPicker: BackendPicker =
        base === undefined || picker.statsOf === undefined
          ? picker
          : {
              name: picker.name,
              pick(candidates, context) {
                loads = candidateLoads(picker, candidates)
                return picker.pick(candidates, context)
              },
            }
      const outcome = route({
        requestedGroup,
        defaultRoutingGroup: options.defaultRoutingGroup,
        backends: registry.list(),
        statusOf: (name) => registry.statusOf(name),
        picker: recordingPicker,
        rng: rngFor(options.seed, traceToken ?? `${requestKeyPrefix}request/${requestSequence++}`),
        user,
      })
      const routed = (backend: BackendRecord | null, errorCode: string | null) =>
        base === undefined
          ? undefined
          : emit(base, {
              queryId: null,
              kind: 'routed',
              stickySource: null,
              requestedGroup: requestedGroup ?? null,
              candidates: outcome.candidates.map((candidate) => candidate.name),
              selectedGroup: outcome.routingGroup,
              fallback: outcome.fallback,
              backend: backend?.name ?? null,
              backendUrl: backend?.proxyTo ?? null,
              reason: outcome.reason,
              errorCode,
              request: {
                queryString,
                headers: recordedHeaders(routingRequest.headers),
                body: bodyText,
                remoteAddress: routingRequest.remoteAddress,
              },
              ...(loads === undefined ? {} : { loads }),
            })
      if (!outcome.ok) {
        const error = gatewayError('NO_ROUTABLE_BACKEND', `no backend to route to: ${outcome.reason}`, {
          routingGroup: requestedGroup ?? options.defaultRoutingGroup,
          defaultRoutingGroup: options.defaultRoutingGroup,
        })
        routed(null, error.code)
        sendError(response, error)
        return
      }
      routed(outcome.backend, null)
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
      method,
      path,
      forwardUrl,
      queryId,
      target,
      body,
      bodyText,
      user,
      extraHeaders,
    })
  }

  /**
   * Verifies a follow-up's token. A token of another instance's per-process key is no claim at all
   * (that gateway had no shared key to sign with): the follow-up takes the lookup path like a URL
   * without a token. Any other failure is a refusal.
   */
  function routeByToken(queryId: string, token: string): TokenRoute {
    const check: RoutingTokenCheck = verifyRoutingToken(deps.routingKeys, queryId, token)
    if (!check.ok) {
      if (check.reason === 'unknown-key' && isProcessRoutingKeyId(token)) {
        logger.debug({ queryId }, "routing token of another instance's process key; looking the query up")
        return { kind: 'none' }
      }
      return { kind: 'invalid', reason: tokenRefusals[check.reason] }
    }
    const backend = registry.get(check.backend)
    if (backend === undefined)
      return { kind: 'invalid', reason: `it names backend ${check.backend}, which is not registered` }
    return { kind: 'backend', backend }
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
    method: string
    path: string
    /** The request URL as the backend gets it (routing token removed). */
    forwardUrl: string
    /** The query id of a follow-up (undefined for a new query: its answer names it). */
    queryId: string | undefined
    target: Target
    body: { prefix: Buffer; complete: boolean } | undefined
    bodyText: string
    user: string | undefined
    extraHeaders: Readonly<Record<string, string>>
  }): Promise<void> {
    const { request, response, method, path, target } = exchange
    const backendName = target.backend?.name ?? target.backendUrl
    const backend = parsedBackendUrl(target.backendUrl)
    const upstreamHeaders = backendRequestHeaders(
      request.headers,
      {
        forwardedHeadersEnabled: options.forwardedHeadersEnabled,
        clientAddress: request.socket.remoteAddress ?? '',
        scheme: 'http',
        serverPort: serverPort(),
      },
      exchange.extraHeaders,
    )
    let upstreamBody: Buffer | Readable | null = null
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

    const statementPath = statementPathOf(path, options.statementPaths)
    const hold: HoldBack<ScanResult> | undefined =
      statementPath === undefined || !(method === 'POST' || options.rewriteNextUri)
        ? undefined
        : {
            bytesMax: responseScanBytesMax,
            wanted(statusCode, headers) {
              const contentType = String(headers['content-type'] ?? '')
              return (
                contentType.includes('json') &&
                headers['content-encoding'] === undefined &&
                (isNewQuery(statusCode) || options.rewriteNextUri)
              )
            },
            inspect(prefix) {
              const scan = scanQueryResultsPrefix(prefix)
              return { decided: scan.decided, found: scan }
            },
            release: (prefix, scan, statusCode) =>
              releaseStatementAnswer(prefix, scan, isNewQuery(statusCode), exchange, target, backendName),
          }

    function isNewQuery(statusCode: number): boolean {
      return method === 'POST' && statusCode === 200
    }

    const result = await forwardToBackend(
      deps.dispatcher,
      {
        origin: backend.origin,
        path: `${backend.basePath}${exchange.forwardUrl}`,
        method: method as Dispatcher.HttpMethod,
        headers: upstreamHeaders,
        body: upstreamBody,
        timeoutMs: options.asyncTimeoutMs,
      },
      response,
      hold,
    )
    switch (result.kind) {
      case 'done':
        return
      case 'replaced':
        sendError(response, result.error)
        return
      case 'aborted':
        logger.debug({ url: request.url, reason: result.reason }, 'proxied exchange aborted')
        return
      case 'failed': {
        const code = (result.error as { code?: string }).code
        const failure =
          code === 'UND_ERR_HEADERS_TIMEOUT'
            ? gatewayError(
                'BACKEND_TIMEOUT',
                `backend ${backendName} (${target.backendUrl}) did not answer within routing.asyncTimeout (${options.asyncTimeoutMs} ms)`,
                { backend: backendName },
              )
            : gatewayError(
                'BACKEND_UNREACHABLE',
                `request to backend ${backendName} (${target.backendUrl}) failed: ${describeNetworkError(result.error)}`,
                { backend: backendName },
              )
        logger.warn({ backend: backendName, err: failure.message }, 'backend request failed')
        sendError(response, failure)
        return
      }
    }
  }

  /**
   * A statement answer's prefix on its way to the client: a new query's id is recorded first (an
   * unrecordable query is cancelled and the client gets the error instead), then the URIs that
   * point at the backend are rewritten to the gateway.
   */
  function releaseStatementAnswer(
    prefix: Buffer,
    scan: ScanResult,
    isNewQuery: boolean,
    exchange: {
      request: IncomingMessage
      bodyText: string
      user: string | undefined
      queryId: string | undefined
    },
    target: Target,
    backendName: string,
  ): Released | Promise<Released> {
    const queryId = scan.fields.find((field) => field.key === 'id')?.value
    if (!isNewQuery || queryId === undefined || queryId === '')
      return rewriteAnswer(prefix, scan, queryId, exchange, target)
    const recorded = record(queryId, exchange, target)
    if (recorded === true) return rewriteAnswer(prefix, scan, queryId, exchange, target)
    return recorded.then(async (outcome) => {
      if (outcome.ok) return rewriteAnswer(prefix, scan, queryId, exchange, target)
      await cancelQuery(target, queryId, exchange.user)
      return gatewayError(
        'QUERY_HISTORY_WRITE_FAILED',
        `query ${queryId} on backend ${backendName} could not be recorded in query_history (${outcome.reason}); it was cancelled so that it does not run unreachable`,
        { queryId, backend: backendName },
      )
    })
  }

  /** The answer's prefix with the URIs that point at the backend rewritten to the gateway. */
  function rewriteAnswer(
    prefix: Buffer,
    scan: ScanResult,
    answerId: string | undefined,
    exchange: { request: IncomingMessage; queryId: string | undefined },
    target: Target,
  ): Buffer {
    if (!options.rewriteNextUri) return prefix
    const origins = backendOrigins(target)
    const gatewayOrigin = gatewayOriginOf(
      exchange.request.headers,
      options.forwardedHeadersEnabled,
      `127.0.0.1:${serverPort()}`,
    )
    // The token is signed for the query the answer names; a follow-up's own id when it names none.
    const tokenQueryId = answerId !== undefined && answerId !== '' ? answerId : exchange.queryId
    const token =
      tokenQueryId === undefined || target.backend === undefined
        ? undefined
        : signRoutingToken(signingKey, tokenQueryId, target.backend.name)
    return rewritePrefix(prefix, scan.fields, (uri, key) => {
      const rewritten = rewriteBackendUri(uri, origins, gatewayOrigin)
      // Only URIs that lead to the gateway carry a token (rewritten ones, and those a coordinator
      // with http-server.process-forwarded built from X-Forwarded-*), and not infoUri: Trino's query
      // page reads the query id from its whole query string, and its API calls carry no token anyway.
      return token === undefined || key === 'infoUri' || !leadsTo(rewritten, gatewayOrigin)
        ? rewritten
        : withRoutingToken(rewritten, token)
    })
  }

  /**
   * Records a new query: in the query-id cache, and its query_history row. True when that is done
   * at once (history off, or the row taken into the write-behind buffer); else the outcome to wait for.
   */
  function record(
    queryId: string,
    exchange: { request: IncomingMessage; bodyText: string; user: string | undefined },
    target: Target,
  ): true | Promise<{ ok: true } | { ok: false; reason: string }> {
    deps.cache.set({
      queryId,
      backendUrl: target.backendUrl,
      routingGroup: target.routingGroup,
      externalUrl: target.externalUrl,
    })
    if (!options.queryHistoryEnabled) return true
    const row: QueryHistoryRecord = {
      queryId,
      queryText: exchange.bodyText,
      created: Date.now(),
      backendUrl: target.backendUrl,
      userName: exchange.user ?? null,
      source: headerOf(exchange.request.headers, 'x-trino-source') ?? null,
      routingGroup: target.routingGroup,
      externalUrl: target.externalUrl ?? target.backendUrl,
    }
    if (deps.historyWriter.offer(row)) return true
    return deps.historyWriter.record(row).then(
      () => ({ ok: true }) as const,
      (error: unknown) => {
        logger.error({ queryId, err: (error as Error).message }, 'query_history row could not be taken')
        return { ok: false, reason: (error as Error).message } as const
      },
    )
  }

  async function cancelQuery(target: Target, queryId: string, user: string | undefined): Promise<void> {
    try {
      const answer = await deps.dispatcher.request({
        ...queryInfoUrl(target.backendUrl, queryId),
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
    const answer = await deps.dispatcher.request({
      ...queryInfoUrl(backend.proxyTo, queryId),
      method: 'HEAD',
      // Trino may refuse an anonymous query lookup (#1234): send the user of the follow-up.
      headers: user === undefined ? {} : { 'x-trino-user': user },
      signal: AbortSignal.timeout(stickyProbeTimeoutMs),
      headersTimeout: stickyProbeTimeoutMs,
    })
    await answer.body.dump()
    return answer.statusCode === 200
  }

  function emit(base: DecisionBase, decision: Omit<RoutingDecisionRecord, keyof DecisionBase>): void {
    const record: RoutingDecisionRecord = {
      timestampMs: base.timestampMs,
      method: base.method,
      path: base.path,
      traceToken: base.traceToken,
      user: base.user,
      routingGroupHeader: base.routingGroupHeader,
      queryId: decision.queryId,
      kind: decision.kind,
      stickySource: decision.stickySource,
      requestedGroup: decision.requestedGroup,
      candidates: decision.candidates,
      selectedGroup: decision.selectedGroup,
      fallback: decision.fallback,
      backend: decision.backend,
      backendUrl: decision.backendUrl,
      reason: decision.reason,
      errorCode: decision.errorCode,
      ...(decision.request === undefined ? {} : { request: decision.request }),
      ...(decision.loads === undefined ? {} : { loads: decision.loads }),
    }
    logger.debug({ decision: record }, 'routing decision')
    deps.emitDecision(record)
  }

  /** The decision of a request that got an error instead of a backend. */
  function emitFailure(
    base: DecisionBase | undefined,
    queryId: string | null,
    kind: RoutingDecisionRecord['kind'],
    error: CodedError,
  ): void {
    if (base === undefined) return
    emit(base, {
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

/** True when a URI is on the given origin (`http://host:port`). */
function leadsTo(uri: string, origin: string): boolean {
  return uri.startsWith(origin) && (uri.length === origin.length || uri[origin.length] === '/')
}

function signingKeyOf(keys: readonly RoutingKey[]): RoutingKey {
  const first = keys[0]
  if (first === undefined) throw new RangeError('the proxy needs at least one routing key')
  return first
}

/** Why a token was refused, by verifyRoutingToken's reason. */
const tokenRefusals: Readonly<Record<Exclude<RoutingTokenCheck, { ok: true }>['reason'], string>> = {
  malformed: 'it is not of the form keyId.backend.mac',
  'unknown-key': 'its key id is none of routing.tokenKeys (a key retired by rotation, or a forgery)',
  'bad-mac': 'its signature does not match this query id and backend (forged, or copied from another query)',
}

function candidateLoads(
  picker: BackendPicker,
  candidates: readonly BackendRecord[],
): Record<string, LocalStats> {
  const loads: Record<string, LocalStats> = {}
  for (const candidate of candidates) {
    const stats = picker.statsOf?.(candidate.name)
    if (stats !== undefined) loads[candidate.name] = stats
  }
  return loads
}

function stickyReason(queryId: string, source: StickySource): string {
  const where = {
    token: 'its routing token',
    cache: 'the query-id cache',
    history: 'query_history',
    probe: 'a HEAD /v1/query probe',
  }[source]
  return `query ${queryId} is sticky to its recorded backend (found in ${where})`
}

/** Distinct URLs parsed at most (backend URLs and external URLs from history); then it starts over. */
const parsedUrlsMax = 1024
const parsedUrls = new Map<string, { origin: string; basePath: string } | null>()

/** Origin and path (no trailing slash) of a backend URL; null when it is not a URL. Memoised. */
function parseUrl(url: string): { origin: string; basePath: string } | null {
  let parsed = parsedUrls.get(url)
  if (parsed === undefined) {
    try {
      const { origin, pathname } = new URL(url)
      parsed = { origin, basePath: pathname.replace(/\/$/, '') }
    } catch {
      parsed = null
    }
    if (parsedUrls.size >= parsedUrlsMax) parsedUrls.clear()
    parsedUrls.set(url, parsed)
  }
  return parsed
}

/** A backend's proxyTo URL (validated when the backend was added). */
function parsedBackendUrl(url: string): { origin: string; basePath: string } {
  const parsed = parseUrl(url)
  if (parsed === null) throw new Error(`backend URL ${JSON.stringify(url)} is not a URL`)
  return parsed
}

/** `/v1/query/{id}` on a backend (behind its path prefix), for the probe and the cancel. */
function queryInfoUrl(backendUrl: string, queryId: string): { origin: string; path: string } {
  const backend = parsedBackendUrl(backendUrl)
  return { origin: backend.origin, path: `${backend.basePath}/v1/query/${encodeURIComponent(queryId)}` }
}

/** A registered backend's origins, by record (the registry replaces a changed record, never edits it). */
const backendOriginsByRecord = new WeakMap<BackendRecord, readonly string[]>()

/** Origins under which the backend may name itself in `nextUri`. */
function backendOrigins(target: Target): readonly string[] {
  const backend = target.backend
  // A target built from its registered backend (token, routing) has the record's origins.
  const ofRecord =
    backend !== undefined &&
    target.backendUrl === backend.proxyTo &&
    (target.externalUrl ?? null) === (backend.externalUrl ?? null)
  const known = ofRecord ? backendOriginsByRecord.get(backend) : undefined
  if (known !== undefined) return known
  const origins: string[] = []
  for (const url of [
    target.backendUrl,
    target.externalUrl,
    target.backend?.proxyTo,
    target.backend?.externalUrl,
  ]) {
    if (url === null || url === undefined || url === '') continue
    // A malformed externalUrl simply is not a rewrite source.
    const origin = parseUrl(url)?.origin
    if (origin !== undefined && !origins.includes(origin)) origins.push(origin)
  }
  if (ofRecord) backendOriginsByRecord.set(backend, origins)
  return origins
}

function flatHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of Object.keys(incoming)) {
    const value = headerOf(incoming, name)
    if (value !== undefined) headers[name] = value
  }
  return headers
}

/** One header as a string (repeated ones joined with ", "), as the routing code reads them. */
function headerOf(incoming: IncomingHttpHeaders, name: string): string | undefined {
  const value = incoming[name]
  return Array.isArray(value) ? value.join(', ') : value
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
