/**
 * The simulator's event queue: a binary min-heap ordered by virtual time, then by insertion order,
 * so events at the same instant run in the order they were scheduled and a seed reproduces a run
 * exactly. No timers: the loop pops the next event and jumps the clock to it.
 *
 * The heap is kept as parallel arrays (times and sequence numbers in Float64Arrays, events in a
 * plain array): a million-query run pushes millions of events, and a wrapper object per event was
 * a large share of the run's garbage.
 */

/** Events one run may hold at once; a scenario that queues more is a runaway model, not a load. */
export const pendingEventsMax = 50_000_000

const capacityInitial = 1024

export class EventQueue<T> {
  #atMs = new Float64Array(capacityInitial)
  #seq = new Float64Array(capacityInitial)
  #events: Array<T | undefined> = []
  #size = 0
  #nextSeq = 0
  #poppedAtMs = 0

  get size(): number {
    return this.#size
  }

  /** The time of the event `pop` returned last (0 before the first). */
  get poppedAtMs(): number {
    return this.#poppedAtMs
  }

  push(atMs: number, event: T): void {
    this.#insert(atMs, this.#nextSeq++, event)
  }

  /**
   * Takes `count` places in the insertion order now, for events pushed later with `pushReserved`:
   * a reserved event runs, among events at its time, where it would have if pushed at this call.
   * A stream of events (a client's arrivals) can so be fed one at a time instead of all up front,
   * and the run is the same event for event.
   */
  reserve(count: number): number {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`reserve needs a count >= 0, got ${count}`)
    const first = this.#nextSeq
    this.#nextSeq += count
    return first
  }

  /** Pushes an event in a place `reserve` took; each place is used once. */
  pushReserved(atMs: number, seq: number, event: T): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.#nextSeq)
      throw new RangeError(`sequence number ${seq} was not reserved`)
    this.#insert(atMs, seq, event)
  }

  /** The earliest event (by time, then insertion order), or undefined when none is left. */
  pop(): T | undefined {
    const size = this.#size
    if (size === 0) return undefined
    const atMs = this.#atMs
    const seqs = this.#seq
    const events = this.#events
    const top = events[0]
    this.#poppedAtMs = atMs[0] as number
    const last = size - 1
    this.#size = last
    const lastAtMs = atMs[last] as number
    const lastSeq = seqs[last] as number
    const lastEvent = events[last]
    events[last] = undefined
    if (last > 0) {
      let index = 0
      for (;;) {
        const left = 2 * index + 1
        if (left >= last) break
        const right = left + 1
        let child = left
        if (
          right < last &&
          before(atMs[right] as number, seqs[right] as number, atMs[left] as number, seqs[left] as number)
        )
          child = right
        if (!before(atMs[child] as number, seqs[child] as number, lastAtMs, lastSeq)) break
        this.#move(child, index)
        index = child
      }
      this.#place(index, lastAtMs, lastSeq, lastEvent)
    }
    return top
  }

  #insert(atMs: number, seq: number, event: T): void {
    if (!Number.isFinite(atMs)) throw new RangeError(`event time must be finite, got ${atMs}`)
    if (this.#size >= pendingEventsMax) {
      throw new RangeError(`more than ${pendingEventsMax} pending events (pendingEventsMax)`)
    }
    if (this.#size === this.#atMs.length) this.#grow()
    const times = this.#atMs
    const seqs = this.#seq
    let index = this.#size++
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (!before(atMs, seq, times[parent] as number, seqs[parent] as number)) break
      this.#move(parent, index)
      index = parent
    }
    this.#place(index, atMs, seq, event)
  }

  #move(from: number, to: number): void {
    this.#atMs[to] = this.#atMs[from] as number
    this.#seq[to] = this.#seq[from] as number
    this.#events[to] = this.#events[from]
  }

  #place(index: number, atMs: number, seq: number, event: T | undefined): void {
    this.#atMs[index] = atMs
    this.#seq[index] = seq
    this.#events[index] = event
  }

  #grow(): void {
    const capacity = Math.min(pendingEventsMax, this.#atMs.length * 2)
    const atMs = new Float64Array(capacity)
    atMs.set(this.#atMs)
    this.#atMs = atMs
    const seqs = new Float64Array(capacity)
    seqs.set(this.#seq)
    this.#seq = seqs
  }
}

function before(atMs: number, seq: number, otherAtMs: number, otherSeq: number): boolean {
  return atMs < otherAtMs || (atMs === otherAtMs && seq < otherSeq)
}
