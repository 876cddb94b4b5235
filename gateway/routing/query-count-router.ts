/**
 * Least-loaded backend choice: Trino Gateway's QueryCountBasedRouter (reference §4), enabled by
 * `modules: [io.trino.gateway.ha.module.QueryCountBasedRouterProvider]`.
 *
 * The decision (`pickLeastLoaded`) is pure: (candidates, stats, user, tie-break PRNG) in, the chosen
 * backend and the optimistic update of its local stats out. `QueryCountBasedRouter` is the small
 * stateful shell: it holds the per-cluster stats the monitor replaces every round and applies the
 * local increments between rounds.
 */
import { pickIndex, type Rng } from '../../common/random.ts'
import type { ClusterStats } from '../clusters/trino-status.ts'
import type { BackendRecord } from '../store/types.ts'
import type { BackendPicker, PickContext } from './backend-picker.ts'

/** The `modules` entry that turns this router on, as Trino Gateway spells it. */
export const queryCountBasedRouterModule = 'io.trino.gateway.ha.module.QueryCountBasedRouterProvider'

/**
 * How equally loaded clusters are told apart. `first` is Trino Gateway's behaviour (the earliest in
 * backend order wins, so a quiet group sends everything to one cluster); `random` is our extension:
 * a seeded draw among the tied clusters.
 */
export type TieBreak = 'first' | 'random'
export const tieBreaks: readonly TieBreak[] = ['first', 'random']

/** What the router knows of one cluster (Trino Gateway's `LocalStats`). */
export interface LocalStats {
  runningQueryCount: number
  queuedQueryCount: number
  /** Queued queries per `sessionUser`; only the UI_API monitor fills it. */
  userQueuedCount: Readonly<Record<string, number>>
}

/** What the router keeps of a monitor's measurement (every gateway process feeds it this way). */
export function localStatsOf(
  stats: Pick<ClusterStats, 'runningQueryCount' | 'queuedQueryCount' | 'userQueuedCount'>,
): LocalStats {
  return {
    runningQueryCount: stats.runningQueryCount,
    queuedQueryCount: stats.queuedQueryCount,
    userQueuedCount: stats.userQueuedCount ?? {},
  }
}

export interface LeastLoadedInput {
  /** Candidate names in backend order (active, in the group, HEALTHY). */
  candidates: readonly string[]
  stats: ReadonlyMap<string, LocalStats>
  /** `X-Trino-User` of the request; undefined counts as a user with no queued queries. */
  user: string | undefined
  tieBreak: TieBreak
  /** Drawn from only when `tieBreak` is `random` and more than one candidate ties. */
  rng: Rng
}

export interface LeastLoadedPick {
  /** The chosen name; undefined when no candidate has stats. */
  chosen: string | undefined
  /** The chosen cluster's stats after the optimistic local increment. */
  updated: LocalStats | undefined
  /** How many candidates tied for the minimum (1 when the choice was clear). */
  tied: number
}

/** The comparison key, most significant first: user queued, cluster queued, cluster running. */
export function loadKey(stats: LocalStats, user: string | undefined): [number, number, number] {
  const userQueued = user === undefined ? 0 : (ownCount(stats.userQueuedCount, user) ?? 0)
  return [userQueued, stats.queuedQueryCount, stats.runningQueryCount]
}

/**
 * Trino Gateway's choice: among candidates with stats, the minimum by (user queued, cluster queued,
 * running); ties to the first in candidate order unless `tieBreak` is `random`. Then the local
 * increment: if the user had queued queries on the chosen cluster, one more is assumed queued for
 * that user (the cluster-wide queue is left alone, as Trino Gateway does); otherwise one more running.
 */
export function pickLeastLoaded(input: LeastLoadedInput): LeastLoadedPick {
  // Two passes without a key array or a list of the tied: the router runs this per routed request
  // (and the simulator a million times a run). The first finds the minimum and how many tie at it,
  // the second takes the tied candidate the tie-break names, in candidate order.
  const { candidates, stats, user } = input
  let tied = 0
  let bestUserQueued = 0
  let bestQueued = 0
  let bestRunning = 0
  for (const name of candidates) {
    const load = stats.get(name)
    if (load === undefined) continue
    const userQueued = user === undefined ? 0 : (ownCount(load.userQueuedCount, user) ?? 0)
    const order =
      tied === 0
        ? -1
        : userQueued - bestUserQueued ||
          load.queuedQueryCount - bestQueued ||
          load.runningQueryCount - bestRunning
    if (order < 0) {
      tied = 1
      bestUserQueued = userQueued
      bestQueued = load.queuedQueryCount
      bestRunning = load.runningQueryCount
    } else if (order === 0) {
      tied++
    }
  }
  if (tied === 0) return { chosen: undefined, updated: undefined, tied: 0 }
  const winnerIndex = input.tieBreak === 'random' && tied > 1 ? pickIndex(input.rng, tied) : 0
  let seen = 0
  for (const name of candidates) {
    const load = stats.get(name)
    if (load === undefined) continue
    const userQueued = user === undefined ? 0 : (ownCount(load.userQueuedCount, user) ?? 0)
    if (userQueued !== bestUserQueued || load.queuedQueryCount !== bestQueued) continue
    if (load.runningQueryCount !== bestRunning) continue
    if (seen++ === winnerIndex) return { chosen: name, updated: afterLocalPick(load, user), tied }
  }
  throw new Error('pickLeastLoaded: tie-break index out of range')
}

/** The optimistic update after sending one query of `user` to a cluster (reference §4). */
export function afterLocalPick(stats: LocalStats, user: string | undefined): LocalStats {
  const userQueued = user === undefined ? undefined : ownCount(stats.userQueuedCount, user)
  if (user !== undefined && userQueued !== undefined && userQueued > 0) {
    return { ...stats, userQueuedCount: { ...stats.userQueuedCount, [user]: userQueued + 1 } }
  }
  return { ...stats, runningQueryCount: stats.runningQueryCount + 1 }
}

/** Own keys only: a user named `constructor` must not read Object.prototype. */
function ownCount(counts: Readonly<Record<string, number>>, user: string): number | undefined {
  return Object.hasOwn(counts, user) ? counts[user] : undefined
}

export interface QueryCountBasedRouterOptions {
  tieBreak?: TieBreak
  /**
   * Told of every local pick after its increment (a worker reports it to the primary, which passes
   * it to the other workers' `recordPick`, so every process counts every process's picks).
   */
  onPick?: ((name: string, user: string | undefined) => void) | undefined
}

/**
 * The stateful router: the monitor calls `updateClusterStats` for every probed cluster each round,
 * which replaces the cluster's stats wholesale (dropping the local increments since the last
 * round); `pick` applies the pure choice and keeps its increment.
 */
export class QueryCountBasedRouter implements BackendPicker {
  readonly name = 'query-count'
  readonly tieBreak: TieBreak
  readonly #stats = new Map<string, LocalStats>()
  readonly #onPick: QueryCountBasedRouterOptions['onPick']

  constructor(options: QueryCountBasedRouterOptions = {}) {
    this.tieBreak = options.tieBreak ?? 'first'
    this.#onPick = options.onPick
  }

  updateClusterStats(name: string, stats: LocalStats): void {
    assertCounts(name, stats)
    this.#stats.set(name, { ...stats, userQueuedCount: { ...stats.userQueuedCount } })
  }

  /** The counts the router will compare for this cluster, including local increments. */
  statsOf(name: string): LocalStats | undefined {
    return this.#stats.get(name)
  }

  /** Every cluster's counts (a new worker starts from the primary's). */
  allStats(): Array<[string, LocalStats]> {
    return [...this.#stats.entries()]
  }

  /**
   * Applies the increment of a pick another process made; a cluster without stats stays without
   * (the next monitor round measures it).
   */
  recordPick(name: string, user: string | undefined): void {
    const stats = this.#stats.get(name)
    if (stats !== undefined) this.#stats.set(name, afterLocalPick(stats, user))
  }

  pick(candidates: readonly BackendRecord[], context: PickContext): BackendRecord {
    const names = candidates.map((candidate) => candidate.name)
    let outcome = pickLeastLoaded({
      candidates: names,
      stats: this.#stats,
      user: context.user,
      tieBreak: this.tieBreak,
      rng: context.rng,
    })
    if (outcome.chosen === undefined) {
      // Trino Gateway throws NoSuchElementException here (#447). A candidate is HEALTHY, so it was
      // probed; only a probe outside a monitor round leaves none: count such clusters as idle.
      for (const name of names) this.#stats.set(name, emptyLocalStats())
      outcome = pickLeastLoaded({
        candidates: names,
        stats: this.#stats,
        user: context.user,
        tieBreak: this.tieBreak,
        rng: context.rng,
      })
    }
    const chosen = candidates.find((candidate) => candidate.name === outcome.chosen)
    if (chosen === undefined || outcome.updated === undefined) {
      throw new RangeError('QueryCountBasedRouter.pick needs at least one candidate')
    }
    this.#stats.set(chosen.name, outcome.updated)
    this.#onPick?.(chosen.name, context.user)
    return chosen
  }
}

export function emptyLocalStats(): LocalStats {
  return { runningQueryCount: 0, queuedQueryCount: 0, userQueuedCount: {} }
}

/** Counts are never negative or fractional: a monitor reporting one is a bug to catch here. */
function assertCounts(name: string, stats: LocalStats): void {
  const counts = [stats.runningQueryCount, stats.queuedQueryCount, ...Object.values(stats.userQueuedCount)]
  if (counts.some((count) => !Number.isInteger(count) || count < 0)) {
    throw new RangeError(
      `cluster ${name}: query counts must be whole numbers >= 0, got ${JSON.stringify(stats)}`,
    )
  }
}
