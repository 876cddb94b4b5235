/**
 * How the data plane records a new query in `query_history` (config `routing.history`):
 *
 * - `write-behind` (default): the row goes into a bounded buffer and the POST's answer is released
 *   at once; one writer group-commits the buffer in the background. Follow-ups do not need the row
 *   (their routing token names the backend), so a submission costs no database round trip. A crash
 *   (SIGKILL, power loss) loses the rows still buffered: at most `historyBufferRowsMax`, and exactly
 *   what `trino_gateway_query_history_rows_pending` showed. A graceful stop writes them first.
 * - `sync`: Trino Gateway's guarantee: each POST is answered only after its row is committed
 *   (group-committed with concurrent POSTs); a failed insert cancels the query (503
 *   QUERY_HISTORY_WRITE_FAILED).
 */
import pg from 'pg'
import type { QueryHistoryRecord, QueryHistoryStore, StoreLogger } from './types.ts'
import { createWriteBehind, type WriteBehind, type WriteBehindStats } from './write-behind.ts'

export const historyModes = ['write-behind', 'sync'] as const
export type HistoryMode = (typeof historyModes)[number]

/** Rows buffered at most before submissions wait for the writer. */
export const historyBufferRowsMax = 10_000
/** Query text buffered at most (UTF-16 code units, about bytes for SQL) before submissions wait. */
export const historyBufferBytesMax = 64 * 1024 * 1024
/** How long a submission waits for room in a full buffer before it fails like a failed sync insert. */
export const historyBufferWaitMsMax = 5_000
/** Rows in one background INSERT at most (8 parameters a row). */
export const historyWriteBatchRowsMax = 1_000
/**
 * Background writes start at most this often by default (`routing.historyWriteInterval`): at 1,000
 * queries a second one INSERT carries about 50 rows instead of one or two, which on this project's
 * 2-core machine cut the embedded database's CPU per row by about two thirds and the gateway's
 * too. It is also how much longer a row may sit in the buffer, so what a SIGKILL can lose grows by
 * the rows of one interval.
 */
export const historyWriteIntervalMsDefault = 50
/** The longest write interval a config may set: rows older than this are still unwritten. */
export const historyWriteIntervalMsMax = 10_000
/** First delay before retrying a failed background write; it doubles up to the max. */
export const historyRetryDelayMsMin = 100
export const historyRetryDelayMsMax = 5_000
/** How long a graceful stop keeps trying to write the buffered rows. */
export const historyShutdownFlushMsMax = 10_000
/** Query ids named in the log line of rows lost at shutdown, at most. */
export const historyLostIdsLoggedMax = 100

export interface HistoryWriterStats extends WriteBehindStats {
  mode: HistoryMode
}

export interface HistoryWriter {
  readonly mode: HistoryMode
  /** write-behind: resolves once buffered; sync: once committed. Rejects when the row cannot be taken. */
  record(row: QueryHistoryRecord): Promise<void>
  /** write-behind: takes the row at once when `record` would not wait, and says so; sync: false. */
  offer(row: QueryHistoryRecord): boolean
  stats(): HistoryWriterStats
  /** write-behind: writes the buffer (up to `historyShutdownFlushMsMax`), logs and returns rows lost. */
  close(): Promise<QueryHistoryRecord[]>
}

/**
 * SQLSTATE classes that refuse the row itself: data exception (22, e.g. a NUL byte in query text,
 * 22021) and integrity constraint violation (23). Retrying such a row can never succeed. Every other
 * failure (connection, server shutting down, a missing table, permissions) may heal, so the rows
 * stay buffered and are retried.
 */
const rowRefusedSqlStateClasses: ReadonlySet<string> = new Set(['22', '23'])

export function isRefusedByDatabase(error: unknown): boolean {
  // Only the server's ErrorResponse carries a SQLSTATE; node's own codes (EPIPE) are not one.
  if (!(error instanceof pg.DatabaseError) || typeof error.code !== 'string') return false
  return rowRefusedSqlStateClasses.has(error.code.slice(0, 2))
}

export function createHistoryWriter(options: {
  mode: HistoryMode
  /** write-behind: writes start at most this often (ms) unless a full batch waits. */
  writeIntervalMs: number
  history: Pick<QueryHistoryStore, 'insert' | 'insertBatch'>
  logger: StoreLogger
}): HistoryWriter {
  const { history, logger } = options
  if (options.mode === 'sync') {
    let written = 0
    return {
      mode: 'sync',
      async record(row) {
        await history.insert(row)
        written++
      },
      offer: () => false,
      stats: () => ({
        mode: 'sync',
        pendingItems: 0,
        writtenItems: written,
        writeFailures: 0,
        rejectedItems: 0,
        submitWaits: 0,
      }),
      close: async () => [],
    }
  }
  const buffer: WriteBehind<QueryHistoryRecord> = createWriteBehind({
    write: (batch) => history.insertBatch(batch),
    bufferItemsMax: historyBufferRowsMax,
    bufferBytesMax: historyBufferBytesMax,
    sizeOf: (row) => row.queryText.length,
    batchItemsMax: historyWriteBatchRowsMax,
    writeIntervalMs: options.writeIntervalMs,
    submitWaitMsMax: historyBufferWaitMsMax,
    retryDelayMsMin: historyRetryDelayMsMin,
    retryDelayMsMax: historyRetryDelayMsMax,
    isRejected: isRefusedByDatabase,
    onWriteFailed: (error, batchRows, pendingRows, retryInMs) =>
      logger.warn(
        { err: (error as Error).message, batchRows, pendingRows, retryInMs },
        'query_history write-behind: write failed; the rows stay buffered and are retried',
      ),
    onRejected: (row, error) =>
      logger.error(
        { queryId: row.queryId, err: (error as Error).message },
        'query_history write-behind: the database refused this row; it is dropped (follow-ups still route by token)',
      ),
  })
  return {
    mode: 'write-behind',
    record: (row) => buffer.submit(row),
    offer: (row) => buffer.offer(row),
    stats: () => ({ mode: 'write-behind', ...buffer.stats() }),
    async close() {
      const lost = await buffer.close(historyShutdownFlushMsMax)
      if (lost.length > 0) {
        logger.error(
          {
            rowsLost: lost.length,
            queryIds: lost.slice(0, historyLostIdsLoggedMax).map((row) => row.queryId),
          },
          `query_history write-behind: ${lost.length} buffered row(s) could not be written within ${historyShutdownFlushMsMax} ms of the stop and are lost`,
        )
      } else {
        logger.info(
          { rowsWritten: buffer.stats().writtenItems },
          'query_history write-behind: buffer flushed',
        )
      }
      return lost
    },
  }
}
