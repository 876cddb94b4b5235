/**
 * Wires the gateway: one HTTP server whose whitelisted paths go straight to the proxy and whose
 * other paths go to fastify (the admin APIs), the health monitor and the history retention task.
 */
import { createServer } from 'node:http'
import { hostname } from 'node:os'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import { Agent } from 'undici'
import { CodedError } from '../common/errors.ts'
import { backendsApi } from './api/backends.ts'
import { metricsApi } from './api/metrics.ts'
import { resourceGroupsApi } from './api/resource-groups.ts'
import { webappApi } from './api/webapp.ts'
import { authPlugin } from './auth/plugin.ts'
import {
  type ApplyRegistryChange,
  applyRegistryChangeLocally,
  type BackendService,
  createBackendService,
} from './clusters/backend-service.ts'
import type { HealthMonitor } from './clusters/monitor.ts'
import { createMonitorFromConfig } from './clusters/monitor-from-config.ts'
import { BackendRegistry } from './clusters/registry.ts'
import type { GatewayConfig } from './config.ts'
import { createProxy, type DataPlane, sendError } from './proxy/handler.ts'
import { QueryIdCache, queryIdCacheEntriesMax } from './proxy/query-id-cache.ts'
import { processRoutingKey, type RoutingKey } from './proxy/routing-token.ts'
import { type BackendPicker, randomBackendPicker } from './routing/backend-picker.ts'
import { RoutingDecisionHub, type RoutingDecisionListener } from './routing/decision.ts'
import { createHeaderRoutingGroupSelector } from './routing/header-selector.ts'
import {
  localStatsOf,
  QueryCountBasedRouter,
  queryCountBasedRouterModule,
} from './routing/query-count-router.ts'
import { createRulesSelector, type FileRoutingGroupSelector, rulesApi } from './routing/rules/index.ts'
import type { RoutingGroupSelector } from './routing/selector.ts'
import { createHistoryWriter, type HistoryWriter } from './store/history-writer.ts'
import { type HistoryRetention, startHistoryRetention } from './store/retention.ts'
import type { GatewayStore } from './store/types.ts'
import { uiRoutes } from './ui/routes.ts'
import type { WorkerLink } from './workers/worker-link.ts'

/** Connections the proxy keeps per backend origin at most. */
export const backendConnectionsMax = 256
/** Idle keep-alive connections to backends close after this long. */
export const backendKeepAliveTimeoutMs = 30_000
/** Idle client keep-alive connections close after this long (fastify's default). */
export const gatewayKeepAliveTimeoutMs = 72_000
/** Largest admin-API body accepted. */
export const adminBodyBytesMax = 1024 * 1024
/** The response header naming the worker that served a request (`workers` > 1 only). */
export const workerHeader = 'x-trino-gateway-worker'

export interface GatewayServerOptions {
  config: GatewayConfig
  store: GatewayStore
  seed: number
  /** pino level; 'silent' turns logging off. */
  logLevel?: string | undefined
  /** Where pino writes; stdout when absent. */
  logDestination?: NodeJS.WritableStream | undefined
  /** Defaults to the `X-Trino-Routing-Group` header selector. */
  selector?: RoutingGroupSelector | undefined
  /** Defaults to what `modules` asks for: the query-count router, else the uniform random picker. */
  picker?: BackendPicker | undefined
  /**
   * Set in a data-plane worker (`workers` > 1): the primary runs the monitor and history retention
   * and holds the shared state; this process serves requests with the state the link delivers.
   */
  worker?: WorkerLink | undefined
  /** The routing keys when the config names none (a worker gets the primary's); else one per process. */
  routingKeys?: RoutingKey[] | undefined
}

export interface GatewayServer {
  app: FastifyInstance
  registry: BackendRegistry
  /** Undefined in a worker: the primary's monitor probes for every worker. */
  monitor: HealthMonitor | undefined
  backends: BackendService
  proxy: DataPlane
  cache: QueryIdCache
  /** Undefined in a worker: the primary deletes old rows once for all. */
  retention: HistoryRetention | undefined
  /** Writes new queries' query_history rows (routing.history: write-behind or sync). */
  historyWriter: HistoryWriter
  onRoutingDecision(listener: RoutingDecisionListener): () => void
  /** Swaps the routing-group selector (rules, external) at run time. */
  setSelector(selector: RoutingGroupSelector): void
  /** Swaps the backend picker (e.g. the query-count router). */
  setPicker(picker: BackendPicker): void
  /** `METHOD /route` of every fastify route, as registered (the auth policy must list each). */
  adminRoutes(): string[]
  /** Stops timers, the HTTP server (dropping keep-alive connections) and the backend client. */
  close(): Promise<void>
}

export async function buildGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const { config, store, worker } = options
  const logLevel = options.logLevel ?? 'info'
  const debugLogging = logLevel === 'debug' || logLevel === 'trace'
  // Proxied paths go to the data plane straight from the HTTP server, before fastify builds its
  // request and reply objects and runs routing and hooks (whitelisted paths win, as in Trino
  // Gateway's pre-matching filter); everything else is fastify's.
  let dataPlane: DataPlane | undefined
  const workerId = worker === undefined ? undefined : String(worker.workerId)
  // A worker's lines say which worker wrote them.
  const base =
    worker === undefined ? {} : { base: { pid: process.pid, hostname: hostname(), worker: worker.workerId } }
  const app = Fastify({
    serverFactory: (fastifyHandler) => {
      const server = createServer((request, response) => {
        const url = request.url ?? '/'
        const queryIndex = url.indexOf('?')
        const path = queryIndex === -1 ? url : url.slice(0, queryIndex)
        if (workerId !== undefined) response.setHeader(workerHeader, workerId)
        if (dataPlane?.isProxiedPath(path)) void dataPlane.handle(request, response)
        else fastifyHandler(request, response)
      })
      // What fastify sets on a server of its own: long keep-alive, no request or socket timeout
      // (result streams may run long; routing.asyncTimeout bounds the backend side).
      server.keepAliveTimeout = gatewayKeepAliveTimeoutMs
      server.requestTimeout = 0
      server.setTimeout(0)
      return server
    },
    logger:
      logLevel === 'silent'
        ? false
        : options.logDestination === undefined
          ? { level: logLevel, ...base }
          : { level: logLevel, stream: options.logDestination, ...base },
    // Streams can run long: close() must not wait for clients to finish reading.
    forceCloseConnections: true,
    bodyLimit: adminBodyBytesMax,
    // One log line per proxied request is noise at info level; debug shows them.
    logController: new LogController({ disableRequestLogging: logLevel !== 'debug' && logLevel !== 'trace' }),
  })
  const logger = app.log
  const dispatcher = new Agent({
    connections: backendConnectionsMax,
    keepAliveTimeout: backendKeepAliveTimeoutMs,
    headersTimeout: config.routing.asyncTimeoutMs,
    bodyTimeout: config.routing.asyncTimeoutMs,
  })
  const registry = new BackendRegistry()
  let picker =
    options.picker ??
    (config.modules.includes(queryCountBasedRouterModule)
      ? new QueryCountBasedRouter({
          tieBreak: config.routing.tieBreak,
          // A worker's picks reach the primary and, through it, every other worker's counts.
          onPick: worker === undefined ? undefined : (name, user) => worker.reportPick(name, user),
        })
      : randomBackendPicker)
  const monitor =
    worker !== undefined
      ? undefined
      : createMonitorFromConfig({
          config,
          registry,
          backends: store.backends,
          dispatcher,
          logger,
          // Whichever picker is in force (setPicker may swap it) gets the fresh counts.
          onStats: (name, stats) => {
            if (picker instanceof QueryCountBasedRouter) picker.updateClusterStats(name, localStatsOf(stats))
          },
        })
  // A worker's change goes through the primary, which puts it in force in every worker.
  const applyHere = monitor === undefined ? undefined : applyRegistryChangeLocally(registry, monitor)
  const applyChange: ApplyRegistryChange =
    applyHere === undefined ? (worker as WorkerLink).applyRegistryChange : async (change) => applyHere(change)
  const backends = createBackendService({ store: store.backends, registry, apply: applyChange })
  const hub = new RoutingDecisionHub((error) =>
    logger.warn({ err: (error as Error).message }, 'routing-decision listener threw'),
  )
  const cache = new QueryIdCache(queryIdCacheEntriesMax)
  // `routingRules` decides: file rules, an external service, or (engine off) the header.
  const rulesSelector = createRulesSelector(config.routingRules, config.requestAnalyzerConfig, logger)
  let selector = options.selector ?? rulesSelector ?? createHeaderRoutingGroupSelector()
  const historyWriter = createHistoryWriter({
    mode: config.routing.history,
    writeIntervalMs: config.routing.historyWriteIntervalMs,
    history: store.history,
    logger,
  })
  const proxy = createProxy({
    options: {
      statementPaths: config.statementPaths,
      extraWhitelistPaths: config.extraWhitelistPaths,
      defaultRoutingGroup: config.routing.defaultRoutingGroup,
      asyncTimeoutMs: config.routing.asyncTimeoutMs,
      forwardedHeadersEnabled: config.routing.forwardedHeadersEnabled,
      rewriteNextUri: config.routing.rewriteNextUri,
      queryHistoryEnabled: config.dataStore.queryHistoryEnabled,
      seed: options.seed,
      requestKeyPrefix: worker === undefined ? undefined : `worker/${worker.workerId}/`,
    },
    registry,
    selector: () => selector,
    picker: () => picker,
    cache,
    history: store.history,
    historyWriter,
    routingKeys: routingKeysOf(config, options.routingKeys),
    dispatcher,
    logger,
    emitDecision: (record) => hub.emit(record),
    decisionsWanted: () => hub.hasListeners || debugLogging,
    serverPort: () => {
      const address = app.server.address()
      return typeof address === 'object' && address !== null ? address.port : config.serverConfig.httpPort
    },
  })

  dataPlane = proxy

  // Admin bodies arrive as text whatever their content type: each route parses and validates them,
  // so a malformed body gets the same named 400 as an invalid one.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof CodedError) {
      if (error.statusCode >= 500)
        request.log.error({ err: error.message, code: error.code }, 'admin API failure')
      return reply.code(error.statusCode).send(error.toJSON())
    }
    const statusCode = (error as { statusCode?: number }).statusCode ?? 500
    const code = (error as { code?: string }).code ?? 'INTERNAL_ERROR'
    if (statusCode >= 500) request.log.error({ err: (error as Error).message }, 'admin API failure')
    return reply.code(statusCode).send({ code, message: (error as Error).message })
  })

  const adminRoutes: string[] = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) adminRoutes.push(`${method} ${route.url}`)
  })
  // Before every route: its hooks decide who may call each one (gateway/auth/policy.ts).
  await authPlugin(app, {
    security: config.security,
    forwardedHeadersEnabled: config.routing.forwardedHeadersEnabled,
  })
  await app.register(uiRoutes)
  await app.register(backendsApi, {
    backends,
    registry,
    isReady: () => (monitor === undefined ? (worker as WorkerLink).monitorReady : monitor.ready),
    routerStatsOf: (name) => (picker instanceof QueryCountBasedRouter ? picker.statsOf(name) : undefined),
    rulesStatus: () => fileSelectorIn(selector)?.status(),
  })
  await app.register(metricsApi, {
    historyStats: async () =>
      worker === undefined
        ? [{ stats: historyWriter.stats() }]
        : (await worker.historyStatsOfEveryWorker()).map(([id, stats]) => ({ worker: id, stats })),
    rulesHealth: () => {
      const file = fileSelectorIn(selector)
      return file === undefined ? undefined : { status: file.status(), metrics: file.metrics() }
    },
  })
  await app.register(webappApi, {
    backends,
    registry,
    store,
    startedAtMs: Date.now(),
    disablePages: config.uiConfiguration.disablePages,
  })
  // Only the file selector reloads after a rules update.
  const reloadable = rulesSelector !== undefined && 'reload' in rulesSelector ? rulesSelector : undefined
  await app.register(rulesApi, {
    rulesConfigPath: config.routingRules.rulesConfigPath,
    rulesEngineEnabled: config.routingRules.rulesEngineEnabled,
    rulesType: config.routingRules.rulesType,
    analyzeRequest: config.requestAnalyzerConfig.analyzeRequest,
    selector: reloadable,
    // Workers write the one rules file in turn, and each reloads it before the update answers.
    ...(worker === undefined ? {} : { coordinateUpdate: (update) => worker.updateRules(update) }),
  })
  await app.register(resourceGroupsApi, { store })

  worker?.attach({
    registry,
    router: () => (picker instanceof QueryCountBasedRouter ? picker : undefined),
    reloadRules: async () => {
      await reloadable?.reload()
    },
    historyStats: () => historyWriter.stats(),
    logger,
  })

  const retention =
    worker !== undefined
      ? undefined
      : startHistoryRetention({
          history: store.history,
          hoursRetention: config.dataStore.queryHistoryHoursRetention,
          logger,
        })

  return {
    app,
    registry,
    monitor,
    backends,
    proxy,
    cache,
    retention,
    historyWriter,
    onRoutingDecision: (listener) => hub.subscribe(listener),
    setSelector(next) {
      selector = next
    },
    setPicker(next) {
      picker = next
    },
    adminRoutes: () => [...adminRoutes],
    async close() {
      await monitor?.close()
      await retention?.stop()
      await app.close()
      // No request is served any more: write the buffered history rows while the store is open.
      await historyWriter.close()
      await selector.close?.()
      if (rulesSelector !== undefined && rulesSelector !== selector) await rulesSelector.close?.()
      await dispatcher.close().catch(() => dispatcher.destroy())
    },
  }
}

/**
 * `routing.tokenKeys` as signing keys (the first signs); without any, `unconfigured` (a worker gets
 * its primary's key) or one random key for this process, so tokens still spare this instance its
 * lookups (other instances fall back to theirs).
 */
export function routingKeysOf(config: GatewayConfig, unconfigured?: RoutingKey[]): RoutingKey[] {
  if (config.routing.tokenKeys.length === 0) return unconfigured ?? [processRoutingKey()]
  return config.routing.tokenKeys.map((key) => ({ id: key.id, secret: Buffer.from(key.secret, 'utf8') }))
}

/** The selector in force when it routes by a rules file (it has a status and metrics). */
function fileSelectorIn(selector: RoutingGroupSelector): FileRoutingGroupSelector | undefined {
  return selector.kind === 'file' && 'status' in selector && 'metrics' in selector
    ? (selector as FileRoutingGroupSelector)
    : undefined
}

export { sendError }
