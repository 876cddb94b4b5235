/**
 * Write-behind: items are accepted into a bounded in-memory buffer and written in batches by one
 * writer loop, off the caller's path. A caller waits only for room in the buffer, never for the
 * write; when the buffer is full it waits (up to a bound) rather than an item being dropped.
 *
 * Failed writes: an error the `isRejected` test calls permanent (the data itself is refused, e.g. a
 * NUL byte in a text column) makes the writer retry the batch's items one at a time, so one bad item
 * does not hold its neighbours back; an item refused on its own is counted and reported, then
 * dropped, because retrying it can never succeed. Any other error (connection refused, server
 * restarting) keeps the whole batch buffered and retries it after a growing delay.
 */

export interface WriteBehindOptions<T> {
  /** Writes a batch in one autocommitted statement; resolves once it is committed. */
  write: (batch: readonly T[]) => Promise<void>
  /** Items buffered (including the batch being written) at most. */
  bufferItemsMax: number
  /** Sum of `sizeOf` over the buffered items at most (one item larger than this is let in alone). */
  bufferBytesMax: number
  sizeOf: (item: T) => number
  /** Items in one write at most. */
  batchItemsMax: number
  /**
   * Writes start at most this often (ms) unless a full batch is waiting: items arriving between two
   * writes go out together, so a steady stream costs one statement per interval rather than one per
   * item or two. 0 starts the next write as soon as the previous one ends. `close` does not wait.
   */
  writeIntervalMs: number
  /** How long `submit` may wait for room in a full buffer before it fails. */
  submitWaitMsMax: number
  /** Delay before retrying a failed write; doubles with each failure in a row up to the max. */
  retryDelayMsMin: number
  retryDelayMsMax: number
  /** True for an error that refuses the data (retrying cannot help), false for a transient one. */
  isRejected: (error: unknown) => boolean
  /** A write failed transiently; the batch stays buffered and is retried after `retryInMs`. */
  onWriteFailed: (error: unknown, batchItems: number, pendingItems: number, retryInMs: number) => void
  /** An item was refused on its own and dropped. */
  onRejected: (item: T, error: unknown) => void
}

export interface WriteBehindStats {
  /** Items accepted and not yet written (buffered or in the write in flight). */
  pendingItems: number
  /** Items written (committed) since start. */
  writtenItems: number
  /** Writes that failed transiently (each retried). */
  writeFailures: number
  /** Items refused on their own and dropped. */
  rejectedItems: number
  /** Submissions that had to wait for room in a full buffer. */
  submitWaits: number
}

export interface WriteBehind<T> {
  /** Resolves once the item is buffered; rejects when no room came within `submitWaitMsMax`, or after close. */
  submit(item: T): Promise<void>
  /**
   * Takes the item at once when `submit` would not have to wait (open, room, nobody waiting) and
   * says whether it did; false leaves it to `submit`. Saves a promise on the hot path.
   */
  offer(item: T): boolean
  stats(): WriteBehindStats
  /**
   * Refuses new items and writes what is buffered, retrying as usual, for at most `deadlineMs`.
   * Resolves with the items that could not be written in time (empty when all were).
   */
  close(deadlineMs: number): Promise<T[]>
}

export class WriteBehindFullError extends Error {}
export class WriteBehindClosedError extends Error {}

interface Waiter {
  size: number
  admit: () => void
  timer: NodeJS.Timeout
}

export function createWriteBehind<T>(options: WriteBehindOptions<T>): WriteBehind<T> {
  const buffer: T[] = []
  let bufferBytes = 0
  const waiters: Waiter[] = []
  const stats = { writtenItems: 0, writeFailures: 0, rejectedItems: 0, submitWaits: 0 }
  let writing = false
  let closed = false
  /** Set when close() gave up: the writer loop ends instead of retrying on. */
  let stopped = false
  let failuresInRow = 0
  /** Wakes the writer early from a retry delay or the write interval (close wants it to try at once). */
  let wakeWriter: (() => void) | undefined
  /** Wakes the writer from the write interval alone (a full batch is waiting), never from a retry delay. */
  let endInterval: (() => void) | undefined
  /** When the last write started (performance.now()); the next starts `writeIntervalMs` later. */
  let lastWriteStartedAt = Number.NEGATIVE_INFINITY
  /** Resolves when the writer loop has stopped with an empty buffer. */
  let drained: (() => void) | undefined

  const hasRoomFor = (size: number) =>
    buffer.length < options.bufferItemsMax &&
    (bufferBytes + size <= options.bufferBytesMax || buffer.length === 0)

  function accept(item: T, size: number): void {
    buffer.push(item)
    bufferBytes += size
    if (!writing) void writeLoop()
    else if (buffer.length >= options.batchItemsMax) endInterval?.()
  }

  function remove(count: number): void {
    for (const item of buffer.splice(0, count)) bufferBytes -= options.sizeOf(item)
    // Room was made: let waiters in, oldest first, while it lasts.
    while (waiters.length > 0 && hasRoomFor((waiters[0] as Waiter).size)) {
      const waiter = waiters.shift() as Waiter
      clearTimeout(waiter.timer)
      waiter.admit()
    }
  }

  function sleep(ms: number, endsEarlyOnFullBatch = false): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        wakeWriter = undefined
        endInterval = undefined
        resolve()
      }
      wakeWriter = done
      if (endsEarlyOnFullBatch) endInterval = done
    })
  }

  /** How long the next write still waits: 0 when closing, a full batch waits, or the interval is over. */
  function intervalLeftMs(): number {
    if (closed || buffer.length >= options.batchItemsMax) return 0
    return Math.max(0, lastWriteStartedAt + options.writeIntervalMs - performance.now())
  }

  type Outcome = { kind: 'written' } | { kind: 'retry'; error: unknown }

  async function writeBatch(batch: readonly T[]): Promise<Outcome> {
    try {
      await options.write(batch)
      remove(batch.length)
      stats.writtenItems += batch.length
      return { kind: 'written' }
    } catch (error) {
      if (!options.isRejected(error)) {
        stats.writeFailures++
        return { kind: 'retry', error }
      }
      if (batch.length === 1) {
        remove(1)
        stats.rejectedItems++
        options.onRejected(batch[0] as T, error)
        return { kind: 'written' }
      }
      // Find the refused items: each alone, in order, so the buffer's head is always what is written.
      for (const item of batch) {
        const outcome = await writeBatch([item])
        if (outcome.kind === 'retry') return outcome
      }
      return { kind: 'written' }
    }
  }

  async function writeLoop(): Promise<void> {
    writing = true
    try {
      while (buffer.length > 0 && !stopped) {
        // Only a wait yields: without one, the batch is taken in this turn, as it was queued.
        const waitMs = intervalLeftMs()
        if (waitMs > 0) {
          await sleep(waitMs, true)
          if (stopped) break
        }
        lastWriteStartedAt = performance.now()
        const batch = buffer.slice(0, options.batchItemsMax)
        const outcome = await writeBatch(batch)
        if (outcome.kind === 'written') {
          failuresInRow = 0
          continue
        }
        const retryInMs = Math.min(
          options.retryDelayMsMax,
          options.retryDelayMsMin * 2 ** Math.min(failuresInRow, 30),
        )
        failuresInRow++
        options.onWriteFailed(outcome.error, batch.length, buffer.length, retryInMs)
        await sleep(retryInMs)
      }
    } finally {
      writing = false
      drained?.()
    }
  }

  function offer(item: T): boolean {
    if (closed || waiters.length > 0) return false
    const size = options.sizeOf(item)
    if (!hasRoomFor(size)) return false
    accept(item, size)
    return true
  }

  return {
    offer,
    submit(item) {
      if (closed) return Promise.reject(new WriteBehindClosedError('the write-behind buffer is closed'))
      if (offer(item)) return Promise.resolve()
      const size = options.sizeOf(item)
      stats.submitWaits++
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          size,
          admit: () => {
            accept(item, size)
            resolve()
          },
          timer: setTimeout(() => {
            const index = waiters.indexOf(waiter)
            if (index >= 0) waiters.splice(index, 1)
            reject(
              new WriteBehindFullError(
                `the write-behind buffer stayed full (${buffer.length} items) for ${options.submitWaitMsMax} ms`,
              ),
            )
          }, options.submitWaitMsMax),
        }
        waiters.push(waiter)
      })
    },
    stats: () => ({ pendingItems: buffer.length, ...stats }),
    async close(deadlineMs) {
      closed = true
      for (const waiter of waiters.splice(0)) {
        // Waiting submissions are let in: their callers were promised a write, and close() writes.
        clearTimeout(waiter.timer)
        waiter.admit()
      }
      if (buffer.length === 0 && !writing) return []
      const done = new Promise<void>((resolve) => {
        drained = resolve
      })
      wakeWriter?.()
      let deadline: NodeJS.Timeout | undefined
      const timedOut = new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, deadlineMs)
      })
      await Promise.race([done, timedOut])
      clearTimeout(deadline)
      if (buffer.length > 0) {
        stopped = true
        wakeWriter?.()
      }
      return buffer.slice()
    },
  }
}
