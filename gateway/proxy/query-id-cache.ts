import { BoundedMap } from '../../common/bounded-map.ts'

/** Where a query runs, as recorded when its id was first seen. */
export interface QueryTarget {
  queryId: string
  /** The backend's `proxyTo` (the `backend_url` column), path prefix included. */
  backendUrl: string
  routingGroup: string | null
  externalUrl: string | null
}

/** Entries the query-id cache keeps at most; the least recently used one goes first. */
export const queryIdCacheEntriesMax = 10_000

/** A bounded LRU map from query id to its target (Trino Gateway keeps a Caffeine cache of 10 000). */
export class QueryIdCache {
  readonly #entries: BoundedMap<string, QueryTarget>

  constructor(readonly entriesMax = queryIdCacheEntriesMax) {
    if (!Number.isInteger(entriesMax) || entriesMax <= 0)
      throw new RangeError(`entriesMax must be > 0, got ${entriesMax}`)
    this.#entries = new BoundedMap(entriesMax, 'use')
  }

  get size(): number {
    return this.#entries.size
  }

  get(queryId: string): QueryTarget | undefined {
    return this.#entries.get(queryId)
  }

  set(target: QueryTarget): void {
    this.#entries.set(target.queryId, target)
  }
}
