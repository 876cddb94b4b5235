/**
 * Finding the backend of a known query id (reference §5.2): the in-memory cache, then
 * `query_history`, then a `HEAD /v1/query/{id}` probe of every backend whose answers are really
 * awaited (unlike Trino Gateway, issue #1241). No silent guess: an unknown id stays unknown.
 */
import type { BackendRecord, QueryHistoryStore } from '../store/types.ts'
import type { QueryIdCache, QueryTarget } from './query-id-cache.ts'

/** 'token': the follow-up's own routing token named the backend (handler.ts); the rest are looked up here. */
export type StickySource = 'token' | 'cache' | 'history' | 'probe'

export interface StickyLookupDeps {
  cache: QueryIdCache
  history: Pick<QueryHistoryStore, 'findByQueryId'>
  /** Every registered backend, active or not. */
  backends: () => readonly BackendRecord[]
  /** True when the backend answers 200 to `HEAD {proxyTo}/v1/query/{id}`; false on anything else. */
  probe: (backend: BackendRecord, queryId: string) => Promise<boolean>
}

export type StickyLookup =
  | { found: true; target: QueryTarget; source: StickySource }
  | { found: false; probed: number; historyError?: string }

export async function findBackendForQueryId(queryId: string, deps: StickyLookupDeps): Promise<StickyLookup> {
  const cached = deps.cache.get(queryId)
  if (cached !== undefined) return { found: true, target: cached, source: 'cache' }

  let historyError: string | undefined
  try {
    const row = await deps.history.findByQueryId(queryId)
    if (row !== undefined) return remember(deps, row, 'history')
  } catch (error) {
    // The database being down must not stop a probe that can still find the query.
    historyError = (error as Error).message
  }

  const backends = deps.backends()
  const owner = await firstTrue(backends, (backend) => deps.probe(backend, queryId))
  if (owner !== undefined) return remember(deps, { queryId, backendUrl: owner.proxyTo, ...owner }, 'probe')
  return historyError === undefined
    ? { found: false, probed: backends.length }
    : { found: false, probed: backends.length, historyError }
}

/** Caches a target found past the cache, so the query's next request is answered from memory. */
function remember(
  deps: StickyLookupDeps,
  found: QueryTarget,
  source: Exclude<StickySource, 'cache' | 'token'>,
): StickyLookup {
  const target: QueryTarget = {
    queryId: found.queryId,
    backendUrl: found.backendUrl,
    routingGroup: found.routingGroup,
    externalUrl: found.externalUrl,
  }
  deps.cache.set(target)
  return { found: true, target, source }
}

/** The first item whose check resolves true, waiting for every check before giving up. */
function firstTrue<T>(items: readonly T[], check: (item: T) => Promise<boolean>): Promise<T | undefined> {
  if (items.length === 0) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    let pending = items.length
    for (const item of items) {
      check(item)
        .catch(() => false)
        .then((ok) => {
          if (ok) resolve(item)
          pending--
          if (pending === 0) resolve(undefined)
        })
    }
  })
}
