/**
 * The routing core as the simulator and the replay run it: the live gateway's own pure functions
 * (the header selector, `evaluateRules`, `route`, the random picker and the query-count router),
 * wired the way `gateway/server.ts` and `gateway/proxy/handler.ts` wire them, with the request
 * and the backend states given as data. Nothing here is a second implementation of a decision.
 */
import { type Rng, rngFor } from '../common/random.ts'
import type { TrinoStatus } from '../gateway/clusters/trino-status.ts'
import type { RequestAnalyzerConfig } from '../gateway/routing/analyzer/config.ts'
import { type BackendPicker, randomBackendPicker } from '../gateway/routing/backend-picker.ts'
import { type RoutingDecisionRecord, recordedHeaders } from '../gateway/routing/decision.ts'
import { createHeaderRoutingGroupSelector } from '../gateway/routing/header-selector.ts'
import {
  type LocalStats,
  loadKey,
  pickLeastLoaded,
  QueryCountBasedRouter,
  type TieBreak,
} from '../gateway/routing/query-count-router.ts'
import { route } from '../gateway/routing/route.ts'
import { createScope, evaluateRules, type RuleEvaluationMode } from '../gateway/routing/rules/engine.ts'
import type { CompiledRule } from '../gateway/routing/rules/loader.ts'
import type { RoutingRequest } from '../gateway/routing/selector.ts'
import type { BackendRecord } from '../gateway/store/types.ts'

export type GroupSelection =
  | { kind: 'header' }
  | {
      kind: 'rules'
      rules: readonly CompiledRule[]
      mode: RuleEvaluationMode
      analyzer: RequestAnalyzerConfig
    }

export interface RoutingSetup {
  /** The run's seed: a query's draw is `rngFor(seed, traceToken)`, as in the live proxy. */
  seed: number
  defaultRoutingGroup: string
  selection: GroupSelection
  /** `query-count` when `modules` lists the QueryCountBasedRouterProvider, as gateway/server.ts decides. */
  picker: 'random' | 'query-count'
  tieBreak: TieBreak
}

/** What the request looked like besides what the selector reads. */
export interface RequestMeta {
  timestampMs: number
  traceToken: string | null
  user: string | null
}

export interface GroupOutcome {
  routingGroup: string | undefined
  /** Rules whose condition held, in evaluation order (rules selection only). */
  matchedRules: readonly string[]
  /** The rule whose action left the final routing group (rules selection only). */
  decidingRule: string | undefined
  warnings: readonly string[]
}

const headerSelector = createHeaderRoutingGroupSelector()

/** The routing group a request asks for: the header selector, or the file rules, as live. */
export function selectRoutingGroup(selection: GroupSelection, request: RoutingRequest): GroupOutcome {
  if (selection.kind === 'header') {
    const chosen = headerSelector.select(request)
    if (chosen instanceof Promise) throw new Error('the header selector is synchronous')
    return { routingGroup: chosen.routingGroup, matchedRules: [], decidingRule: undefined, warnings: [] }
  }
  const outcome = evaluateRules(selection.rules, createScope(request, selection.analyzer), selection.mode)
  return {
    routingGroup: outcome.routingGroup,
    matchedRules: outcome.matchedRules,
    decidingRule: undefined,
    warnings: outcome.failures.map((failure) => `rule "${failure.rule}" skipped: ${failure.message}`),
  }
}

/**
 * Which rule left the final group: the last rule at which the group written so far changed.
 * Costs one evaluation per rule, so only explanations (a replay's differences) call it.
 */
export function decidingRule(
  selection: Extract<GroupSelection, { kind: 'rules' }>,
  request: RoutingRequest,
): string | undefined {
  let previous: string | undefined
  let decider: string | undefined
  for (let count = 1; count <= selection.rules.length; count++) {
    const prefix = selection.rules.slice(0, count)
    const group = evaluateRules(prefix, createScope(request, selection.analyzer), selection.mode).routingGroup
    if (group !== previous) decider = prefix[count - 1]?.name
    previous = group
  }
  return previous === undefined ? undefined : decider
}

export interface Decision {
  record: RoutingDecisionRecord
  group: GroupOutcome
  /** The chosen backend, undefined when routing failed. */
  backend: BackendRecord | undefined
}

/**
 * One routed decision, built as the live proxy builds it. `picker` is the stateful shell the
 * caller keeps (a QueryCountBasedRouter fed by its monitor, or the random picker). With
 * `recordRequest` the record carries the request and the picker's counts, as a live trace does.
 */
export function decide(
  setup: RoutingSetup,
  picker: BackendPicker,
  request: RoutingRequest,
  meta: RequestMeta,
  backends: readonly BackendRecord[],
  statusOf: (name: string) => TrinoStatus | undefined,
  recordRequest: boolean,
): Decision {
  const group = selectRoutingGroup(setup.selection, request)
  const requestedGroup = group.routingGroup === '' ? undefined : group.routingGroup
  let loads: Record<string, LocalStats> | undefined
  // The counts are copied only for a record that is kept: a run without a trace skips the copy.
  const recordingPicker: BackendPicker =
    picker.statsOf === undefined || !recordRequest
      ? picker
      : {
          name: picker.name,
          pick(candidates, context) {
            loads = {}
            for (const candidate of candidates) {
              const stats = picker.statsOf?.(candidate.name)
              if (stats !== undefined) loads[candidate.name] = stats
            }
            return picker.pick(candidates, context)
          },
        }
  const outcome = route({
    requestedGroup,
    defaultRoutingGroup: setup.defaultRoutingGroup,
    backends,
    statusOf,
    picker: recordingPicker,
    // The live proxy keys a request without a trace token by its arrival number; every simulated
    // and replayed request has one.
    rng: lazyRng(setup.seed, meta.traceToken ?? ''),
    user: meta.user ?? undefined,
  })
  const backend = outcome.ok ? outcome.backend : undefined
  const record: RoutingDecisionRecord = {
    timestampMs: meta.timestampMs,
    method: request.method,
    path: request.path,
    traceToken: meta.traceToken,
    user: meta.user,
    routingGroupHeader: request.headers['x-trino-routing-group'] ?? null,
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
    errorCode: outcome.ok ? null : 'NO_ROUTABLE_BACKEND',
  }
  // Set after, not spread in: an object literal with spreads is built slowly and large, and the
  // simulator builds one record per decision. The key order is the same as the live proxy's.
  if (recordRequest) {
    record.request = {
      queryString: request.queryString,
      headers: recordedHeaders(request.headers),
      body: request.body,
      remoteAddress: request.remoteAddress,
    }
  }
  if (loads !== undefined) record.loads = loads
  return { record, group, backend }
}

/**
 * `rngFor(seed, key)`, built on the first draw: most decisions draw nothing (one candidate, or the
 * least-loaded choice without a tie), and building a seeded PRNG is the costliest part of a decision.
 * The draws are the same as the live proxy's.
 */
export function lazyRng(seed: number, key: string): Rng {
  let rng: Rng | undefined
  return () => {
    rng ??= rngFor(seed, key)
    return rng()
  }
}

/** The picker the live gateway would run for this setup. */
export function pickerFor(setup: RoutingSetup): BackendPicker {
  return setup.picker === 'query-count'
    ? new QueryCountBasedRouter({ tieBreak: setup.tieBreak })
    : randomBackendPicker
}

/** A query-count router that knows exactly the counts a recorded decision saw. */
export function pickerWithLoads(
  setup: RoutingSetup,
  loads: Readonly<Record<string, LocalStats>>,
): BackendPicker {
  if (setup.picker !== 'query-count') return randomBackendPicker
  const router = new QueryCountBasedRouter({ tieBreak: setup.tieBreak })
  for (const [name, stats] of Object.entries(loads)) router.updateClusterStats(name, stats)
  return router
}

/** How the backend was chosen among the candidates, in words: the tie or the draw that decided it. */
export function explainChoice(
  setup: RoutingSetup,
  record: Pick<RoutingDecisionRecord, 'candidates' | 'traceToken' | 'user' | 'loads' | 'backend'>,
): string {
  if (record.backend === null) return 'no backend chosen'
  if (record.candidates.length === 1) return `the only routable backend ${record.backend}`
  if (setup.picker === 'random') {
    return `seeded random draw among ${record.candidates.length} (${record.candidates.join(', ')}), key ${JSON.stringify(record.traceToken)}`
  }
  const loads = record.loads ?? {}
  const stats = new Map(Object.entries(loads))
  const user = record.user ?? undefined
  const pick = pickLeastLoaded({
    candidates: record.candidates,
    stats,
    user,
    tieBreak: setup.tieBreak,
    rng: rngFor(setup.seed, record.traceToken ?? ''),
  })
  const keys = record.candidates
    .map((name) => {
      const load = stats.get(name)
      if (load === undefined) return `${name} no stats`
      const [userQueued, queued, running] = loadKey(load, user)
      return `${name} (userQueued ${userQueued}, queued ${queued}, running ${running})`
    })
    .join(', ')
  const tie =
    pick.tied > 1
      ? `; ${pick.tied} tied, broken by ${setup.tieBreak === 'random' ? 'a seeded draw' : 'backend order'}`
      : ''
  return `least loaded among ${keys}${tie}`
}
