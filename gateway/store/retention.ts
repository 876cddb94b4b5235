/**
 * Query-history retention (`dataStore.queryHistoryHoursRetention`): like Trino Gateway, a first
 * cleanup one minute after start, then one every two hours, deleting rows created more than the
 * retention before now.
 */
import type { QueryHistoryStore, StoreLogger } from './types.ts'

export const historyRetentionInitialDelayMs = 60_000
export const historyRetentionPeriodMs = 120 * 60_000

const hourMs = 3_600_000

/** Rows created before this epoch ms are past retention. */
export function historyCutoffMs(nowMs: number, hoursRetention: number): number {
  return nowMs - hoursRetention * hourMs
}

export interface HistoryRetentionOptions {
  history: Pick<QueryHistoryStore, 'deleteCreatedBefore'>
  hoursRetention: number
  logger?: StoreLogger | undefined
  initialDelayMs?: number | undefined
  periodMs?: number | undefined
  now?: (() => number) | undefined
}

export interface HistoryRetention {
  /** Rounds completed so far (failed ones included), for tests and status. */
  readonly rounds: number
  /** Stops the schedule and waits for a round in progress. */
  stop(): Promise<void>
}

/** Starts the cleanup schedule; rounds never overlap, and a failed round is logged and retried later. */
export function startHistoryRetention(options: HistoryRetentionOptions): HistoryRetention {
  const now = options.now ?? Date.now
  const periodMs = options.periodMs ?? historyRetentionPeriodMs
  let rounds = 0
  let stopped = false
  let running: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  const round = async () => {
    const cutoffMs = historyCutoffMs(now(), options.hoursRetention)
    try {
      const deleted = await options.history.deleteCreatedBefore(cutoffMs)
      options.logger?.info({ deleted, cutoffMs }, 'query history retention: old rows deleted')
    } catch (error) {
      options.logger?.error(
        { err: error instanceof Error ? error.message : String(error), cutoffMs },
        'query history retention failed; retrying next round',
      )
    } finally {
      rounds++
    }
  }

  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      running = round().finally(() => {
        running = undefined
        if (!stopped) schedule(periodMs)
      })
    }, delayMs)
    // The HTTP server keeps the process alive; this schedule alone must not.
    timer.unref()
  }
  schedule(options.initialDelayMs ?? historyRetentionInitialDelayMs)

  return {
    get rounds() {
      return rounds
    },
    async stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await running
    },
  }
}
