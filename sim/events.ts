/**
 * The simulator's event queue: a binary min-heap ordered by virtual time, then by insertion order,
 * so events at the same instant run in the order they were scheduled and a seed reproduces a run
 * exactly. No timers: the loop pops the next event and jumps the clock to it.
 */

/** Events one run may hold at once; a scenario that queues more is a runaway model, not a load. */
export const pendingEventsMax = 50_000_000

export interface Scheduled<T> {
  atMs: number
  seq: number
  event: T
}

export class EventQueue<T> {
  readonly #heap: Scheduled<T>[] = []
  #seq = 0

  get size(): number {
    return this.#heap.length
  }

  push(atMs: number, event: T): void {
    if (!Number.isFinite(atMs)) throw new RangeError(`event time must be finite, got ${atMs}`)
    if (this.#heap.length >= pendingEventsMax) {
      throw new RangeError(`more than ${pendingEventsMax} pending events (pendingEventsMax)`)
    }
    const heap = this.#heap
    const item: Scheduled<T> = { atMs, seq: this.#seq++, event }
    let index = heap.length
    heap.push(item)
    while (index > 0) {
      const parent = (index - 1) >> 1
      const above = heap[parent] as Scheduled<T>
      if (!before(item, above)) break
      heap[index] = above
      index = parent
    }
    heap[index] = item
  }

  pop(): Scheduled<T> | undefined {
    const heap = this.#heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let index = 0
    const length = heap.length
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      let child = left
      if (right < length && before(heap[right] as Scheduled<T>, heap[left] as Scheduled<T>)) child = right
      const smaller = heap[child] as Scheduled<T>
      if (!before(smaller, last)) break
      heap[index] = smaller
      index = child
    }
    heap[index] = last
    return top
  }
}

function before<T>(a: Scheduled<T>, b: Scheduled<T>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
}
