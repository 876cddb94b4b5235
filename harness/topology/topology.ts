import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Agent } from 'undici'
import { stringify } from 'yaml'
import { parseDurationMs } from '../../common/duration.ts'
import {
  type GatewayConfig,
  parseConfigText,
  parseGatewayConfig,
  substituteEnvironment,
} from '../../gateway/config.ts'
import { type RoutingDecisionRecord, type RunningGateway, startGateway } from '../../gateway/index.ts'
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../gateway/store/embedded.ts'
import {
  environmentDefault,
  parseMockConfig,
  type RunningMockTrino,
  startMockTrino,
} from '../../mock-trino/index.ts'
import { HarnessError } from '../errors.ts'
import type { ClusterSpec, Scenario } from '../scenario/schema.ts'
import { AdminClient } from './admin.ts'
import { type RunningExternalRouter, startExternalRouter, withExternalRouterUrl } from './external-router.ts'
import { applyResourceGroups, writeDbResourceGroupsEtc } from './resource-groups.ts'

/**
 * The topology of a scenario run, on ephemeral loopback ports: one database (embedded PGlite
 * started here, so it outlives any one gateway, or the scenario's URL), N mock clusters, and the
 * gateway instances (in-process through `startGateway`, or one gateway already running given by
 * URL). Clusters are registered through the gateway's admin HTTP API and waited on until HEALTHY.
 * `close()` tears down everything that was started, in reverse order, whatever failed.
 */

export interface ClusterHandle {
  spec: ClusterSpec
  mock: RunningMockTrino
}

export interface Topology {
  /** Gateway base URLs by instance; a restart keeps the URL. */
  gatewayUrls: string[]
  clusters: Map<string, ClusterHandle>
  /** Admin API of instance 0 (all instances share the database). */
  admin: AdminClient
  /** One admin client per instance, to wait for health on each (health is per instance). */
  admins: AdminClient[]
  /** The scenario's external routing service, when it declares one. */
  externalRouter: RunningExternalRouter | undefined
  /** Decisions of every in-process gateway instance, in arrival order; empty for a black box. */
  decisions: RoutingDecisionRecord[]
  /** True when the gateway's decision records are available (the harness started the gateway). */
  decisionsAvailable: boolean
  dispatcher: Agent
  /** Registers a declared cluster as its spec says (the addBackend action and initial setup). */
  registerCluster(name: string): Promise<void>
  /** Waits until every instance reports each named backend HEALTHY. */
  waitHealthy(names: readonly string[]): Promise<void>
  restartGateway(instance: number): Promise<void>
  /** One monitor round (health and counts) on every gateway instance the harness started, at once. */
  monitorRound(): Promise<void>
  close(): Promise<void>
}

export interface TopologyOptions {
  scenario: Scenario
  /** Folder of the scenario file; its relative paths resolve here. */
  scenarioDir: string
  seed: number
  /** A PostgreSQL URL that replaces the scenario's `database` (CI runs the scenarios on a server). */
  databaseUrl?: string | undefined
  /** A running gateway to test as a black box (overrides the scenario's gateway section). */
  gatewayUrl?: string | undefined
  logLevel?: string | undefined
}

/** Connections the harness's clients keep at most, per origin. */
export const clientConnectionsMax = 512

export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const { scenario, seed } = options
  const logLevel = options.logLevel ?? 'silent'
  const cleanups: Array<() => Promise<void>> = []
  const closeAll = async () => {
    // Reverse order: gateways before the database they use, mocks last.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
  }
  const dispatcher = new Agent({ connections: clientConnectionsMax, keepAliveTimeout: 10_000 })
  cleanups.push(() => dispatcher.close())

  try {
    const blackBoxUrl = options.gatewayUrl ?? scenario.gateway.url
    // The gateway's config is checked before anything starts: a bad key costs no start-up time.
    let rawConfig: Record<string, unknown> = {}
    let rulesFile: string | undefined
    let externalRouter: RunningExternalRouter | undefined
    if (scenario.externalRouter !== undefined) {
      externalRouter = await startExternalRouter(scenario.externalRouter).catch((error: unknown) => {
        throw startFailure('the external router', error)
      })
      const started = externalRouter
      cleanups.push(() => started.close())
    }
    const externalRouterUrl = externalRouter?.url
    if (blackBoxUrl === undefined) {
      rawConfig = await gatewayConfigDocument(scenario, options.scenarioDir)
      rulesFile = await writeRulesFile(scenario, options.scenarioDir)
      if (rulesFile !== undefined && scenario.gateway.rules !== undefined) {
        const written = rulesFile
        cleanups.push(() => rm(path.dirname(written), { recursive: true, force: true }))
      }
      try {
        parseGatewayConfig(
          withOverrides(rawConfig, 0, 'postgres://127.0.0.1:1/unused', rulesFile, externalRouterUrl),
          gatewaySource(scenario),
        )
      } catch (error) {
        throw startFailure('the gateway configuration', error)
      }
    }

    const clusters = new Map<string, ClusterHandle>()
    const decisions: RoutingDecisionRecord[] = []
    const gatewayUrls: string[] = []
    const gateways: Array<RunningGateway | undefined> = []
    let configFor: ((port: number) => GatewayConfig) | undefined

    // The database the run's rows live in; unknown for a black-box gateway without --database-url.
    let runDatabaseUrl: string | undefined =
      options.databaseUrl ?? (scenario.database === 'embedded' ? undefined : scenario.database.url)
    if (blackBoxUrl !== undefined) {
      gatewayUrls.push(blackBoxUrl.replace(/\/+$/, ''))
    } else {
      let databaseUrl: string
      if (options.databaseUrl !== undefined) {
        databaseUrl = options.databaseUrl
      } else if (scenario.database === 'embedded') {
        const database: EmbeddedPostgres = await startEmbeddedPostgres().catch((error: unknown) => {
          throw startFailure('the embedded database', error)
        })
        cleanups.push(() => database.close())
        databaseUrl = database.url
      } else {
        databaseUrl = scenario.database.url
      }
      runDatabaseUrl = databaseUrl
      const rawConfig = await gatewayConfigDocument(scenario, options.scenarioDir)
      const rulesFile = await writeRulesFile(scenario, options.scenarioDir)
      if (rulesFile !== undefined)
        cleanups.push(() => rm(path.dirname(rulesFile), { recursive: true, force: true }))
      configFor = (port: number) =>
        parseGatewayConfig(
          withOverrides(rawConfig, port, databaseUrl, rulesFile, externalRouterUrl),
          `scenario ${scenario.name}: gateway`,
        )
      const config = (() => {
        try {
          return configFor(0)
        } catch (error) {
          throw startFailure('the gateway configuration', error)
        }
      })()
      for (let instance = 0; instance < scenario.gateway.instances; instance++) {
        const gateway = await startGateway({ config, seed, logLevel }).catch((error: unknown) => {
          throw startFailure(`gateway instance ${instance}`, error)
        })
        gateway.onRoutingDecision((record) => decisions.push(record))
        gateways.push(gateway)
        gatewayUrls.push(gateway.url)
        cleanups.push(async () => {
          await gateways[instance]?.close()
        })
      }
    }

    const admins = gatewayUrls.map((url) => new AdminClient(url, dispatcher))
    const admin = admins[0] as AdminClient

    // Resource groups go into the database before any coordinator reads it.
    if (scenario.resourceGroups !== undefined) {
      await applyResourceGroups(admin, scenario.resourceGroups).catch((error: unknown) => {
        throw startFailure('creating the resource groups through the gateway', error)
      })
    }
    // Clusters start once the database and gateways are up: a db resource-group source needs both.
    for (const spec of scenario.clusters) {
      let etcDir: string | undefined
      if (spec.resourceGroupSource === 'db') {
        if (runDatabaseUrl === undefined) {
          throw new HarnessError(
            'TOPOLOGY_START_FAILED',
            `cluster ${spec.name}: resourceGroupSource db needs the gateway's database; with a gateway given by URL, pass --database-url (or a database url in the scenario)`,
          )
        }
        const written = await writeDbResourceGroupsEtc(
          spec.name,
          runDatabaseUrl,
          spec.coordinator?.environment ?? environmentDefault,
        )
        cleanups.push(() => rm(written, { recursive: true, force: true }))
        etcDir = written
      }
      const mock = await startCluster(spec, options, etcDir).catch((error: unknown) => {
        throw startFailure(`cluster ${spec.name}`, error)
      })
      cleanups.push(() => mock.close())
      clusters.set(spec.name, { spec, mock })
    }

    const topology: Topology = {
      gatewayUrls,
      clusters,
      admin,
      admins,
      externalRouter,
      decisions,
      decisionsAvailable: blackBoxUrl === undefined,
      dispatcher,
      async registerCluster(name) {
        const handle = clusters.get(name)
        if (handle === undefined) throw new HarnessError('ACTION_FAILED', `no cluster ${name}`)
        await admin.addBackend({
          name,
          proxyTo: handle.mock.url,
          externalUrl: handle.mock.url,
          routingGroup: handle.spec.routingGroup,
          active: handle.spec.active,
        })
      },
      async waitHealthy(names) {
        await Promise.all(admins.map((client) => client.waitHealthy(names)))
      },
      async restartGateway(instance) {
        const gateway = gateways[instance]
        if (gateway === undefined || configFor === undefined) {
          throw new HarnessError(
            'ACTION_FAILED',
            `gateway instance ${instance} was not started by the harness`,
          )
        }
        const port = gateway.port
        await gateway.close()
        gateways[instance] = undefined
        // Same port and database: clients holding nextUri URLs of this gateway keep working.
        const restarted = await startGateway({ config: configFor(port), seed, logLevel })
        restarted.onRoutingDecision((record) => decisions.push(record))
        gateways[instance] = restarted
        const active = [...clusters.values()]
          .filter((c) => c.spec.register && c.spec.active)
          .map((c) => c.spec.name)
        await (admins[instance] as AdminClient).waitHealthy(active)
      },
      async monitorRound() {
        if (blackBoxUrl !== undefined) {
          throw new HarnessError('ACTION_FAILED', 'a gateway given by URL runs its monitor rounds on its own')
        }
        await Promise.all(gateways.map((gateway) => gateway?.runHealthRound()))
      },
      close: closeAll,
    }

    const initial = scenario.clusters.filter((cluster) => cluster.register)
    for (const cluster of initial) {
      await topology.registerCluster(cluster.name).catch((error: unknown) => {
        throw startFailure(`registering ${cluster.name}`, error)
      })
    }
    await topology
      .waitHealthy(
        initial.filter((cluster) => cluster.active && cluster.waitHealthy).map((cluster) => cluster.name),
      )
      .catch((error: unknown) => {
        throw startFailure('waiting for HEALTHY clusters', error)
      })
    return topology
  } catch (error) {
    await closeAll()
    throw error
  }
}

function gatewaySource(scenario: Scenario): string {
  return scenario.gateway.configPath ?? `scenario ${scenario.name}, gateway.config`
}

function startFailure(what: string, error: unknown): HarnessError {
  if (error instanceof HarnessError && error.code !== 'ADMIN_API_FAILED') return error
  const code = (error as { code?: unknown }).code
  return new HarnessError(
    'TOPOLOGY_START_FAILED',
    `${what}: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message ?? String(error)}`,
  )
}

async function startCluster(
  spec: ClusterSpec,
  options: TopologyOptions,
  writtenEtcDir: string | undefined,
): Promise<RunningMockTrino> {
  const coordinator = spec.coordinator
  const etcDir =
    writtenEtcDir ?? (spec.etcDir === undefined ? undefined : path.resolve(options.scenarioDir, spec.etcDir))
  return startMockTrino({
    name: spec.name,
    host: '127.0.0.1',
    port: 0,
    seed: options.seed,
    ...(etcDir === undefined ? {} : { etcDir }),
    ...(coordinator === undefined
      ? {}
      : {
          coordinator: {
            ...(coordinator.environment === undefined ? {} : { environment: coordinator.environment }),
            ...(coordinator.maxConcurrentQueries === undefined
              ? {}
              : { maxConcurrentQueries: coordinator.maxConcurrentQueries }),
            ...(coordinator.maxQueuedQueries === undefined
              ? {}
              : { maxQueuedQueries: coordinator.maxQueuedQueries }),
            ...(coordinator.clientTimeout === undefined
              ? {}
              : { clientTimeoutMs: parseDurationMs(coordinator.clientTimeout) }),
          },
        }),
    mock: parseMockConfig(withRetention(spec, options.scenario), `cluster ${spec.name}: mock`),
    logLevel: options.logLevel ?? 'silent',
  })
}

/**
 * The harness reads every query back from the clusters after the run: a cluster keeps at least as
 * many finished queries as the scenario sends, unless the scenario says otherwise.
 */
function withRetention(spec: ClusterSpec, scenario: Scenario): Record<string, unknown> {
  const mock = spec.mock ?? {}
  if (spec.mock?.retention.finishedQueriesMax !== undefined) return mock
  const total = scenario.clients.reduce((sum, client) => sum + client.queries, 0)
  return { ...mock, retention: { finishedQueriesMax: Math.max(finishedQueriesKeptMin, total) } }
}

/** What a mock keeps by default (`finishedQueriesMaxDefault` of mock-trino). */
const finishedQueriesKeptMin = 10_000

/** The gateway's config.yaml document: inline, or read from `configPath` with `${ENV:NAME}` substituted. */
async function gatewayConfigDocument(
  scenario: Scenario,
  scenarioDir: string,
): Promise<Record<string, unknown>> {
  if (scenario.gateway.configPath === undefined) return structuredClone(scenario.gateway.config ?? {})
  const file = path.resolve(scenarioDir, scenario.gateway.configPath)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new HarnessError('TOPOLOGY_START_FAILED', `gateway.configPath ${file}: ${(error as Error).message}`)
  }
  const document = parseConfigText(substituteEnvironment(text, process.env, file), file)
  return document !== null && typeof document === 'object' ? (document as Record<string, unknown>) : {}
}

/** Inline rules become a rules file (Trino Gateway reads rules only from a file). */
async function writeRulesFile(scenario: Scenario, scenarioDir: string): Promise<string | undefined> {
  if (scenario.gateway.rulesPath !== undefined) return path.resolve(scenarioDir, scenario.gateway.rulesPath)
  if (scenario.gateway.rules === undefined) return undefined
  const dir = await mkdtemp(path.join(tmpdir(), `tgl-rules-${scenario.name}-`))
  const file = path.join(dir, 'routing-rules.yaml')
  await writeFile(file, scenario.gateway.rules.map((rule) => stringify(rule)).join('---\n'))
  return file
}

/**
 * What the harness decides whatever the config says: the port (ephemeral, or the old one on
 * restart), the database (the scenario's), the rules file when the scenario names rules, and the
 * external router's URL when the scenario declares one (its other settings stay the scenario's).
 */
function withOverrides(
  document: Record<string, unknown>,
  port: number,
  databaseUrl: string,
  rulesFile: string | undefined,
  externalRouterUrl?: string | undefined,
): Record<string, unknown> {
  const section = (key: string) => {
    const value = document[key]
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  }
  const config: Record<string, unknown> = {
    ...document,
    serverConfig: { ...section('serverConfig'), 'http-server.http.port': port },
    dataStore: { ...section('dataStore'), jdbcUrl: databaseUrl },
  }
  if (rulesFile !== undefined) {
    config.routingRules = {
      ...section('routingRules'),
      rulesEngineEnabled: true,
      rulesType: 'FILE',
      rulesConfigPath: rulesFile,
    }
  }
  return externalRouterUrl === undefined ? config : withExternalRouterUrl(config, externalRouterUrl)
}
