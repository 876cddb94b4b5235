/**
 * The admission and scheduling seam of a mock coordinator. The legacy `global` group (limits from
 * `query.max-concurrent-queries` / `query.max-queued-queries`) and Trino's resource-group
 * scheduler (`mock-trino/resource-groups/`) both implement it. Implementations are pure over the
 * times they are given: no timers, no I/O.
 */

/** What Trino's selectors and policies read of a query. */
export interface QueryDescriptor {
  queryId: string
  user: string
  source: string | undefined
  clientTags: readonly string[]
  /** Trino's resource-group query type (SELECT, INSERT, DELETE, DESCRIBE, EXPLAIN, DATA_DEFINITION, ...), when known. */
  queryType: string | undefined
  resourceEstimate: {
    executionTimeMs?: number | undefined
    cpuTimeMs?: number | undefined
    peakMemoryBytes?: number | undefined
  }
  /** Session property `query_priority` (default 1), used by the query_priority policy. */
  priority: number
  createdAtMs: number
}

export type Admission =
  | { kind: 'running'; resourceGroupId: readonly string[] }
  | { kind: 'queued'; resourceGroupId: readonly string[] }
  | {
      kind: 'rejected'
      /** Trino's error name: QUERY_QUEUE_FULL, QUERY_REJECTED, ... */
      errorName: string
      message: string
      resourceGroupId?: readonly string[]
    }

/** Usage a finished or running query accumulated, for CPU and memory limits. */
export interface QueryUsage {
  cpuTimeMs: number
  memoryBytes: number
}

export interface QueryScheduler {
  submit(query: QueryDescriptor, nowMs: number): Admission
  /**
   * The query left the system (finished, failed or canceled, queued or running). Returns the ids of
   * queued queries that start running now, in start order.
   */
  release(queryId: string, nowMs: number, usage?: QueryUsage): string[]
  /** Advances time (CPU quota regeneration, refreshed configuration); returns ids started now. */
  tick(nowMs: number): string[]
  counts(): { running: number; queued: number }
  /** The resource group of a query still known to the scheduler. */
  groupOf(queryId: string): readonly string[] | undefined
  /**
   * Optional: a running query's cumulative CPU time and current memory, reported by the coordinator
   * on every scheduling tick; returns ids started now. Schedulers without usage limits omit it.
   */
  updateUsage?(queryId: string, usage: QueryUsage, nowMs: number): string[]
}
