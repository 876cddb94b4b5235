import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import path from 'node:path'
import { Agent, request } from 'undici'
import { stringify } from 'yaml'
import { parseDurationMs } from '../../common/duration.ts'
import { randomSeed } from '../../common/random.ts'
import { sleepMs } from '../../common/wait.ts'
import { parseConfigText, parseGatewayConfig, substituteEnvironment } from '../../gateway/config.ts'
import { schedulingPolicyOf } from '../../gateway/workers/primary.ts'
import { buildGateway, distRoot } from '../../scripts/build.ts'
import { HarnessError } from '../errors.ts'
import { loadScenarioFile, resolveScenarioPath } from '../scenario/loader.ts'
import type { ClientSpec, Scenario } from '../scenario/schema.ts'
import { AdminClient } from '../topology/admin.ts'
import { checkTargets, summarize, verdictText } from './analysis.ts'
import { probeRequestsPerQuery, runStep, type StepMeasurement, type TrinoLoad } from './load.ts'
import { floorOpenLoopFraction, plannedLoadSeconds, planOpenLoop, planSweep, type SweepPlan } from './plan.ts'
import {
  type ChildHandle,
  type ProcessSample,
  readStartScriptNodeFlags,
  rssPeakSampler,
  sampleProcessTree,
  startDatabaseProcess,
  startGatewayProcess,
  startMinimalProxyProcess,
  startMockProcess,
  startScriptEntry,
  trackWorkDir,
} from './processes.ts'
import type { Progress } from './progress.ts'
import {
  type CapacityReport,
  type InFlightResult,
  type MinimalProxySeries,
  type ProcessUsage,
  reportSchemaVersion,
  type StepResult,
  type TargetSeries,
} from './report-schema.ts'

/**
 * The capacity run (imperative shell): stands the topology up as child processes, measures every
 * step against the mock directly and through the gateway, and each closed-loop step also through
 * the minimal proxy (the floor: any Node.js proxy's price on this machine), and returns the report.
 * Every phase is bounded by the plan's durations and autocannon's request timeout.
 */

/** Each query is a POST and a few polls: no wait inside the mock, one row. */
export const capacitySql = 'SELECT 1 /* mock: duration=0ms rows=1 */'
/** Queries of the in-flight phase run longer than the phase, so they stay in flight through it. */
export const inFlightQueryDuration = '60s'
/** Polls per query in the in-flight phase; the mock holds each executing poll up to 1 s. */
export const inFlightPollsPerQuery = 100
export const rssSampleIntervalMs = 100
export const mockCountsSampleIntervalMs = 250
export const mockCountsTimeoutMs = 2000
/** How long the in-flight phase goes on once the target count is reached. */
export const inFlightHoldMs = 500
/** Mocks of the default topology admit far more than a run sends, so the mock never queues. */
export const defaultMockProperties: Readonly<Record<string, string>> = {
  'query.max-concurrent-queries': '100000',
  'query.max-queued-queries': '100000',
  // Queries a stopped sequence left behind are failed quickly instead of holding memory.
  'query.client.timeout': '10s',
}
export const warmupConnections = 16

export interface CapacityOptions {
  mode: 'quick' | 'full'
  scenario?: string | undefined
  /** The scenario's seed, else a random one, when absent. */
  seed?: number | undefined
  runId: string
  cpuProfileDir?: string | undefined
  /** The gateway's store; overrides the scenario's database. Embedded PGlite when absent. */
  databaseUrl?: string | undefined
  /** The gateway's `workers` (data-plane processes); `capacityWorkersDefault` when absent. */
  workers?: number | undefined
  progress: Progress
}

/**
 * One data-plane process unless asked: the figures stay comparable with earlier reports, and on a
 * small machine the load generator, the mock and the floor compete with every extra worker.
 */
export const capacityWorkersDefault = 1

interface ClusterPlan {
  name: string
  routingGroup: string
  active: boolean
  configProperties: Record<string, string>
  nodeProperties?: Record<string, string> | undefined
  etcDir?: string | undefined
  mockYaml?: unknown
}

interface TopologyPlan {
  clusters: ClusterPlan[]
  gatewayConfig: Record<string, unknown>
  databaseUrl?: string | undefined
  headers: Record<string, string>
  /** The cluster direct runs target: the one the gateway routes these headers to by default. */
  directTarget: string
}

export function headersOf(client: ClientSpec | undefined): Record<string, string> {
  const spec = client?.headers
  const headers: Record<string, string> = {
    'x-trino-user': spec?.user ?? 'capacity',
    'x-trino-source': 'capacity',
  }
  if (spec === undefined) return headers
  if (spec.source !== undefined) headers['x-trino-source'] = spec.source
  if (spec.clientTags !== undefined) headers['x-trino-client-tags'] = spec.clientTags.join(',')
  if (spec.routingGroup !== undefined) headers['x-trino-routing-group'] = spec.routingGroup
  if (spec.catalog !== undefined) headers['x-trino-catalog'] = spec.catalog
  if (spec.schema !== undefined) headers['x-trino-schema'] = spec.schema
  if (spec.session !== undefined) {
    headers['x-trino-session'] = Object.entries(spec.session)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(',')
  }
  for (const [key, value] of Object.entries(spec.extra ?? {})) headers[key.toLowerCase()] = value
  return headers
}

/** Which cluster the direct runs hit: the first active one of the group these headers route to. */
export function directTargetOf(
  clusters: ReadonlyArray<Pick<ClusterPlan, 'name' | 'routingGroup' | 'active'>>,
  headers: Readonly<Record<string, string>>,
  defaultRoutingGroup: string,
): string {
  const group = headers['x-trino-routing-group'] ?? defaultRoutingGroup
  const active = clusters.filter((cluster) => cluster.active)
  const chosen = active.find((cluster) => cluster.routingGroup === group) ?? active[0] ?? clusters[0]
  if (chosen === undefined) throw new HarnessError('USAGE', 'the topology has no cluster to measure')
  return chosen.name
}

async function topologyFromScenario(
  scenario: Scenario,
  scenarioDir: string,
  workDir: string,
): Promise<TopologyPlan> {
  if (scenario.gateway.url !== undefined) {
    throw new HarnessError(
      'USAGE',
      `scenario ${scenario.name}: gateway.url names a running gateway; a capacity run starts its own gateway so it can read the process's CPU and memory`,
    )
  }
  let gatewayConfig: Record<string, unknown> = structuredClone(scenario.gateway.config ?? {})
  if (scenario.gateway.configPath !== undefined) {
    const file = path.resolve(scenarioDir, scenario.gateway.configPath)
    const text = await readFile(file, 'utf8').catch((error: Error) => {
      throw new HarnessError('TOPOLOGY_START_FAILED', `gateway.configPath ${file}: ${error.message}`)
    })
    const document = parseConfigText(substituteEnvironment(text, process.env, file), file)
    gatewayConfig =
      document !== null && typeof document === 'object' ? (document as Record<string, unknown>) : {}
  }
  let rulesFile: string | undefined
  if (scenario.gateway.rulesPath !== undefined)
    rulesFile = path.resolve(scenarioDir, scenario.gateway.rulesPath)
  else if (scenario.gateway.rules !== undefined) {
    rulesFile = path.join(workDir, 'routing-rules.yaml')
    await writeFile(rulesFile, scenario.gateway.rules.map((rule) => stringify(rule)).join('---\n'))
  }
  if (rulesFile !== undefined) {
    const section = gatewayConfig.routingRules
    gatewayConfig.routingRules = {
      ...(section !== null && typeof section === 'object' ? section : {}),
      rulesEngineEnabled: true,
      rulesType: 'FILE',
      rulesConfigPath: rulesFile,
    }
  }
  const clusters: ClusterPlan[] = scenario.clusters
    .filter((cluster) => cluster.register)
    .map((cluster) => {
      const properties: Record<string, string> = {}
      const coordinator = cluster.coordinator
      if (coordinator?.maxConcurrentQueries !== undefined)
        properties['query.max-concurrent-queries'] = String(coordinator.maxConcurrentQueries)
      if (coordinator?.maxQueuedQueries !== undefined)
        properties['query.max-queued-queries'] = String(coordinator.maxQueuedQueries)
      if (coordinator?.clientTimeout !== undefined)
        properties['query.client.timeout'] = `${parseDurationMs(coordinator.clientTimeout)}ms`
      return {
        name: cluster.name,
        routingGroup: cluster.routingGroup,
        active: cluster.active,
        configProperties: properties,
        nodeProperties: (coordinator?.environment === undefined
          ? {}
          : { 'node.environment': coordinator.environment }) as Record<string, string>,
        etcDir: cluster.etcDir === undefined ? undefined : path.resolve(scenarioDir, cluster.etcDir),
        mockYaml: cluster.mock,
      }
    })
  const headers = headersOf(scenario.clients[0])
  const routing = gatewayConfig.routing as { defaultRoutingGroup?: unknown } | undefined
  const defaultGroup =
    typeof routing?.defaultRoutingGroup === 'string' ? routing.defaultRoutingGroup : 'adhoc'
  return {
    clusters,
    gatewayConfig,
    databaseUrl: scenario.database === 'embedded' ? undefined : scenario.database.url,
    headers,
    directTarget: directTargetOf(clusters, headers, defaultGroup),
  }
}

function defaultTopology(): TopologyPlan {
  return {
    clusters: [
      {
        name: 'trino-a',
        routingGroup: 'adhoc',
        active: true,
        configProperties: { ...defaultMockProperties },
      },
    ],
    gatewayConfig: {},
    headers: headersOf(undefined),
    directTarget: 'trino-a',
  }
}

function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim()
    return dirty === '' ? head : `${head}+uncommitted`
  } catch {
    return 'unknown'
  }
}

/** A database URL without its password, for the report. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

function toStep(
  mode: 'closed' | 'open',
  connections: number,
  offered: number | null,
  measurement: StepMeasurement,
  usage: ProcessUsage | null,
  mockUsage: ProcessUsage | null,
): StepResult {
  return {
    mode,
    connections,
    offeredRequestsPerSecond: offered,
    ...measurement,
    coordinatedOmissionCorrected: mode === 'open',
    gatewayProcess: usage,
    mockProcess: mockUsage,
  }
}

function usageOf(
  before: ProcessSample,
  after: ProcessSample,
  rssMbPeak: number,
  m: StepMeasurement,
): ProcessUsage {
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds
  const thousands = m.requests / 1000
  const perSecondThousands = m.requestsPerSecond / 1000
  return {
    cpuSeconds: round(cpuSeconds, 2),
    cpuSecondsPerSecond: round(cpuSeconds / m.durationS, 3),
    cpuSecondsPer1000Requests: thousands > 0 ? round(cpuSeconds / thousands, 4) : null,
    rssMbPeak: round(rssMbPeak, 1),
    rssMbPer1000RequestsPerSecond: perSecondThousands > 0 ? round(rssMbPeak / perSecondThousands, 1) : null,
  }
}

/**
 * Runs a step while reading each process's CPU time and resident memory from /proc: the mock's,
 * and the proxy's in front of it (the gateway or the minimal proxy) when there is one.
 */
async function measureStep(
  pids: { proxy?: number | undefined; mock: number },
  work: () => Promise<StepMeasurement>,
): Promise<{ measurement: StepMeasurement; usage: ProcessUsage | null; mockUsage: ProcessUsage }> {
  // The whole tree: a gateway with workers is its primary and one child process per worker.
  const proxyBefore = pids.proxy === undefined ? undefined : await sampleProcessTree(pids.proxy)
  const mockBefore = await sampleProcessTree(pids.mock)
  const proxyRss = pids.proxy === undefined ? undefined : rssPeakSampler(pids.proxy, rssSampleIntervalMs)
  const mockRss = rssPeakSampler(pids.mock, rssSampleIntervalMs)
  const measurement = await work()
  const proxyPeak = await proxyRss?.stop()
  const mockPeak = await mockRss.stop()
  const mockUsage = usageOf(mockBefore, await sampleProcessTree(pids.mock), mockPeak, measurement)
  if (pids.proxy === undefined || proxyBefore === undefined) return { measurement, usage: null, mockUsage }
  const usage = usageOf(proxyBefore, await sampleProcessTree(pids.proxy), proxyPeak ?? 0, measurement)
  return { measurement, usage, mockUsage }
}

async function mockCountsSum(urls: readonly string[], dispatcher: Agent): Promise<number> {
  let total = 0
  for (const url of urls) {
    const response = await request(`${url}/_mock/counts`, {
      dispatcher,
      headersTimeout: mockCountsTimeoutMs,
      bodyTimeout: mockCountsTimeoutMs,
    })
    const counts = (await response.body.json()) as { running?: number; queued?: number }
    total += (counts.running ?? 0) + (counts.queued ?? 0)
  }
  return total
}

async function runInFlight(
  gateway: { url: string; pid: number },
  mockPid: number,
  load: TrinoLoad,
  mockUrls: readonly string[],
  plan: SweepPlan,
): Promise<InFlightResult> {
  const dispatcher = new Agent({ connections: 4 })
  const rssMbBefore = (await sampleProcessTree(gateway.pid)).rssMb
  const stop = new AbortController()
  let peak = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await mockCountsSum(mockUrls, dispatcher).catch(() => 0))
      // Reached: hold it a little longer so the RSS sampler sees the gateway with all of them open.
      if (peak >= plan.inFlight.queries && !stop.signal.aborted) {
        await sleepMs(inFlightHoldMs)
        stop.abort()
      }
      await sleepMs(mockCountsSampleIntervalMs)
    }
  })()
  try {
    const { measurement, usage } = await measureStep({ proxy: gateway.pid, mock: mockPid }, () =>
      runStep(
        {
          ...load,
          sql: `SELECT 1 /* mock: duration=${inFlightQueryDuration} rows=1 */`,
          requestsPerQuery: inFlightPollsPerQuery + 1,
        },
        { connections: plan.inFlight.queries, durationS: plan.inFlight.durationS, stop: stop.signal },
      ),
    )
    return {
      queriesInFlightTarget: plan.inFlight.queries,
      queriesInFlightPeak: peak,
      connections: plan.inFlight.queries,
      durationS: measurement.durationS,
      rssMbBefore: round(rssMbBefore, 1),
      rssMbPeak: usage?.rssMbPeak ?? 0,
      errors: measurement.errors,
      non2xx: measurement.non2xx,
      timeouts: measurement.timeouts,
    }
  } finally {
    sampling = false
    await sampler
    await dispatcher.close()
  }
}

export async function runCapacity(options: CapacityOptions): Promise<CapacityReport> {
  const { progress } = options
  const plan = planSweep(options.mode)
  const startedAt = new Date()
  const loadAverage1mStart = loadavg()[0] ?? 0
  const workDir = await mkdtemp(path.join(tmpdir(), 'tgl-capacity-'))
  trackWorkDir(workDir, true)
  /** This run's build of the gateway: under dist/, so its external packages resolve from node_modules. */
  let buildDir: string | undefined
  const children: ChildHandle[] = []
  const dispatcher = new Agent({ connections: 8 })
  let scenarioName: string | null = null
  try {
    progress.step('starting the database, mocks and gateway', 0)
    let topology: TopologyPlan
    let scenarioSeed: number | undefined
    if (options.scenario === undefined) topology = defaultTopology()
    else {
      const loaded = await loadScenarioFile(resolveScenarioPath(options.scenario))
      scenarioName = loaded.scenario.name
      scenarioSeed = loaded.scenario.seed
      topology = await topologyFromScenario(loaded.scenario, loaded.dir, workDir)
    }
    // The processes take seeds from 1; a scenario's seed 0 gets a random one like no seed.
    const seed =
      options.seed ?? (scenarioSeed !== undefined && scenarioSeed >= 1 ? scenarioSeed : randomSeed())
    const databaseUrlGiven = options.databaseUrl ?? topology.databaseUrl
    const workers = options.workers ?? capacityWorkersDefault
    const gatewayConfigWith = (jdbcUrl: string) => ({
      ...topology.gatewayConfig,
      workers,
      serverConfig: {
        ...((topology.gatewayConfig.serverConfig as Record<string, unknown> | undefined) ?? {}),
        'http-server.http.port': 0,
      },
      dataStore: {
        ...((topology.gatewayConfig.dataStore as Record<string, unknown> | undefined) ?? {}),
        jdbcUrl,
      },
    })
    // Refused before any process starts, with the key and value named.
    parseGatewayConfig(
      gatewayConfigWith(databaseUrlGiven ?? 'postgres://127.0.0.1:1/unused'),
      'the capacity run gateway configuration',
    )
    // The gateway runs as `npm start` runs it: plain node on the bundle `npm run build` writes,
    // with the start script's flags; built afresh for this run into its own folder under dist/.
    const gatewayNodeFlags = await readStartScriptNodeFlags()
    await mkdir(distRoot, { recursive: true })
    buildDir = await mkdtemp(path.join(distRoot, 'capacity-'))
    trackWorkDir(buildDir, true)
    const gatewayBuild = await buildGateway({ outDir: path.join(buildDir, 'gateway') })
    // The database and the mocks start side by side (tsx compiles each on start-up); the gateway
    // needs the database's URL, so it starts after.
    const track = <T extends { handle: ChildHandle }>(started: T): T => {
      children.push(started.handle)
      return started
    }
    // allSettled: when one fails, the others are still tracked (and stopped) before the error.
    const settled = await Promise.allSettled([
      databaseUrlGiven === undefined ? startDatabaseProcess().then(track) : Promise.resolve(undefined),
      ...topology.clusters.map((cluster) => startMockProcess({ ...cluster, seed }, workDir).then(track)),
    ])
    const failed = settled.find((outcome) => outcome.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    const [database, ...mockUrls] = settled.map((outcome) =>
      outcome.status === 'fulfilled' ? outcome.value : undefined,
    )
    const databaseUrl = databaseUrlGiven ?? (database?.url as string)
    const databaseLabel =
      databaseUrlGiven === undefined
        ? 'embedded PGlite in its own process'
        : `PostgreSQL server at ${redactedUrl(databaseUrlGiven)}`
    const mocks = new Map<string, string>()
    const mockPids = new Map<string, number>()
    topology.clusters.forEach((cluster, index) => {
      const started = mockUrls[index] as { url: string; handle: ChildHandle }
      mocks.set(cluster.name, started.url)
      mockPids.set(cluster.name, started.handle.pid)
    })
    const gatewayConfig = gatewayConfigWith(databaseUrl)
    const directUrl = mocks.get(topology.directTarget) as string
    const directPid = mockPids.get(topology.directTarget) as number
    // The gateway and the minimal proxy (the floor, in front of the direct target) start side by side.
    const [startedGateway, startedFloor] = await Promise.allSettled([
      startGatewayProcess({
        mainFile: gatewayBuild.mainFile,
        nodeFlags: gatewayNodeFlags,
        config: gatewayConfig,
        seed,
        workDir,
        cpuProfileDir: options.cpuProfileDir,
      }).then(track),
      // With the start script's Node flags too: the floor differs from the gateway only in its code.
      startMinimalProxyProcess(directUrl, gatewayNodeFlags).then(track),
    ])
    if (startedGateway.status === 'rejected') throw startedGateway.reason
    if (startedFloor.status === 'rejected') throw startedFloor.reason
    const gateway = { url: startedGateway.value.url, pid: startedGateway.value.handle.pid }
    const floor = { url: startedFloor.value.url, pid: startedFloor.value.handle.pid }
    const admin = new AdminClient(gateway.url, dispatcher)
    for (const cluster of topology.clusters) {
      const url = mocks.get(cluster.name) as string
      await admin.addBackend({
        name: cluster.name,
        proxyTo: url,
        externalUrl: url,
        routingGroup: cluster.routingGroup,
        active: cluster.active,
      })
    }
    await admin.waitHealthy(topology.clusters.filter((c) => c.active).map((c) => c.name))

    const pids = { proxy: gateway.pid, mock: directPid }
    const floorPids = { proxy: floor.pid, mock: directPid }
    const base = { sql: capacitySql, headers: topology.headers }
    const requestsPerQuery = await probeRequestsPerQuery({ ...base, baseUrl: directUrl }).catch(
      (error: Error) => {
        throw new HarnessError('TOPOLOGY_START_FAILED', `probing a query at ${directUrl}: ${error.message}`)
      },
    )
    // A proxy in front must not change the protocol: a query takes as many requests through it.
    for (const [what, baseUrl] of [
      ['the gateway', gateway.url],
      ['the minimal proxy', floor.url],
    ] as const) {
      const through = await probeRequestsPerQuery({ ...base, baseUrl }).catch((error: Error) => {
        throw new HarnessError('TOPOLOGY_START_FAILED', `probing a query through ${what}: ${error.message}`)
      })
      if (through !== requestsPerQuery) {
        throw new HarnessError(
          'TOPOLOGY_START_FAILED',
          `a query takes ${requestsPerQuery} requests directly but ${through} through ${what}`,
        )
      }
    }
    const directLoad: TrinoLoad = { ...base, baseUrl: directUrl, requestsPerQuery }
    const gatewayLoad: TrinoLoad = { ...base, baseUrl: gateway.url, requestsPerQuery }
    const floorLoad: TrinoLoad = { ...base, baseUrl: floor.url, requestsPerQuery }

    const direct: TargetSeries = { closedLoop: [], openLoop: [] }
    const viaGateway: TargetSeries = { closedLoop: [], openLoop: [] }
    const viaFloor: MinimalProxySeries = { closedLoop: [], openLoop: [] }
    const floorOpenLoop = viaFloor.openLoop as StepResult[]
    progress.note(
      `capacity: ${options.mode} run, ${requestsPerQuery} requests per query, about ${plannedLoadSeconds(plan)} s of load (gateway pid ${gateway.pid}, minimal proxy pid ${floor.pid}, load average ${loadAverage1mStart.toFixed(1)})`,
    )
    progress.step('warm-up direct', plan.warmupS)
    await runStep(directLoad, { connections: warmupConnections, durationS: plan.warmupS })
    progress.step('warm-up gateway', plan.warmupS)
    await runStep(gatewayLoad, { connections: warmupConnections, durationS: plan.warmupS })
    progress.step('warm-up minimal proxy', plan.warmupS)
    await runStep(floorLoad, { connections: warmupConnections, durationS: plan.warmupS })

    for (const step of plan.closedLoop) {
      progress.step(`direct closed loop, ${step.connections} connections`, step.durationS)
      const d = await measureStep({ mock: directPid }, () => runStep(directLoad, step))
      direct.closedLoop.push(toStep('closed', step.connections, null, d.measurement, null, d.mockUsage))
      progress.step(`gateway closed loop, ${step.connections} connections`, step.durationS)
      const g = await measureStep(pids, () => runStep(gatewayLoad, step))
      viaGateway.closedLoop.push(
        toStep('closed', step.connections, null, g.measurement, g.usage, g.mockUsage),
      )
      progress.step(`minimal proxy closed loop, ${step.connections} connections`, step.durationS)
      const f = await measureStep(floorPids, () => runStep(floorLoad, step))
      viaFloor.closedLoop.push({
        ...toStep('closed', step.connections, null, f.measurement, null, f.mockUsage),
        minimalProxyProcess: f.usage,
      })
    }
    const saturation = Math.max(0, ...viaGateway.closedLoop.map((step) => step.requestsPerSecond))
    for (const step of planOpenLoop(plan, saturation, requestsPerQuery)) {
      const stepOptions = {
        connections: step.connections,
        durationS: step.durationS,
        offeredRequestsPerSecond: step.offeredRequestsPerSecond,
      }
      progress.step(`direct open loop, ${step.offeredRequestsPerSecond} req/s`, step.durationS)
      const d = await measureStep({ mock: directPid }, () => runStep(directLoad, stepOptions))
      direct.openLoop.push(
        toStep('open', step.connections, step.offeredRequestsPerSecond, d.measurement, null, d.mockUsage),
      )
      progress.step(`gateway open loop, ${step.offeredRequestsPerSecond} req/s`, step.durationS)
      const g = await measureStep(pids, () => runStep(gatewayLoad, stepOptions))
      viaGateway.openLoop.push(
        toStep('open', step.connections, step.offeredRequestsPerSecond, g.measurement, g.usage, g.mockUsage),
      )
      // The floor at the same rate, at half saturation only (where the target is judged, and the
      // quick run keeps its budget): the gateway's added latency over any Node.js proxy, by kind.
      if (step.fraction !== floorOpenLoopFraction) continue
      progress.step(`minimal proxy open loop, ${step.offeredRequestsPerSecond} req/s`, step.durationS)
      const f = await measureStep(floorPids, () => runStep(floorLoad, stepOptions))
      floorOpenLoop.push({
        ...toStep('open', step.connections, step.offeredRequestsPerSecond, f.measurement, null, f.mockUsage),
        minimalProxyProcess: f.usage,
      })
    }
    progress.step(`gateway with ${plan.inFlight.queries} queries in flight`, plan.inFlight.durationS)
    const inFlight = await runInFlight(gateway, directPid, gatewayLoad, [...mocks.values()], plan)
    progress.step('writing the report', 0)

    const summary = summarize(direct, viaGateway, inFlight, viaFloor)
    const targets = checkTargets(summary, plan.inFlight.queries)
    const loadAverage1mEnd = loadavg()[0] ?? 0
    const cpuList = cpus()
    const verdict = verdictText(summary, targets, {
      requestsPerQuery,
      loadAverage1m: Math.max(loadAverage1mStart, loadAverage1mEnd),
      cpus: cpuList.length,
    })
    return {
      schemaVersion: reportSchemaVersion,
      runId: options.runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      mode: options.mode,
      scenario: scenarioName,
      seed,
      codeVersion: codeVersion(),
      machine: {
        cpus: cpuList.length,
        cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        memoryTotalMb: Math.round(totalmem() / 2 ** 20),
        loadAverage1mStart: round(loadAverage1mStart, 2),
        loadAverage1mEnd: round(loadAverage1mEnd, 2),
      },
      topology: {
        clusters: topology.clusters.map((c) => ({ name: c.name, routingGroup: c.routingGroup })),
        directTarget: topology.directTarget,
        database: databaseLabel,
        workers,
        processes: `load generator (autocannon), gateway (node ${[...gatewayNodeFlags, startScriptEntry].join(' ')}, as npm start after npm run build, ${workers === 1 ? 'one process' : `a primary and ${workers} worker processes, node:cluster scheduling ${schedulingPolicyOf(process.env) === 'none' ? 'none (the kernel spreads connections)' : 'round-robin (the primary hands out connections)'}`}), minimal proxy (node ${[...gatewayNodeFlags, '--import', 'tsx', 'harness/capacity/minimal-proxy.ts'].join(' ')}, in front of ${topology.directTarget}), each mock coordinator and the embedded database in separate processes on one machine`,
      },
      protocol: { sql: capacitySql, requestsPerQuery, headers: topology.headers },
      direct,
      gateway: { ...viaGateway, inFlight },
      minimalProxy: viaFloor,
      summary,
      targets,
      verdict,
    }
  } finally {
    // In parallel: each child stops on its own (the gateway flushes its CPU profile on exit).
    await Promise.all(children.map((child) => child.stop().catch(() => undefined)))
    await dispatcher.close()
    await rm(workDir, { recursive: true, force: true })
    trackWorkDir(workDir, false)
    if (buildDir !== undefined) {
      await rm(buildDir, { recursive: true, force: true })
      trackWorkDir(buildDir, false)
    }
  }
}
