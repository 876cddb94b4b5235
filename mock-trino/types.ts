/** The plain data the mock shares with its users (harness, control API). */

/** Trino's query states as the mock reports them (there is no CANCELED: cancel is FAILED + USER_CANCELED). */
export type MockQueryState = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED'

export interface MockQueryRecord {
  queryId: string
  sql: string
  traceToken?: string
  user: string
  source?: string
  clientTags: string[]
  clientInfo?: string
  catalog?: string
  schema?: string
  sessionProperties: Record<string, string>
  /** Request headers of the statement POST, names lower-cased, as received. */
  headers: Record<string, string>
  state: MockQueryState
  errorName?: string
  errorMessage?: string
  resourceGroupId?: string[]
  queryType?: string
  createdAtMs: number
  startedAtMs?: number
  finishedAtMs?: number
  /**
   * Queue wait: from creation until admission, or until the end of a query that never started;
   * absent while the query still waits.
   */
  queuedMs?: number
  /** The load model's CPU time of a query that ran, set when it ends. */
  cpuTimeMs?: number
}

export interface Faults {
  /** `/v1/info` reports `starting: true`, so Trino Gateway marks the cluster PENDING. */
  starting: boolean
  /** The port refuses connections (the server stops listening) while true. */
  down: boolean
  /** Added before every protocol response. */
  latencyMs: number
  /** Share of protocol requests answered with `httpErrorStatus` (a seeded draw per request). */
  httpErrorRate: number
  httpErrorStatus: 500 | 502 | 503 | 504
  /** Share of protocol responses whose connection is destroyed halfway through the body. */
  resetMidResponseRate: number
  /** Statement polls (GETs of nextUri) are never answered; the client times out. */
  stopAnsweringPolls: boolean
}

export const noFaults: Readonly<Faults> = Object.freeze({
  starting: false,
  down: false,
  latencyMs: 0,
  httpErrorRate: 0,
  httpErrorStatus: 503,
  resetMidResponseRate: 0,
  stopAnsweringPolls: false,
})

export interface QueryCounts {
  running: number
  queued: number
  finished: number
  failed: number
  canceled: number
}
