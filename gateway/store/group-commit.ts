/**
 * Group commit: concurrent writes that each must be durable before their caller goes on are
 * gathered into one statement per round trip. A caller's promise resolves only once the statement
 * holding its item has committed, so durability per item is unchanged; what changes is that N
 * concurrent items share one commit (one fsync) instead of queueing for N. With one item at a time
 * it is a plain single-row write.
 */

export interface GroupCommitOptions<T> {
  /** Writes a batch in one autocommitted statement. */
  flush: (batch: readonly T[]) => Promise<void>
  /** Items in one statement at most. */
  batchItemsMax: number
  /** Statements in flight at once at most (each holds one pool connection). */
  flushesInFlightMax: number
}

interface Waiter<T> {
  item: T
  resolve: () => void
  reject: (error: unknown) => void
}

export function createGroupCommit<T>(options: GroupCommitOptions<T>): (item: T) => Promise<void> {
  const pending: Waiter<T>[] = []
  let flushesInFlight = 0

  async function flushBatch(batch: Waiter<T>[]): Promise<void> {
    try {
      await options.flush(batch.map((waiter) => waiter.item))
      for (const waiter of batch) waiter.resolve()
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error)
        return
      }
      // One bad item must not fail its neighbours: write each alone to find out which fail.
      await Promise.all(
        batch.map((waiter) =>
          options.flush([waiter.item]).then(
            () => waiter.resolve(),
            (itemError: unknown) => waiter.reject(itemError),
          ),
        ),
      )
    }
  }

  async function drain(): Promise<void> {
    flushesInFlight++
    try {
      while (pending.length > 0) await flushBatch(pending.splice(0, options.batchItemsMax))
    } finally {
      flushesInFlight--
    }
  }

  return (item) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ item, resolve, reject })
      if (flushesInFlight < options.flushesInFlightMax) void drain()
    })
}
