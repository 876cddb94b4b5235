/**
 * A scenario's topology as data for the simulator: the gateway's routing setup (parsed with the
 * gateway's own config parser and rules loader), each cluster's scheduler (Trino's resource-group
 * scheduler or the legacy `global` group, from trino/) and load model, and the clients. Reads the
 * scenario's files once, up front; the run itself touches no file.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { stringify } from 'yaml'
import { parseDurationMs } from '../common/duration.ts'
import { parseConfigText, parseGatewayConfig, substituteEnvironment } from '../gateway/config.ts'
import type { RequestAnalyzerConfig } from '../gateway/routing/analyzer/config.ts'
import { queryCountBasedRouterModule } from '../gateway/routing/query-count-router.ts'
import type { RuleEvaluationMode } from '../gateway/routing/rules/engine.ts'
import { loadRules } from '../gateway/routing/rules/loader.ts'
import type { LoadedScenario } from '../harness/scenario/loader.ts'
import type { ClientSpec, ClusterSpec, ResourceGroupsSetup, Scenario } from '../harness/scenario/schema.ts'
import { loadSchedulerFromEtc } from '../mock-trino/resource-groups/index.ts'
import type { Workload } from '../mock-trino/workload/model.ts'
import { LegacyScheduler } from '../trino/legacy-scheduler.ts'
import type { ResourceGroupsConfig } from '../trino/resource-groups/config.ts'
import { type ResourceGroupTables, rowsToConfig } from '../trino/resource-groups/db-rows.ts'
import { createResourceGroupScheduler } from '../trino/resource-groups/scheduler.ts'
import type { QueryScheduler } from '../trino/scheduler.ts'
import { simError } from './errors.ts'
import type { RoutingSetup } from './routing.ts'

/** Bounds of what a simulation may be asked to run. */
export const simulatedQueriesMax = 10_000_000
export const simulatedClustersMax = 1000
export const simulatedRatePerSecondMax = 1_000_000

export interface SimOverrides {
  seed?: number | undefined
  /** Total queries across clients, shared in proportion to the scenario's counts. */
  queries?: number | undefined
  /** Total clusters: the scenario's, then copies of them in turn (`trino-a-2`, ...). */
  clusters?: number | undefined
  /** Every client becomes open loop; the total rate is shared in proportion to their queries. */
  ratePerSecond?: number | undefined
}

export interface SimClusterSpec {
  spec: ClusterSpec
  name: string
  routingGroup: string
  workload: Workload
  environment: string
  /** Builds this cluster's scheduler; called once per run. */
  scheduler: () => Promise<QueryScheduler>
}

export interface SimClientSpec {
  spec: ClientSpec
  queries: number
  /** Open loop when defined. */
  arrivalRatePerSecond: number | undefined
}

export interface SimTopology {
  scenario: Scenario
  seed: number
  routing: RoutingSetup
  /** The gateway's request analyzer and rule evaluation mode, for rules given later (replay --rules). */
  analyzer: RequestAnalyzerConfig
  evaluation: RuleEvaluationMode
  monitorTaskDelayMs: number
  /** Whether the monitor measures query counts (and so feeds the query-count router). */
  monitorMeasuresCounts: boolean
  /** UI_API is the only monitor that fills per-user queued counts. */
  monitorCountsUsers: boolean
  clusters: SimClusterSpec[]
  clients: SimClientSpec[]
}

const statsMonitorTypes = new Set(['UI_API', 'METRICS', 'JMX', 'JDBC'])

export function buildTopology(loaded: LoadedScenario, overrides: SimOverrides = {}): SimTopology {
  const { scenario } = loaded
  refuseUnsupported(scenario)
  const seed = overrides.seed ?? scenario.seed
  const document = gatewayDocument(scenario, loaded.dir)
  const rules = rulesText(scenario, loaded.dir, document)
  // The gateway's own parser: every default (defaultRoutingGroup, tieBreak, monitor) is the live one.
  const config = parseGatewayConfig(
    {
      ...document,
      ...(rules === undefined
        ? {}
        : {
            routingRules: {
              ...(section(document, 'routingRules') ?? {}),
              rulesEngineEnabled: true,
              rulesType: 'FILE',
              rulesConfigPath: rules.source,
            },
          }),
    },
    `scenario ${scenario.name}: gateway`,
  )
  const routing: RoutingSetup = {
    seed,
    defaultRoutingGroup: config.routing.defaultRoutingGroup,
    selection:
      rules === undefined
        ? { kind: 'header' }
        : {
            kind: 'rules',
            rules: loadRules(rules.text, {
              analyzeRequest: config.requestAnalyzerConfig.analyzeRequest,
              source: rules.source,
            }),
            mode: config.routingRules.evaluation,
            analyzer: config.requestAnalyzerConfig,
          },
    picker: config.modules.includes(queryCountBasedRouterModule) ? 'query-count' : 'random',
    tieBreak: config.routing.tieBreak,
  }
  const monitorType = config.clusterStatsConfiguration.monitorType
  return {
    scenario,
    seed,
    routing,
    analyzer: config.requestAnalyzerConfig,
    evaluation: config.routingRules.evaluation,
    monitorTaskDelayMs: config.monitor.taskDelayMs,
    monitorMeasuresCounts: statsMonitorTypes.has(monitorType),
    monitorCountsUsers: monitorType === 'UI_API',
    clusters: clustersOf(scenario, loaded.dir, seed, overrides.clusters),
    clients: clientsOf(scenario, overrides),
  }
}

/** What the simulator cannot model; it says so instead of guessing. */
function refuseUnsupported(scenario: Scenario): void {
  const reasons: string[] = []
  if (scenario.gateway.url !== undefined) reasons.push('gateway.url: a running gateway is not simulated')
  if (scenario.externalRouter !== undefined)
    reasons.push('externalRouter: an external routing service is not simulated')
  const faultKeys = new Set(['down', 'starting', 'downForMs'])
  scenario.clusters.forEach((cluster, index) => {
    for (const [key, value] of Object.entries(cluster.mock?.faults ?? {})) {
      if (value !== undefined && !faultKeys.has(key))
        reasons.push(`clusters[${index}].mock.faults.${key}: only down, starting and downForMs are simulated`)
    }
  })
  scenario.actions.forEach((action, index) => {
    for (const [key, value] of Object.entries(action.faults?.set ?? {})) {
      if (value !== undefined && !faultKeys.has(key))
        reasons.push(`actions[${index}].faults.set.${key}: only down, starting and downForMs are simulated`)
    }
  })
  if (reasons.length > 0) {
    throw simError('SIM_UNSUPPORTED', `${scenario.name}:\n  ${reasons.join('\n  ')}`, { reasons })
  }
}

function section(document: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = document[key]
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
}

function gatewayDocument(scenario: Scenario, dir: string): Record<string, unknown> {
  if (scenario.gateway.configPath === undefined) return structuredClone(scenario.gateway.config ?? {})
  const file = path.resolve(dir, scenario.gateway.configPath)
  const text = readText(file, 'gateway.configPath')
  const document = parseConfigText(substituteEnvironment(text, process.env, file), file)
  return document !== null && typeof document === 'object' ? (document as Record<string, unknown>) : {}
}

/** The rules text as the harness writes it for a live run (inline rules), or the named file. */
function rulesText(
  scenario: Scenario,
  dir: string,
  document: Record<string, unknown>,
): { text: string; source: string } | undefined {
  if (scenario.gateway.rules !== undefined) {
    return {
      text: scenario.gateway.rules.map((rule) => stringify(rule)).join('---\n'),
      source: `scenario ${scenario.name}: gateway.rules`,
    }
  }
  if (scenario.gateway.rulesPath !== undefined) {
    const file = path.resolve(dir, scenario.gateway.rulesPath)
    return { text: readText(file, 'gateway.rulesPath'), source: file }
  }
  const routingRules = section(document, 'routingRules')
  if (routingRules?.rulesEngineEnabled === true || routingRules?.rulesEngineEnabled === 'true') {
    if (routingRules.rulesType === 'EXTERNAL')
      throw simError('SIM_UNSUPPORTED', `${scenario.name}: routingRules.rulesType EXTERNAL is not simulated`)
    if (typeof routingRules.rulesConfigPath === 'string') {
      const file = path.resolve(dir, routingRules.rulesConfigPath)
      return { text: readText(file, 'routingRules.rulesConfigPath'), source: file }
    }
  }
  return undefined
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw simError('SIM_SCENARIO_FILE_UNREADABLE', `${what} ${file}: ${(error as Error).message}`)
  }
}

function clustersOf(
  scenario: Scenario,
  dir: string,
  seed: number,
  total: number | undefined,
): SimClusterSpec[] {
  const declared = scenario.clusters
  const count = total ?? declared.length
  if (!Number.isInteger(count) || count < 1 || count > simulatedClustersMax) {
    throw simError(
      'SIM_USAGE',
      `--clusters must be a whole number from 1 to ${simulatedClustersMax}, got ${count}`,
    )
  }
  const names = new Set(declared.map((cluster) => cluster.name))
  const specs: ClusterSpec[] = [...declared.slice(0, count)]
  for (let index = declared.length; index < count; index++) {
    const template = declared[index % declared.length] as ClusterSpec
    let copy = Math.floor(index / declared.length) + 1
    let name = `${template.name}-${copy}`
    while (names.has(name)) name = `${template.name}-${++copy}`
    names.add(name)
    specs.push({ ...template, name })
  }
  return specs.map((spec) => {
    const environment = spec.coordinator?.environment ?? 'test'
    const clusterMemoryBytes = spec.mock?.clusterMemory
    return {
      spec,
      name: spec.name,
      routingGroup: spec.routingGroup,
      workload: spec.mock?.workload ?? defaultWorkloadOf(),
      environment,
      scheduler: async (): Promise<QueryScheduler> => {
        if (spec.resourceGroupSource === 'db') {
          if (scenario.resourceGroups === undefined) {
            throw simError(
              'SIM_UNSUPPORTED',
              `cluster ${spec.name}: resourceGroupSource db without resourceGroups in the scenario reads rows the simulation has not`,
            )
          }
          return createResourceGroupScheduler(resourceGroupsConfigOf(scenario.resourceGroups, environment), {
            seed,
            clusterMemoryBytes,
          })
        }
        if (spec.etcDir !== undefined) {
          const etcDir = path.resolve(dir, spec.etcDir)
          const properties = readText(path.join(etcDir, 'resource-groups.properties'), 'etcDir')
          if (/resource-groups\.configuration-manager\s*=\s*db/.test(properties)) {
            throw simError(
              'SIM_UNSUPPORTED',
              `cluster ${spec.name}: an etc/ db configuration manager is not simulated`,
            )
          }
          return loadSchedulerFromEtc(etcDir, environment, undefined, { seed, clusterMemoryBytes })
        }
        return new LegacyScheduler({
          ...(spec.coordinator?.maxConcurrentQueries === undefined
            ? {}
            : { maxConcurrentQueries: spec.coordinator.maxConcurrentQueries }),
          ...(spec.coordinator?.maxQueuedQueries === undefined
            ? {}
            : { maxQueuedQueries: spec.coordinator.maxQueuedQueries }),
        })
      },
    }
  })
}

let defaultWorkloadCache: Workload | undefined
function defaultWorkloadOf(): Workload {
  // The mock's default load model, as mockConfigSchema fills it in.
  defaultWorkloadCache ??= {
    durationMs: { kind: 'fixed', value: 0 },
    durationMsMax: 3_600_000,
    rows: { kind: 'fixed', value: 1 },
    pageRows: 1000,
    failures: [],
    cpuTimeMsPerSecond: { kind: 'fixed', value: 1000 },
    peakMemoryBytes: { kind: 'fixed', value: 0 },
  }
  return defaultWorkloadCache
}

/**
 * The scenario's resource groups as the rows the gateway's API would write, read back the way the
 * mock's db configuration manager reads them (`rowsToConfig`): one path for live and simulated runs.
 */
export function resourceGroupsConfigOf(
  setup: ResourceGroupsSetup,
  environment: string,
): ResourceGroupsConfig {
  const ids = new Map<string, number>()
  const tables: ResourceGroupTables = { resourceGroups: [], selectors: [], globalProperties: [] }
  const groups = tables.resourceGroups as Array<ResourceGroupTables['resourceGroups'][number]>
  setup.groups.forEach((group, index) => {
    const id = index + 1
    ids.set(group.parent === undefined ? group.name : `${group.parent}.${group.name}`, id)
    groups.push({
      resource_group_id: id,
      name: group.name,
      soft_memory_limit: group.softMemoryLimit ?? '100%',
      max_queued: group.maxQueued,
      soft_concurrency_limit: group.softConcurrencyLimit ?? null,
      hard_concurrency_limit: group.hardConcurrencyLimit,
      scheduling_policy: group.schedulingPolicy ?? null,
      scheduling_weight: group.schedulingWeight ?? null,
      jmx_export: group.jmxExport ?? null,
      soft_cpu_limit: group.softCpuLimit ?? null,
      hard_cpu_limit: group.hardCpuLimit ?? null,
      parent: group.parent === undefined ? null : (ids.get(group.parent) ?? null),
      environment: setup.environment,
    })
  })
  const selectors = tables.selectors as Array<ResourceGroupTables['selectors'][number]>
  setup.selectors.forEach((selector, index) => {
    selectors.push({
      id: index + 1,
      resource_group_id: ids.get(selector.group) ?? -1,
      priority: selector.priority,
      user_regex: selector.userRegex ?? null,
      source_regex: selector.sourceRegex ?? null,
      query_type: selector.queryType ?? null,
      client_tags: selector.clientTags === undefined ? null : JSON.stringify(selector.clientTags),
      selector_resource_estimate:
        selector.selectorResourceEstimate === undefined
          ? null
          : JSON.stringify(selector.selectorResourceEstimate),
    })
  })
  const globals = tables.globalProperties as Array<ResourceGroupTables['globalProperties'][number]>
  for (const [name, value] of Object.entries(setup.globalProperties ?? {})) {
    if (value !== undefined) globals.push({ name, value })
  }
  return rowsToConfig(tables, environment)
}

function clientsOf(scenario: Scenario, overrides: SimOverrides): SimClientSpec[] {
  const declared = scenario.clients.reduce((sum, client) => sum + client.queries, 0)
  const total = overrides.queries ?? declared
  if (!Number.isInteger(total) || total < 1 || total > simulatedQueriesMax) {
    throw simError(
      'SIM_USAGE',
      `--queries must be a whole number from 1 to ${simulatedQueriesMax}, got ${total}`,
    )
  }
  const rate = overrides.ratePerSecond
  if (rate !== undefined && (!(rate > 0) || rate > simulatedRatePerSecondMax)) {
    throw simError(
      'SIM_USAGE',
      `--rate must be above 0 and at most ${simulatedRatePerSecondMax}, got ${rate}`,
    )
  }
  // Largest-remainder shares: the counts add up to the total exactly, the same way every run.
  const exact = scenario.clients.map((client) => (client.queries * total) / declared)
  const counts = exact.map(Math.floor)
  let left = total - counts.reduce((sum, count) => sum + count, 0)
  const order = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index)
  for (const { index } of order) {
    if (left <= 0) break
    counts[index] = (counts[index] ?? 0) + 1
    left--
  }
  return scenario.clients.map((spec, index) => {
    const queries = counts[index] ?? 0
    return {
      spec,
      queries,
      arrivalRatePerSecond: rate === undefined ? spec.arrivalRatePerSecond : (rate * queries) / total,
    }
  })
}

/** A client's think time and query timeout in ms. */
export function clientTimesMs(spec: ClientSpec): { thinkTimeMs: number; queryTimeoutMs: number } {
  return {
    thinkTimeMs: spec.thinkTime === undefined ? 0 : parseDurationMs(spec.thinkTime),
    queryTimeoutMs: parseDurationMs(spec.queryTimeout),
  }
}
