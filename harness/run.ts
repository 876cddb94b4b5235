import { setMaxListeners } from 'node:events'
import path from 'node:path'
import { parseDurationMs } from '../common/duration.ts'
import { sleepMs } from '../common/wait.ts'
import type { RoutingDecisionRecord } from '../gateway/index.ts'
import { HarnessError } from './errors.ts'
import { type ClusterQuery, checkExpectations, type ObservedQuery } from './expect/expectations.ts'
import { type DigestedDecision, routingDecisionDigest } from './report/digest.ts'
import { codeVersion, type Report, toReportQuery, writeReportFiles } from './report/report.ts'
import type { LoadedScenario } from './scenario/loader.ts'
import { type ActionSpec, actionKinds } from './scenario/schema.ts'
import { updateResourceGroup } from './topology/resource-groups.ts'
import { startTopology, type Topology } from './topology/topology.ts'
import { type ClientQuery, driveClient } from './workload/driver.ts'

/**
 * One scenario run: topology up, clients and timed actions, records gathered, expectations checked,
 * reports written, topology down (also when anything fails or the run is interrupted).
 * Throws a HarnessError (exit status 2) when the run could not be judged; otherwise the report says
 * whether the expectations hold.
 */

/** A run never lasts longer than this, whatever the scenario's timeouts add up to. */
export const runDurationMsMax = 10 * 60_000
/** How long an action may wait for its `after` condition. */
export const actionWaitMsMax = 60_000

export interface RunOptions {
  seed?: number | undefined
  reportDir?: string | undefined
  gatewayUrl?: string | undefined
  /** Replaces the scenario's database: a `postgres://` or `jdbc:postgresql://` URL. */
  databaseUrl?: string | undefined
  /** Name of the scenario as the user gave it, for the rerun command. */
  invokedAs?: string | undefined
  logLevel?: string | undefined
  signal?: AbortSignal | undefined
  onProgress?: ((progress: Progress) => void) | undefined
  /** Clock of the run id; injected by tests. */
  now?: () => Date
}

export interface Progress {
  done: number
  total: number
  perCluster: Record<string, number>
  failed: number
}

export interface RunResult {
  report: Report
  reportDir: string
  rerunCommand: string
  durationMs: number
}

export const reportsRoot = path.resolve(import.meta.dirname, '../reports')

export function runIdFor(now: Date, seed: number): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-seed${seed}`
}

export function rerunCommandFor(invokedAs: string, seed: number, gatewayUrl: string | undefined): string {
  const target = /[\s'"$]/.test(invokedAs) ? JSON.stringify(invokedAs) : invokedAs
  return `npm run scenario -- ${target} --seed ${seed}${gatewayUrl === undefined ? '' : ` --gateway-url ${gatewayUrl}`}`
}

export async function runScenario(loaded: LoadedScenario, options: RunOptions = {}): Promise<RunResult> {
  const { scenario } = loaded
  const seed = options.seed ?? scenario.seed
  const startedAt = options.now?.() ?? new Date()
  const runId = runIdFor(startedAt, seed)
  const reportDir = path.resolve(options.reportDir ?? path.join(reportsRoot, scenario.name, runId))
  const invokedAs = options.invokedAs ?? path.relative(process.cwd(), loaded.file)
  const rerunCommand = rerunCommandFor(invokedAs, seed, options.gatewayUrl)
  const startedMs = Date.now()

  if (options.gatewayUrl !== undefined) refuseBlackBox(loaded)
  const topology = await startTopology({
    scenario,
    scenarioDir: loaded.dir,
    seed,
    gatewayUrl: options.gatewayUrl,
    databaseUrl: options.databaseUrl,
    logLevel: options.logLevel,
  })
  const abort = new AbortController()
  // Every in-flight request listens to the run's signal.
  setMaxListeners(0, abort.signal)
  const onAbort = () => abort.abort()
  options.signal?.addEventListener('abort', onAbort)
  // Interrupted while the topology was starting: the event has fired already.
  if (options.signal?.aborted) onAbort()
  let timedOut = false
  const runTimer = setTimeout(() => {
    timedOut = true
    abort.abort()
  }, runDurationMsMax)
  try {
    const roundsEndedAtMs: number[] = []
    const queries = await runWorkload(loaded, topology, seed, abort, options.onProgress, roundsEndedAtMs)
    if (options.signal?.aborted) throw new HarnessError('INTERRUPTED', 'the topology was torn down')
    if (timedOut) throw new HarnessError('RUN_TIMEOUT', `${runDurationMsMax} ms (runDurationMsMax)`)
    const clusterQueries = gatherClusterQueries(topology)
    const observed = joinObservations(queries, clusterQueries, topology)
    const expectations = checkExpectations(scenario.expectations, { queries: observed, clusterQueries })
    const durationMs = Date.now() - startedMs
    const report: Report = {
      scenario: scenario.name,
      seed,
      codeVersion: codeVersion(),
      passed: expectations.every((expectation) => expectation.passed),
      expectations: expectations.map(({ name, passed, expected, actual }) => ({
        name,
        passed,
        expected,
        actual,
      })),
      queries: observed.map(toReportQuery),
      routingDecisionDigest: routingDecisionDigest(digestedDecisions(topology, observed)),
      ...monitorRoundsOf(roundsEndedAtMs, clusterQueries),
    }
    await writeReportFiles(
      reportDir,
      report,
      {
        runId,
        scenarioFile: path.relative(process.cwd(), loaded.file),
        description: scenario.description,
        rerunCommand,
        durationMs,
        decisionSource: topology.decisionsAvailable ? 'gateway' : 'observed',
      },
      traceLines(topology, observed),
    )
    return { report, reportDir, rerunCommand, durationMs }
  } finally {
    clearTimeout(runTimer)
    options.signal?.removeEventListener('abort', onAbort)
    await topology.close()
  }
}

/** The report's `monitorRounds`, when the harness drove any. */
function monitorRoundsOf(
  roundsEndedAtMs: readonly number[],
  clusterQueries: readonly ClusterQuery[],
): Pick<Report, 'monitorRounds'> {
  const lastMs = roundsEndedAtMs.at(-1)
  if (lastMs === undefined) return {}
  const endedBefore = clusterQueries.filter(
    (record) => record.finishedAtMs !== undefined && record.finishedAtMs <= lastMs,
  ).length
  return { monitorRounds: { driven: roundsEndedAtMs.length, queriesEndedBeforeLast: endedBefore } }
}

/** A gateway given by URL is one instance the harness cannot restart. */
function refuseBlackBox(loaded: LoadedScenario): void {
  const { scenario } = loaded
  const reasons = [
    ...(scenario.gateway.instances > 1 ? [`gateway.instances is ${scenario.gateway.instances}`] : []),
    ...scenario.actions.flatMap((action, index) =>
      action.restartGateway === undefined ? [] : [`actions[${index}] restarts a gateway`],
    ),
    ...scenario.clients.flatMap((client) =>
      client.waves === undefined ? [] : [`client ${client.name} has the gateway run monitor rounds (waves)`],
    ),
  ]
  if (reasons.length > 0) {
    throw new HarnessError(
      'USAGE',
      `--gateway-url gives one gateway the harness did not start, but ${scenario.name} needs gateways of its own: ${reasons.join('; ')}`,
    )
  }
}

async function runWorkload(
  loaded: LoadedScenario,
  topology: Topology,
  seed: number,
  abort: AbortController,
  onProgress: RunOptions['onProgress'],
  roundsEndedAtMs: number[],
): Promise<ClientQuery[]> {
  const signal = abort.signal
  const abortRun = () => abort.abort()
  const { scenario } = loaded
  const total = scenario.clients.reduce((sum, client) => sum + client.queries, 0)
  const progress: Progress = { done: 0, total, perCluster: {}, failed: 0 }
  const runningByClient = new Map<string, number>()
  const t0 = Date.now()

  // Actions run one after another in file order, each once its time has come and its condition
  // holds (a timeline); clients waiting on a named action start when it is done.
  const actionDone = new Map<string, Promise<void>>()
  const actionFailures: HarnessError[] = []
  const actionSettled = new Map<number, () => void>()
  for (const [index, action] of scenario.actions.entries()) {
    const done = new Promise<void>((resolve) => actionSettled.set(index, resolve))
    if (action.name !== undefined) actionDone.set(action.name, done)
  }
  const timeline = (async () => {
    for (const [index, action] of scenario.actions.entries()) {
      try {
        if (actionFailures.length > 0 || signal.aborted) continue
        await sleepUntil(t0 + parseDurationMs(action.at), signal)
        if (action.after !== undefined) {
          const { client, queriesStarted } = action.after
          const deadline = Date.now() + actionWaitMsMax
          while ((runningByClient.get(client) ?? 0) < queriesStarted && !signal.aborted) {
            if (Date.now() > deadline) {
              throw new HarnessError(
                'ACTION_FAILED',
                `actions[${index}]: ${client} had ${runningByClient.get(client) ?? 0} of ${queriesStarted} queries past QUEUED after ${actionWaitMsMax} ms`,
              )
            }
            await sleepMs(10)
          }
        }
        if (!signal.aborted) await performAction(action, index, topology)
      } catch (error) {
        actionFailures.push(
          error instanceof HarnessError
            ? error
            : new HarnessError('ACTION_FAILED', `actions[${index}]: ${(error as Error).message}`),
        )
        // Clients waiting on later actions would wait forever: stop the run.
        abortRun()
      } finally {
        actionSettled.get(index)?.()
      }
    }
  })()

  const clientTasks = scenario.clients.map(async (spec) => {
    if (spec.start.after !== undefined) await actionDone.get(spec.start.after)
    else if (spec.start.at !== undefined) await sleepUntil(t0 + parseDurationMs(spec.start.at), signal)
    return driveClient({
      spec,
      scenario: scenario.name,
      seed,
      gatewayUrls: topology.gatewayUrls,
      dispatcher: topology.dispatcher,
      signal,
      onQueryRunning: () => runningByClient.set(spec.name, (runningByClient.get(spec.name) ?? 0) + 1),
      monitorRound: async () => {
        await topology.monitorRound()
        roundsEndedAtMs.push(Date.now())
      },
      onQueryDone: (query) => {
        progress.done++
        if (query.outcome.state !== 'FINISHED') progress.failed++
        // What each cluster has finished so far, by its own count: works for a black-box gateway too.
        for (const [name, handle] of topology.clusters) {
          const counts = handle.mock.control.counts()
          const ended = counts.finished + counts.failed + counts.canceled
          if (ended > 0) progress.perCluster[name] = ended
        }
        onProgress?.({ ...progress, perCluster: { ...progress.perCluster } })
      },
    })
  })
  const perClient = await Promise.all(clientTasks)
  await timeline
  const failure = actionFailures[0]
  if (failure !== undefined) throw failure
  return perClient.flat()
}

async function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  const waitMs = atMs - Date.now()
  if (waitMs <= 0 || signal.aborted) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, waitMs)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

async function performAction(action: ActionSpec, index: number, topology: Topology): Promise<void> {
  const kind = actionKinds.find((candidate) => action[candidate] !== undefined)
  const label = `actions[${index}] (${kind})`
  try {
    if (action.deactivate !== undefined) await topology.admin.setActive(action.deactivate, false)
    if (action.activate !== undefined) {
      await topology.admin.setActive(action.activate, true)
      await topology.waitHealthy([action.activate])
    }
    if (action.addBackend !== undefined) {
      await topology.registerCluster(action.addBackend)
      if (topology.clusters.get(action.addBackend)?.spec.active)
        await topology.waitHealthy([action.addBackend])
    }
    if (action.removeBackend !== undefined) await topology.admin.removeBackend(action.removeBackend)
    if (action.faults !== undefined) {
      const cluster = topology.clusters.get(action.faults.cluster)
      cluster?.mock.control.setFaults(action.faults.set)
      await cluster?.mock.control.whenListenerSettled()
    }
    if (action.restartGateway !== undefined) await topology.restartGateway(action.restartGateway)
    if (action.updateResourceGroup !== undefined) {
      const { environment, group, set } = action.updateResourceGroup
      await updateResourceGroup(topology.admin, environment, group, set)
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new HarnessError('ACTION_FAILED', `${label}: ${message}`)
  }
}

function gatherClusterQueries(topology: Topology): ClusterQuery[] {
  const records: ClusterQuery[] = []
  for (const [name, handle] of topology.clusters) {
    for (const record of handle.mock.control.queries()) {
      records.push({
        cluster: name,
        queryId: record.queryId,
        traceToken: record.traceToken,
        resourceGroup: record.resourceGroupId?.join('.'),
        state: record.state,
        errorName: record.errorName,
        createdAtMs: record.createdAtMs,
        startedAtMs: record.startedAtMs,
        finishedAtMs: record.finishedAtMs,
        queuedMs: record.queuedMs,
        headers: record.headers,
      })
    }
  }
  return records
}

/** The last routed decision of each trace token (a retried POST is decided again). */
function routedByToken(decisions: readonly RoutingDecisionRecord[]): Map<string, RoutingDecisionRecord> {
  const byToken = new Map<string, RoutingDecisionRecord>()
  for (const decision of decisions) {
    if (decision.kind === 'routed' && decision.traceToken !== null) byToken.set(decision.traceToken, decision)
  }
  return byToken
}

function joinObservations(
  queries: readonly ClientQuery[],
  clusterQueries: readonly ClusterQuery[],
  topology: Topology,
): ObservedQuery[] {
  const byQueryId = new Map(clusterQueries.map((record) => [record.queryId, record]))
  const decisions = routedByToken(topology.decisions)
  return queries.map((query): ObservedQuery => {
    const record = query.outcome.queryId === undefined ? undefined : byQueryId.get(query.outcome.queryId)
    const cluster = record?.cluster
    const decision = decisions.get(query.traceToken)
    // Without the gateway's records (a black box), the group is the one the serving cluster is registered in.
    const routingGroup =
      decision?.selectedGroup ??
      (cluster === undefined ? undefined : topology.clusters.get(cluster)?.spec.routingGroup)
    return {
      client: query.client,
      seq: query.seq,
      traceToken: query.traceToken,
      queryId: query.outcome.queryId,
      cluster,
      routingGroup: routingGroup ?? undefined,
      resourceGroup: record?.resourceGroup,
      state: query.outcome.state,
      errorName: query.outcome.errorName,
      queuedMs: query.outcome.queuedMs,
      runMs: query.outcome.runMs,
      totalMs: query.outcome.totalMs,
      clusterQueuedMs: record?.queuedMs,
      httpErrors: query.outcome.httpErrors,
      backendHeaders: record?.headers,
    }
  })
}

function digestedDecisions(topology: Topology, observed: readonly ObservedQuery[]): DigestedDecision[] {
  if (topology.decisionsAvailable) {
    return topology.decisions
      .filter((decision) => decision.kind === 'routed' && decision.traceToken !== null)
      .map((decision) => ({
        traceToken: decision.traceToken as string,
        requestedGroup: decision.requestedGroup,
        selectedGroup: decision.selectedGroup,
        fallback: decision.fallback,
        backend: decision.backend,
        candidates: decision.candidates,
        errorCode: decision.errorCode,
      }))
  }
  // A black-box gateway shows its decisions only through where each query ran.
  return observed.map((query) => ({
    traceToken: query.traceToken,
    requestedGroup: null,
    selectedGroup: query.routingGroup ?? null,
    fallback: false,
    backend: query.cluster ?? null,
    candidates: [],
    errorCode: query.errorName ?? null,
  }))
}

function traceLines(topology: Topology, observed: readonly ObservedQuery[]): unknown[] {
  if (topology.decisionsAvailable) return topology.decisions
  return observed.map((query) => ({
    observed: true,
    traceToken: query.traceToken,
    queryId: query.queryId ?? null,
    backend: query.cluster ?? null,
    selectedGroup: query.routingGroup ?? null,
  }))
}
