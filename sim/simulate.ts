/**
 * The discrete-event simulator: a scenario's clients, gateway routing and clusters in virtual time.
 * One event queue, no sockets, no timers, no wall clock: the loop pops the next event, jumps the
 * clock to it and applies it. Routing is the gateway's pure core (`./routing.ts`), admission is
 * Trino's scheduler from trino/, durations and failures are the mock's load model drawn with the
 * same (seed, trace token) keys, so a seed reproduces a run exactly and the order-independent
 * decisions equal a live run's.
 *
 * What is modelled: statement submissions (a POST routed once, retried on 502/503 as the harness
 * client does), admission, queueing, running for the drawn duration, failures, the client's query
 * timeout, the health monitor's rounds (health and, for stats monitors, the query-count router's
 * counts), and the actions deactivate, activate, addBackend, removeBackend, faults (down,
 * starting, downForMs), restartGateway (the router's counts are lost) and updateResourceGroup.
 * What is not: follow-up polls (sticky routing is not a decision), network latency, CPU usage
 * during a run (a query's CPU time is reported at its end, so CPU limits act late).
 */
import { parseDurationMs } from '../common/duration.ts'
import type { TrinoStatus } from '../gateway/clusters/trino-status.ts'
import type { BackendPicker } from '../gateway/routing/backend-picker.ts'
import type { RoutingDecisionRecord } from '../gateway/routing/decision.ts'
import { emptyLocalStats, QueryCountBasedRouter } from '../gateway/routing/query-count-router.ts'
import type { RoutingRequest } from '../gateway/routing/selector.ts'
import type { BackendRecord } from '../gateway/store/types.ts'
import type { ClusterQuery, ObservedQuery } from '../harness/expect/expectations.ts'
import type { ActionSpec } from '../harness/scenario/schema.ts'
import { arrivalOffsetsMs, headersFor, sqlFor, traceTokenFor } from '../harness/workload/driver.ts'
import {
  clientErrorNames,
  type HttpErrorRecord,
  retryAttemptsMax,
  retryDelayMsMax,
  retryDelayMsStep,
} from '../harness/workload/trino-client.ts'
import { queryTypeOf } from '../mock-trino/sql.ts'
import { type Directive, parseDirective } from '../mock-trino/workload/directive.ts'
import { planQuery, type QueryPlan } from '../mock-trino/workload/model.ts'
import { parseClientTagsHeader } from '../trino/resource-groups/selectors.ts'
import type { QueryScheduler } from '../trino/scheduler.ts'
import { DecisionLog } from './decision-log.ts'
import { simError } from './errors.ts'
import { EventQueue } from './events.ts'
import { decide, pickerFor } from './routing.ts'
import { clientTimesMs, resourceGroupsConfigOf, type SimClientSpec, type SimTopology } from './topology.ts'

/** Virtual time one run may cover (30 days); a model that runs longer is a runaway. */
export const virtualTimeMsMax = 30 * 24 * 3_600_000
/** Decision records kept for trace.jsonl; a larger run keeps its digest but writes no trace. */
export const traceDecisionsMax = 200_000

export interface SimOptions {
  /** Keep the routed decisions (trace.jsonl) with each request's headers; default true. */
  keepDecisions?: boolean | undefined
  /** Called now and then with the number of queries that ended. */
  onProgress?: ((done: number, total: number) => void) | undefined
}

export type SimQueryState = 'PENDING' | 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED'

/** One query, from its first POST to its end. Times are virtual ms from the start of the run. */
export interface SimQuery {
  /** Position in the run's query list. */
  index: number
  client: SimClient
  seq: number
  traceToken: string
  sql: string
  attempts: number
  submittedAtMs: number
  cluster: SimCluster | undefined
  queryId: string | undefined
  routingGroup: string | undefined
  resourceGroup: string | undefined
  state: SimQueryState
  errorName: string | undefined
  createdAtMs: number | undefined
  startedAtMs: number | undefined
  finishedAtMs: number | undefined
  plan: QueryPlan | undefined
  httpErrors: HttpErrorRecord[]
  timeoutArmed: boolean
}

export interface SimCluster {
  index: number
  name: string
  routingGroup: string
  record: BackendRecord
  registered: boolean
  status: TrinoStatus
  down: boolean
  starting: boolean
  /** When a `downForMs` fault ends. */
  downUntilMs: number | undefined
  scheduler: QueryScheduler
  plan: (traceToken: string, sql: string) => QueryPlan
  /** Queries the scheduler holds, by id. */
  active: Map<string, SimQuery>
  queriesCreated: number
  /** Queued queries per user, for the UI_API monitor. */
  queuedByUser: Map<string, number>
  groupClock: Map<string, GroupClock>
  runningPeak: number
  queuedPeak: number
  running: number
  queued: number
}

/** How one resource group on one cluster spent its time; starvation: queued > 0 and running 0. */
export interface GroupClock {
  queued: number
  running: number
  queuedPeak: number
  changedAtMs: number
  starvedMs: number
  /** The longest single stretch of starvation. */
  starvedStretchMsMax: number
  starvedSinceMs: number | undefined
}

export interface SimClient {
  spec: SimClientSpec
  index: number
  /** The POST's headers, names lower-cased, but for the trace token (see `headersOf`). */
  headerTemplate: Record<string, string>
  /**
   * The headers the router reads, the template and the POST's trace token: one object per client,
   * rewritten for each POST, since a decision reads them only while it is made (a kept record
   * copies them) and a copy per POST was a second of a million-query run.
   */
  routedHeaders: Record<string, string>
  clientTags: string[]
  /** `<scenario>/<client>/`, the trace tokens' common start. */
  traceTokenPrefix: string
  nextSeq: number
  ended: number
  queriesPastQueued: number
  thinkTimeMs: number
  queryTimeoutMs: number
}

type Event =
  | { kind: 'clientStart'; client: SimClient }
  | { kind: 'submit'; query: SimQuery }
  | { kind: 'end'; query: SimQuery }
  | { kind: 'timeout'; query: SimQuery }
  | { kind: 'next'; client: SimClient }
  | { kind: 'arrival'; arrivals: Arrivals }
  | { kind: 'monitor' }
  | { kind: 'actionDue'; index: number }
  | { kind: 'faultEnds'; cluster: SimCluster }

/**
 * An open-loop client's arrivals, fed to the event queue one at a time in the places reserved for
 * them when the client started: the queue holds one arrival per client instead of all of them.
 */
interface Arrivals {
  client: SimClient
  startMs: number
  offsetsMs: number[]
  firstSeq: number
  next: number
}

export interface SimResult {
  topology: SimTopology
  queries: SimQuery[]
  clusters: SimCluster[]
  /** Every routed decision in decision order (retries included), as the digest reads them. */
  decisions: DecisionLog
  /** The last routed decision of every query, by query index; empty when not kept. */
  lastDecisions: Array<RoutingDecisionRecord | undefined>
  /** Every routed decision in decision order (retries included); empty when not kept. */
  trace: RoutingDecisionRecord[]
  traceComplete: boolean
  /** Virtual time of the last event. */
  endMs: number
  eventsProcessed: number
}

export async function simulate(topology: SimTopology, options: SimOptions = {}): Promise<SimResult> {
  const { scenario, routing } = topology
  const keepDecisions = options.keepDecisions ?? true
  const events = new EventQueue<Event>()
  let nowMs = 0
  let picker: BackendPicker = pickerFor(routing)
  const totalQueries = topology.clients.reduce((sum, client) => sum + client.queries, 0)

  // What the mock reads from a statement, once per distinct SQL text: every SQL comes from the
  // clients' declared statements, so the map holds no more than the scenario declares.
  const sqlFacts = new Map<string, { queryType: string | undefined; directive: Directive | undefined }>()
  const sqlFactsOf = (sql: string) => {
    let facts = sqlFacts.get(sql)
    if (facts === undefined) {
      const directive = parseDirective(sql)
      facts = { queryType: queryTypeOf(sql), directive: directive.ok ? directive.directive : undefined }
      sqlFacts.set(sql, facts)
    }
    return facts
  }

  const clusters: SimCluster[] = []
  for (const [index, cluster] of topology.clusters.entries()) {
    const faults = cluster.spec.mock?.faults ?? {}
    const down = faults.down === true || faults.downForMs !== undefined
    const workload = cluster.workload
    clusters.push({
      index,
      name: cluster.name,
      routingGroup: cluster.routingGroup,
      record: {
        name: cluster.name,
        routingGroup: cluster.routingGroup,
        proxyTo: `sim://${cluster.name}`,
        externalUrl: null,
        active: cluster.spec.active,
      },
      registered: cluster.spec.register,
      status: 'UNKNOWN',
      down,
      starting: faults.starting === true,
      downUntilMs: faults.downForMs,
      scheduler: await cluster.scheduler(),
      plan: (traceToken, sql) => {
        return planQuery(workload, topology.seed, traceToken, sqlFactsOf(sql).directive)
      },
      active: new Map(),
      queriesCreated: 0,
      queuedByUser: new Map(),
      groupClock: new Map(),
      runningPeak: 0,
      queuedPeak: 0,
      running: 0,
      queued: 0,
    })
  }
  const clusterByName = new Map(clusters.map((cluster) => [cluster.name, cluster]))
  const probe = (cluster: SimCluster): void => {
    cluster.status = cluster.down ? 'UNHEALTHY' : cluster.starting ? 'PENDING' : 'HEALTHY'
  }
  for (const cluster of clusters) {
    if (cluster.registered) probe(cluster)
    if (cluster.downUntilMs !== undefined) events.push(cluster.downUntilMs, { kind: 'faultEnds', cluster })
  }
  let backends = clusters.filter((cluster) => cluster.registered).map((cluster) => cluster.record)
  const refreshBackends = () => {
    backends = clusters.filter((cluster) => cluster.registered).map((cluster) => cluster.record)
  }
  const statusOf = (name: string) => clusterByName.get(name)?.status

  const clients: SimClient[] = topology.clients.map((spec, index) => {
    const template: Record<string, string> = {}
    for (const [name, value] of Object.entries(headersFor(spec.spec, '')))
      template[name.toLowerCase()] = value
    // What undici and the harness client add to every POST, so rules that read them see them.
    template['content-type'] ??= 'text/plain; charset=utf-8'
    delete template['x-trino-trace-token']
    return {
      spec,
      index,
      headerTemplate: template,
      routedHeaders: { ...template, 'x-trino-trace-token': '' },
      traceTokenPrefix: traceTokenFor(scenario.name, spec.spec.name, 0).slice(0, -1),
      clientTags: parseClientTagsHeader(template['x-trino-client-tags']),
      // 1-based, as the harness driver numbers a client's queries.
      nextSeq: 1,
      ended: 0,
      queriesPastQueued: 0,
      ...clientTimesMs(spec.spec),
    }
  })

  const queries: SimQuery[] = []
  // A million queries share a few lists and names: one copy each keeps the heap small.
  const candidateLists = new NameLists()
  const sharedCandidates = (names: string[]): readonly string[] => candidateLists.find(names).list
  const groupNames = new NameLists()
  const groupName = (id: readonly string[]): string => groupNames.find(id).joined
  const lastDecision: Array<RoutingDecisionRecord | undefined> = []
  const trace: RoutingDecisionRecord[] = []
  const decisions = new DecisionLog()
  let traceComplete = keepDecisions
  let ended = 0
  const progressStep = Math.max(1, Math.floor(totalQueries / 200))

  // --- group clocks -----------------------------------------------------------------------------

  const clockOf = (cluster: SimCluster, group: string): GroupClock => {
    let clock = cluster.groupClock.get(group)
    if (clock === undefined) {
      clock = {
        queued: 0,
        running: 0,
        queuedPeak: 0,
        changedAtMs: nowMs,
        starvedMs: 0,
        starvedStretchMsMax: 0,
        starvedSinceMs: undefined,
      }
      cluster.groupClock.set(group, clock)
    }
    return clock
  }
  const changeGroup = (cluster: SimCluster, group: string | undefined, queued: number, running: number) => {
    if (group === undefined) return
    const clock = clockOf(cluster, group)
    clock.queued += queued
    clock.running += running
    if (clock.queued < 0 || clock.running < 0) throw new Error(`group ${group} counts went negative`)
    clock.queuedPeak = Math.max(clock.queuedPeak, clock.queued)
    const starved = clock.queued > 0 && clock.running === 0
    if (starved && clock.starvedSinceMs === undefined) clock.starvedSinceMs = nowMs
    if (!starved && clock.starvedSinceMs !== undefined) closeStretch(clock)
  }
  const closeStretch = (clock: GroupClock) => {
    if (clock.starvedSinceMs === undefined) return
    const stretch = nowMs - clock.starvedSinceMs
    clock.starvedMs += stretch
    clock.starvedStretchMsMax = Math.max(clock.starvedStretchMsMax, stretch)
    clock.starvedSinceMs = undefined
  }

  // --- queries ----------------------------------------------------------------------------------

  const newQuery = (client: SimClient): SimQuery => {
    const seq = client.nextSeq++
    // traceTokenFor's text, from the client's prefix: one string per query instead of three.
    const traceToken = `${client.traceTokenPrefix}${seq}`
    const query: SimQuery = {
      index: queries.length,
      client,
      seq,
      traceToken,
      sql: sqlFor(client.spec.spec, topology.seed, traceToken),
      attempts: 0,
      submittedAtMs: nowMs,
      cluster: undefined,
      queryId: undefined,
      routingGroup: undefined,
      resourceGroup: undefined,
      state: 'PENDING',
      errorName: undefined,
      createdAtMs: undefined,
      startedAtMs: undefined,
      finishedAtMs: undefined,
      plan: undefined,
      httpErrors: noHttpErrors,
      timeoutArmed: false,
    }
    queries.push(query)
    if (keepDecisions) lastDecision.push(undefined)
    return query
  }

  /**
   * The client's query timeout, as an event only for a query that may outlive it (queued, retried,
   * or running past it): one event per query would be a third of all events at no gain.
   */
  const armTimeout = (query: SimQuery): void => {
    if (query.timeoutArmed) return
    query.timeoutArmed = true
    events.push(query.submittedAtMs + query.client.queryTimeoutMs, { kind: 'timeout', query })
  }

  const submit = (query: SimQuery): void => {
    if (query.state !== 'PENDING') return
    query.attempts++
    const headers = query.client.routedHeaders
    headers['x-trino-trace-token'] = query.traceToken
    const request: RoutingRequest = {
      method: 'POST',
      path: '/v1/statement',
      queryString: '',
      headers,
      body: query.sql,
      remoteAddress: '127.0.0.1',
    }
    const decision = decide(
      routing,
      picker,
      request,
      {
        timestampMs: nowMs,
        traceToken: query.traceToken,
        user: query.client.headerTemplate['x-trino-user'] ?? null,
      },
      backends,
      statusOf,
      keepDecisions,
    )
    const record = decision.record
    decisions.push(query.index, {
      requestedGroup: record.requestedGroup,
      selectedGroup: record.selectedGroup,
      fallback: record.fallback,
      backend: record.backend,
      candidates: sharedCandidates(record.candidates),
      errorCode: record.errorCode,
    })
    if (keepDecisions) lastDecision[query.index] = record
    if (keepDecisions) {
      if (trace.length < traceDecisionsMax) trace.push(decision.record)
      else traceComplete = false
    }
    query.routingGroup = record.selectedGroup ?? undefined
    const cluster = decision.backend === undefined ? undefined : clusterByName.get(decision.backend.name)
    // NO_ROUTABLE_BACKEND is a 503, a backend that is down a 502: the client retries both.
    if (cluster === undefined || cluster.down) {
      const status = cluster === undefined ? 503 : 502
      const retry = query.attempts < retryAttemptsMax
      if (query.httpErrors === noHttpErrors) query.httpErrors = []
      query.httpErrors.push({ method: 'POST', gateway: 0, status, retried: retry })
      if (query.attempts === 1) armTimeout(query)
      if (retry) {
        events.push(nowMs + Math.min(retryDelayMsMax, query.attempts * retryDelayMsStep), {
          kind: 'submit',
          query,
        })
      } else {
        finish(query, 'FAILED', clientErrorNames.RETRIES_EXHAUSTED)
      }
      return
    }
    admit(cluster, query)
  }

  const admit = (cluster: SimCluster, query: SimQuery): void => {
    const queryId = `sim_${cluster.index}_${cluster.queriesCreated++}`
    query.cluster = cluster
    query.queryId = queryId
    query.createdAtMs = nowMs
    query.plan = cluster.plan(query.traceToken, query.sql)
    const headers = query.client.headerTemplate
    const session = headers['x-trino-session'] ?? ''
    const priority = Number.parseInt(/(?:^|,)\s*query_priority=(\d+)/.exec(session)?.[1] ?? '1', 10)
    const admission = cluster.scheduler.submit(
      {
        queryId,
        user: headers['x-trino-user'] ?? '',
        source: headers['x-trino-source'],
        clientTags: query.client.clientTags,
        queryType: sqlFactsOf(query.sql).queryType,
        resourceEstimate: {},
        priority: Number.isFinite(priority) ? priority : 1,
        createdAtMs: nowMs,
      },
      nowMs,
    )
    if (admission.resourceGroupId !== undefined) query.resourceGroup = groupName(admission.resourceGroupId)
    if (admission.kind === 'rejected') {
      finish(query, 'FAILED', admission.errorName)
      return
    }
    cluster.active.set(queryId, query)
    if (admission.kind === 'queued') armTimeout(query)
    query.state = 'QUEUED'
    cluster.queued++
    cluster.queuedPeak = Math.max(cluster.queuedPeak, cluster.queued)
    addQueuedUser(cluster, query, 1)
    changeGroup(cluster, query.resourceGroup, 1, 0)
    if (admission.kind === 'running') start(cluster, query)
  }

  const addQueuedUser = (cluster: SimCluster, query: SimQuery, delta: number) => {
    if (!topology.monitorCountsUsers) return
    const user = query.client.headerTemplate['x-trino-user'] ?? ''
    cluster.queuedByUser.set(user, (cluster.queuedByUser.get(user) ?? 0) + delta)
  }

  const start = (cluster: SimCluster, query: SimQuery): void => {
    if (query.state !== 'QUEUED') throw new Error(`${query.queryId} started while ${query.state}`)
    query.state = 'RUNNING'
    query.startedAtMs = nowMs
    cluster.queued--
    cluster.running++
    cluster.runningPeak = Math.max(cluster.runningPeak, cluster.running)
    addQueuedUser(cluster, query, -1)
    changeGroup(cluster, query.resourceGroup, -1, 1)
    query.client.queriesPastQueued++
    const plan = query.plan as QueryPlan
    if (plan.peakMemoryBytes > 0 && cluster.scheduler.updateUsage !== undefined) {
      startAll(
        cluster,
        cluster.scheduler.updateUsage(
          query.queryId as string,
          { cpuTimeMs: 0, memoryBytes: plan.peakMemoryBytes },
          nowMs,
        ),
      )
    }
    events.push(nowMs + plan.durationMs, { kind: 'end', query })
    // A query that was queued or retried has its timeout armed already.
    if (!query.timeoutArmed && nowMs + plan.durationMs > query.submittedAtMs + query.client.queryTimeoutMs) {
      armTimeout(query)
    }
    tryActions()
  }

  const startAll = (cluster: SimCluster, ids: readonly string[]) => {
    for (const id of ids) {
      const started = cluster.active.get(id)
      if (started === undefined) throw new Error(`${cluster.name}'s scheduler started unknown query ${id}`)
      start(cluster, started)
    }
  }

  /** The query leaves its cluster (if it reached one) and its client moves on. */
  const finish = (query: SimQuery, state: 'FINISHED' | 'FAILED', errorName: string | undefined): void => {
    const cluster = query.cluster
    const wasIn = query.state
    query.state = state
    query.errorName = errorName
    query.finishedAtMs = nowMs
    if (cluster !== undefined && query.queryId !== undefined && cluster.active.delete(query.queryId)) {
      if (wasIn === 'RUNNING') {
        cluster.running--
        changeGroup(cluster, query.resourceGroup, 0, -1)
      } else {
        cluster.queued--
        addQueuedUser(cluster, query, -1)
        changeGroup(cluster, query.resourceGroup, -1, 0)
      }
      const plan = query.plan as QueryPlan
      const usage = { cpuTimeMs: wasIn === 'RUNNING' ? plan.cpuTimeMs : 0, memoryBytes: 0 }
      startAll(cluster, cluster.scheduler.release(query.queryId, nowMs, usage))
    }
    // The plan is read until here; a long run need not keep a million of them.
    query.plan = undefined
    ended++
    query.client.ended++
    if (ended % progressStep === 0 || ended === totalQueries) options.onProgress?.(ended, totalQueries)
    const client = query.client
    if (client.spec.arrivalRatePerSecond === undefined && client.nextSeq <= client.spec.queries) {
      events.push(nowMs + client.thinkTimeMs, { kind: 'next', client })
    }
  }

  // --- actions ----------------------------------------------------------------------------------

  const actions = scenario.actions
  // Updated by updateResourceGroup actions; the scenario itself is left as loaded.
  const resourceGroups =
    scenario.resourceGroups === undefined ? undefined : structuredClone(scenario.resourceGroups)
  let nextAction = 0
  const tryActions = (): void => {
    while (nextAction < actions.length) {
      const action = actions[nextAction] as ActionSpec
      if (nowMs < parseDurationMs(action.at)) return
      if (action.after !== undefined) {
        const client = clients.find((candidate) => candidate.spec.spec.name === action.after?.client)
        if (client === undefined || client.queriesPastQueued < action.after.queriesStarted) return
      }
      perform(action)
      if (action.name !== undefined) {
        for (const client of clients) {
          if (client.spec.spec.start.after === action.name)
            events.push(nowMs, { kind: 'clientStart', client })
        }
      }
      nextAction++
    }
  }
  const perform = (action: ActionSpec): void => {
    const named = (name: string | undefined) => (name === undefined ? undefined : clusterByName.get(name))
    const deactivate = named(action.deactivate)
    if (deactivate !== undefined) deactivate.record = { ...deactivate.record, active: false }
    const activate = named(action.activate)
    if (activate !== undefined) {
      activate.record = { ...activate.record, active: true }
      probe(activate)
    }
    const added = named(action.addBackend)
    if (added !== undefined) {
      added.registered = true
      probe(added)
    }
    const removed = named(action.removeBackend)
    if (removed !== undefined) removed.registered = false
    if (action.faults !== undefined) {
      const cluster = named(action.faults.cluster)
      const set = action.faults.set
      if (cluster !== undefined) {
        if (set.down !== undefined) cluster.down = set.down
        if (set.starting !== undefined) cluster.starting = set.starting
        if (set.downForMs !== undefined) {
          cluster.down = true
          cluster.downUntilMs = nowMs + set.downForMs
          events.push(cluster.downUntilMs, { kind: 'faultEnds', cluster })
        }
      }
    }
    // A restarted gateway starts with an empty query-count router, as the live one does.
    if (action.restartGateway !== undefined) picker = pickerFor(routing)
    if (action.updateResourceGroup !== undefined && resourceGroups !== undefined) {
      const { group, set } = action.updateResourceGroup
      const setup = resourceGroups
      setup.groups = setup.groups.map((candidate) => {
        const groupPath =
          candidate.parent === undefined ? candidate.name : `${candidate.parent}.${candidate.name}`
        if (groupPath !== group) return candidate
        const changed = Object.fromEntries(Object.entries(set).filter(([, value]) => value !== undefined))
        return { ...candidate, ...changed }
      })
      for (const [index, cluster] of clusters.entries()) {
        const spec = topology.clusters[index]
        const reconfigure = (
          cluster.scheduler as Partial<{ reconfigure: (c: unknown, n: number) => string[] }>
        ).reconfigure
        if (spec?.spec.resourceGroupSource !== 'db' || reconfigure === undefined) continue
        startAll(
          cluster,
          reconfigure.call(cluster.scheduler, resourceGroupsConfigOf(setup, spec.environment), nowMs),
        )
      }
    }
    refreshBackends()
  }

  // --- the monitor ------------------------------------------------------------------------------

  let monitorRunning = true
  const monitorRound = (): void => {
    for (const cluster of clusters) {
      if (!cluster.registered) continue
      probe(cluster)
      if (
        topology.monitorMeasuresCounts &&
        cluster.status === 'HEALTHY' &&
        picker instanceof QueryCountBasedRouter
      ) {
        const userQueuedCount: Record<string, number> = {}
        for (const [user, count] of cluster.queuedByUser) if (count > 0) userQueuedCount[user] = count
        picker.updateClusterStats(cluster.name, {
          ...emptyLocalStats(),
          runningQueryCount: cluster.running,
          queuedQueryCount: cluster.queued,
          userQueuedCount,
        })
      }
    }
    for (const cluster of clusters) startAll(cluster, cluster.scheduler.tick(nowMs))
  }

  // --- the loop ---------------------------------------------------------------------------------

  const pushArrival = (arrivals: Arrivals): void => {
    const index = arrivals.next++
    events.pushReserved(arrivals.startMs + (arrivals.offsetsMs[index] as number), arrivals.firstSeq + index, {
      kind: 'arrival',
      arrivals,
    })
  }

  const startClient = (client: SimClient): void => {
    const { spec } = client
    if (spec.queries === 0) return
    if (spec.arrivalRatePerSecond !== undefined) {
      const offsets = arrivalOffsetsMs(
        { ...spec.spec, queries: spec.queries, arrivalRatePerSecond: spec.arrivalRatePerSecond },
        scenario.name,
        topology.seed,
      )
      if (offsets.length === 0) return
      const arrivals: Arrivals = {
        client,
        startMs: nowMs,
        offsetsMs: offsets,
        firstSeq: events.reserve(offsets.length),
        next: 0,
      }
      pushArrival(arrivals)
      return
    }
    const waves = spec.spec.waves
    if (waves !== undefined) {
      // As the harness drives them: a monitor round, then the wave's POSTs one at a time, every
      // query in its coordinator before the next round; live that takes milliseconds, here none.
      for (let first = 1; first <= spec.queries; first += waves.size) {
        monitorRound()
        const last = Math.min(spec.queries, first + waves.size - 1)
        for (let seq = first; seq <= last; seq++) submit(newQuery(client))
      }
      return
    }
    const workers = Math.min(spec.spec.concurrency ?? 1, spec.queries)
    for (let worker = 0; worker < workers; worker++) events.push(nowMs, { kind: 'next', client })
  }

  for (const client of clients) {
    const start = client.spec.spec.start
    if (start.at !== undefined) events.push(parseDurationMs(start.at), { kind: 'clientStart', client })
  }
  for (const [index, action] of actions.entries())
    events.push(parseDurationMs(action.at), { kind: 'actionDue', index })
  events.push(0, { kind: 'monitor' })

  let eventsProcessed = 0
  for (let event = events.pop(); event !== undefined; event = events.pop()) {
    nowMs = events.poppedAtMs
    if (nowMs > virtualTimeMsMax) {
      throw simError(
        'SIM_RUNAWAY',
        `virtual time passed ${virtualTimeMsMax} ms (virtualTimeMsMax) with ${totalQueries - ended} queries not ended`,
      )
    }
    eventsProcessed++
    switch (event.kind) {
      case 'clientStart':
        startClient(event.client)
        break
      case 'next':
        if (event.client.nextSeq <= event.client.spec.queries) submit(newQuery(event.client))
        break
      case 'arrival': {
        const { arrivals } = event
        if (arrivals.next < arrivals.offsetsMs.length) pushArrival(arrivals)
        if (arrivals.client.nextSeq <= arrivals.client.spec.queries) submit(newQuery(arrivals.client))
        break
      }
      case 'submit':
        submit(event.query)
        break
      case 'end': {
        const query = event.query
        if (query.state !== 'RUNNING') break
        const failure = query.plan?.failure
        finish(query, failure === undefined ? 'FINISHED' : 'FAILED', failure?.errorName)
        break
      }
      case 'timeout':
        if (
          event.query.state === 'PENDING' ||
          event.query.state === 'QUEUED' ||
          event.query.state === 'RUNNING'
        ) {
          finish(
            event.query,
            'FAILED',
            event.query.attempts > 1 && event.query.state === 'PENDING'
              ? clientErrorNames.RETRIES_EXHAUSTED
              : clientErrorNames.CLIENT_TIMEOUT,
          )
        }
        break
      case 'monitor':
        monitorRound()
        monitorRunning = ended < totalQueries
        if (monitorRunning) events.push(nowMs + topology.monitorTaskDelayMs, { kind: 'monitor' })
        break
      case 'actionDue':
        tryActions()
        break
      case 'faultEnds':
        if (event.cluster.downUntilMs !== undefined && nowMs >= event.cluster.downUntilMs) {
          event.cluster.down = false
          event.cluster.downUntilMs = undefined
        }
        break
    }
    if (ended === totalQueries && nextAction >= actions.length) break
  }
  for (const cluster of clusters) for (const clock of cluster.groupClock.values()) closeStretch(clock)

  return {
    topology,
    queries,
    clusters,
    decisions,
    lastDecisions: keepDecisions ? lastDecision : [],
    trace: keepDecisions ? trace : [],
    traceComplete,
    endMs: nowMs,
    eventsProcessed,
  }
}

const noHttpErrors: HttpErrorRecord[] = []

/**
 * Lists of names seen before (candidate lists, resource group ids), found without joining them:
 * one trie node per prefix. A million decisions share a few lists, so each is kept once.
 */
class NameLists {
  readonly #root: NameListNode = { list: [], joined: '', next: new Map() }

  /** The first list seen equal to `names`, and its names joined with dots. */
  find(names: readonly string[]): { list: readonly string[]; joined: string } {
    let node = this.#root
    for (let index = 0; index < names.length; index++) {
      const name = names[index] as string
      let next = node.next.get(name)
      if (next === undefined) {
        const list = names.slice(0, index + 1)
        next = { list, joined: list.join('.'), next: new Map() }
        node.next.set(name, next)
      }
      node = next
    }
    return node
  }
}

interface NameListNode {
  list: readonly string[]
  joined: string
  next: Map<string, NameListNode>
}

/** The POST's headers as the gateway and the cluster saw them (names lower-cased). */
export function headersOf(query: SimQuery): Record<string, string> {
  return { ...query.client.headerTemplate, 'x-trino-trace-token': query.traceToken }
}

/**
 * The queries as the harness's expectations read them. The POST's headers are copied per query
 * only when asked for (a `backendHeader` expectation reads them): a million copies cost seconds.
 */
export function observedQueries(result: SimResult, withBackendHeaders = true): ObservedQuery[] {
  return result.queries.map((query) => {
    const startedAtMs = query.startedAtMs ?? query.finishedAtMs ?? query.submittedAtMs
    const finishedAtMs = query.finishedAtMs ?? startedAtMs
    return {
      client: query.client.spec.spec.name,
      seq: query.seq,
      traceToken: query.traceToken,
      queryId: query.queryId,
      cluster: query.cluster?.name,
      routingGroup: query.routingGroup,
      resourceGroup: query.resourceGroup,
      state: query.state,
      errorName: query.errorName,
      // Whole ms, as a live client measures them; arrivals fall between milliseconds.
      queuedMs: Math.round(startedAtMs - query.submittedAtMs),
      runMs: Math.round(finishedAtMs - startedAtMs),
      totalMs: Math.round(finishedAtMs - query.submittedAtMs),
      clusterQueuedMs:
        query.createdAtMs === undefined
          ? undefined
          : Math.round((query.startedAtMs ?? finishedAtMs) - query.createdAtMs),
      httpErrors: query.httpErrors,
      backendHeaders: query.cluster === undefined || !withBackendHeaders ? undefined : headersOf(query),
    }
  })
}

/** What each cluster recorded, as the harness gathers it from live mocks. */
export function clusterQueries(result: SimResult): ClusterQuery[] {
  return result.queries.flatMap((query): ClusterQuery[] =>
    query.cluster === undefined || query.queryId === undefined || query.createdAtMs === undefined
      ? []
      : [
          {
            cluster: query.cluster.name,
            queryId: query.queryId,
            traceToken: query.traceToken,
            resourceGroup: query.resourceGroup,
            state: query.state,
            errorName: query.errorName,
            createdAtMs: query.createdAtMs,
            startedAtMs: query.startedAtMs,
            finishedAtMs: query.finishedAtMs,
            queuedMs: (query.startedAtMs ?? query.finishedAtMs ?? query.createdAtMs) - query.createdAtMs,
            headers: headersOf(query),
          },
        ],
  )
}
