/**
 * Deletes `query_history` rows older than `dataStore.queryHistoryHoursRetention`, first one minute
 * after start, then every two hours, as Trino Gateway schedules it.
 */
import type { QueryHistoryStore } from '../store/types.ts'

export const historyCleanupFirstDelayMs = 60_000
export const historyCleanupIntervalMs = 120 * 60_000

export interface HistoryRetention {
  /** One cleanup now; resolves to the number of rows deleted. */
  runOnce(): Promise<number>
  close(): Promise<void>
}

export function startHistoryRetention(options: {
  history: Pick<QueryHistoryStore, 'deleteCreatedBefore'>
  retentionHours: number
  logger: {
    info(fields: Record<string, unknown>, message: string): void
    warn(fields: Record<string, unknown>, message: string): void
  }
  now?: () => number
}): HistoryRetention {
  const now = options.now ?? Date.now
  let running: Promise<unknown> | undefined
  let closed = false
  const runOnce = async () => {
    const cutoff = now() - options.retentionHours * 3_600_000
    const deleted = await options.history.deleteCreatedBefore(cutoff)
    options.logger.info({ deleted, cutoff }, 'query_history retention cleanup')
    return deleted
  }
  const tick = () => {
    if (closed) return
    running = runOnce().catch((error: Error) =>
      options.logger.warn({ err: error.message }, 'query_history cleanup failed'),
    )
  }
  const first = setTimeout(() => {
    tick()
    interval.refresh()
  }, historyCleanupFirstDelayMs)
  const interval = setInterval(tick, historyCleanupIntervalMs)
  first.unref()
  interval.unref()
  return {
    runOnce,
    async close() {
      closed = true
      clearTimeout(first)
      clearInterval(interval)
      await running
    },
  }
}
