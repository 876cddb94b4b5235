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
  readonly #entries = new Map<string, QueryTarget>()

  constructor(readonly entriesMax = queryIdCacheEntriesMax) {
    if (!Number.isInteger(entriesMax) || entriesMax <= 0)
      throw new RangeError(`entriesMax must be > 0, got ${entriesMax}`)
  }

  get size(): number {
    return this.#entries.size
  }

  get(queryId: string): QueryTarget | undefined {
    const target = this.#entries.get(queryId)
    if (target !== undefined) {
      // Re-insert to mark it most recently used: Map keeps insertion order.
      this.#entries.delete(queryId)
      this.#entries.set(queryId, target)
    }
    return target
  }

  set(target: QueryTarget): void {
    this.#entries.delete(target.queryId)
    this.#entries.set(target.queryId, target)
    while (this.#entries.size > this.entriesMax) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
  }
}
