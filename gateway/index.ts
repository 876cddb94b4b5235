/**
 * The gateway's programmatic API: the harness and tests start gateways with `startGateway`.
 */
import { randomSeed } from '../common/random.ts'
import type { BackendRegistry } from './clusters/registry.ts'
import type { GatewayConfig } from './config.ts'
import type { BackendPicker } from './routing/backend-picker.ts'
import type { RoutingDecisionListener } from './routing/decision.ts'
import type { RoutingGroupSelector } from './routing/selector.ts'
import { buildGatewayServer } from './server.ts'
import { openStore, poolConnectionsMax } from './store/index.ts'
import type { GatewayStore, StoreLogger } from './store/types.ts'
import type { WorkerLink } from './workers/worker-link.ts'

export type { RoutingDecisionListener, RoutingDecisionRecord } from './routing/decision.ts'

export interface StartGatewayOptions {
  config: GatewayConfig
  /** Seed of every random choice; a random one (logged) when absent. */
  seed?: number
  /** Where the embedded PostgreSQL keeps its files (no `dataStore.jdbcUrl`); in memory when absent. */
  dataDir?: string
  /** Listen address; 127.0.0.1 by default. */
  host?: string
  /** pino level ('silent' in tests); 'info' by default. */
  logLevel?: string
  /** Where the gateway's own pino lines go; stdout by default (tests read them). */
  logDestination?: NodeJS.WritableStream
  selector?: RoutingGroupSelector
  picker?: BackendPicker
  /**
   * Set by gateway/workers/ in a data-plane worker: the seed, the database and the shared state
   * come from the primary, which also runs the monitor. Absent: one self-contained process.
   */
  worker?: WorkerLink
}

/** A worker's pool never holds fewer connections than this (one for the history writer, one for lookups). */
export const workerPoolConnectionsMin = 2

/** Each worker's share of the gateway's pool, so N workers do not hold N times the connections. */
export function workerPoolConnectionsMax(workers: number): number {
  return Math.max(workerPoolConnectionsMin, Math.ceil(poolConnectionsMax / Math.max(1, workers)))
}

export interface RunningGateway {
  /** `http://127.0.0.1:<port>` */
  url: string
  port: number
  /** `postgres://` URL of the store, for mock coordinators and other gateways. */
  databaseUrl: string
  seed: number
  store: GatewayStore
  registry: BackendRegistry
  /** Subscribes to routing decisions (one per proxied request); returns the unsubscribe function. */
  onRoutingDecision(listener: RoutingDecisionListener): () => void
  /**
   * Runs one health round now (refresh from the store, probe all) and resolves when it is done;
   * refused in a worker, whose primary runs the monitor.
   */
  runHealthRound(): Promise<void>
  setSelector(selector: RoutingGroupSelector): void
  setPicker(picker: BackendPicker): void
  /** `METHOD /route` of every admin-side (fastify) route, as registered. */
  adminRoutes(): string[]
  close(): Promise<void>
}

export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { worker } = options
  const seed = worker?.init.seed ?? options.seed ?? randomSeed()
  const logLevel = options.logLevel ?? 'info'
  const host = options.host ?? '127.0.0.1'
  const storeLogger = logLevel === 'silent' ? undefined : jsonLineLogger(logLevel)
  const store = await openStore(
    worker === undefined
      ? { dataStore: options.config.dataStore, dataDir: options.dataDir, logger: storeLogger }
      : {
          // The primary ran the migrations and serves the embedded database, if there is one.
          dataStore: {
            ...options.config.dataStore,
            ...(worker.init.databaseUrl === null
              ? {}
              : { jdbcUrl: worker.init.databaseUrl, user: undefined, password: undefined }),
            runMigrationsEnabled: false,
          },
          logger: storeLogger,
          connectionsMax: workerPoolConnectionsMax(options.config.workers ?? 1),
        },
  )
  const sharedKey = worker?.init.routingKey ?? null
  let server: Awaited<ReturnType<typeof buildGatewayServer>>
  try {
    server = await buildGatewayServer({
      config: options.config,
      store,
      seed,
      logLevel,
      logDestination: options.logDestination,
      selector: options.selector,
      picker: options.picker,
      worker,
      routingKeys:
        sharedKey === null
          ? undefined
          : [{ id: sharedKey.id, secret: Buffer.from(sharedKey.secret, 'base64') }],
    })
    await server.app.listen({ host, port: options.config.serverConfig.httpPort })
  } catch (error) {
    await store.close()
    throw error
  }
  server.monitor?.start()
  const address = server.app.server.address()
  const port =
    typeof address === 'object' && address !== null ? address.port : options.config.serverConfig.httpPort
  worker?.listening(port)
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  server.app.log.info({ seed, databaseUrl: store.url, port }, 'gateway started')
  let closing: Promise<void> | undefined
  return {
    url: `http://${urlHost}:${port}`,
    port,
    databaseUrl: store.url,
    seed,
    store,
    registry: server.registry,
    onRoutingDecision: (listener) => server.onRoutingDecision(listener),
    runHealthRound: () =>
      server.monitor?.runRound() ??
      Promise.reject(new Error('runHealthRound: the primary process runs the health monitor of a worker')),
    setSelector: (selector) => server.setSelector(selector),
    setPicker: (picker) => server.setPicker(picker),
    adminRoutes: () => server.adminRoutes(),
    close() {
      closing ??= (async () => {
        try {
          await server.close()
        } finally {
          await store.close()
        }
      })()
      return closing
    },
  }
}

const levelValues: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
}

/**
 * The store opens before fastify (and its pino) exists; this writes the same JSON lines as pino
 * (`level`, `time`, `msg`, fields) so start-up logs read alike.
 */
export function jsonLineLogger(level: string): StoreLogger {
  const threshold = levelValues[level] ?? levelValues.info ?? 30
  const write = (value: number, fields: Record<string, unknown>, msg: string) => {
    if (value >= threshold)
      process.stdout.write(`${JSON.stringify({ level: value, time: Date.now(), ...fields, msg })}\n`)
  }
  return {
    info: (fields, msg) => write(30, fields, msg),
    warn: (fields, msg) => write(40, fields, msg),
    error: (fields, msg) => write(50, fields, msg),
  }
}
