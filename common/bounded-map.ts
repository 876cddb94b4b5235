/**
 * A Map that keeps at most `entriesMax` entries (0: none at all): past the bound the oldest goes first, oldest by
 * insertion (`order: 'insertion'`) or by last use (`order: 'use'`: `get` counts as a use, an LRU).
 *
 * Why not `map.delete(map.keys().next().value)`: V8 leaves a hole for every deleted entry until the
 * table is rebuilt, and a fresh iterator walks every hole from the start, so on a full map that
 * evicts on every insert each eviction walks thousands of holes (about 8 µs at 10,000 entries, on
 * the machine of docs/capacity.md). One long-lived iterator passes each hole once: everything before
 * it has been evicted, so the first live key after it is always the oldest.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>()
  #oldest: Iterator<K> = this.#entries.keys()

  constructor(
    readonly entriesMax: number,
    readonly order: 'insertion' | 'use' = 'insertion',
  ) {
    if (!Number.isInteger(entriesMax) || entriesMax < 0)
      throw new RangeError(`entriesMax must be an integer of at least 0, got ${entriesMax}`)
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined && this.order === 'use') {
      // Re-inserted, it is the newest: Map keeps insertion order.
      this.#entries.delete(key)
      this.#entries.set(key, value)
    }
    return value
  }

  /** Sets the entry as the newest, evicting the oldest ones past the bound. */
  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    while (this.#entries.size > this.entriesMax) {
      const next = this.#oldest.next()
      // Never done while entries are over the bound (all live keys lie after it); a fresh one if so.
      if (next.done === true) this.#oldest = this.#entries.keys()
      else this.#entries.delete(next.value)
    }
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  /** Values, oldest first. */
  values(): IterableIterator<V> {
    return this.#entries.values()
  }
}
