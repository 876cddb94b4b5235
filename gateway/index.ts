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
import { openStore } from './store/index.ts'
import type { GatewayStore, StoreLogger } from './store/types.ts'

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
  /** Runs one health round now (refresh from the store, probe all) and resolves when it is done. */
  runHealthRound(): Promise<void>
  setSelector(selector: RoutingGroupSelector): void
  setPicker(picker: BackendPicker): void
  /** `METHOD /route` of every admin-side (fastify) route, as registered. */
  adminRoutes(): string[]
  close(): Promise<void>
}

export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const seed = options.seed ?? randomSeed()
  const logLevel = options.logLevel ?? 'info'
  const host = options.host ?? '127.0.0.1'
  const storeLogger = logLevel === 'silent' ? undefined : jsonLineLogger(logLevel)
  const store = await openStore({
    dataStore: options.config.dataStore,
    dataDir: options.dataDir,
    logger: storeLogger,
  })
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
    })
    await server.app.listen({ host, port: options.config.serverConfig.httpPort })
  } catch (error) {
    await store.close()
    throw error
  }
  server.monitor.start()
  const address = server.app.server.address()
  const port =
    typeof address === 'object' && address !== null ? address.port : options.config.serverConfig.httpPort
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
    runHealthRound: () => server.monitor.runRound(),
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
function jsonLineLogger(level: string): StoreLogger {
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
