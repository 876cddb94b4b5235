/**
 * One record per routing decision, with the inputs the router saw, so a run can write
 * `trace.jsonl` and replay a decision through the pure core without any cluster.
 */
import type { StickySource } from '../proxy/sticky.ts'
import type { LocalStats } from './query-count-router.ts'

/**
 * What the routing-group selector read of a routed request, so a replay can evaluate the rules
 * again. Credentials are left out (see `unrecordedHeaders`): a rule reading them replays without.
 */
export interface RecordedRequest {
  queryString: string
  /** Header names lower-cased, as the selector saw them, less `unrecordedHeaders`. */
  headers: Record<string, string>
  /** The body prefix the selector read (bounded by the proxy's body-prefix limit). */
  body: string
  remoteAddress: string
}

/** Headers a trace never holds: a trace file is shared to reproduce bugs, credentials are not. */
export const unrecordedHeaders: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-trino-extra-credential',
])

export function recordedHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (!unrecordedHeaders.has(name)) kept[name] = value
  return kept
}

export interface RoutingDecisionRecord {
  /** Epoch ms when the decision was made (informational; leave it out of digests). */
  timestampMs: number
  method: string
  path: string
  /** `X-Trino-Trace-Token`, the key of the seeded draw when present. */
  traceToken: string | null
  user: string | null
  /** `X-Trino-Routing-Group` as sent. */
  routingGroupHeader: string | null
  /** The query id of a sticky follow-up; null for a new query. */
  queryId: string | null
  kind: 'sticky' | 'routed'
  /** Where a sticky id was found; null for a new query or an unknown id. */
  stickySource: StickySource | null
  /** What the selector returned (null: the default group applies). */
  requestedGroup: string | null
  /** Names of the routable backends the choice was drawn from. */
  candidates: string[]
  /** The group the backend came from. */
  selectedGroup: string | null
  /** True when the requested group had no routable backend and the default group served. */
  fallback: boolean
  /** Backend name (null when unknown or when routing failed). */
  backend: string | null
  backendUrl: string | null
  reason: string
  /** The error code when no backend was chosen. */
  errorCode: string | null
  /** Routed decisions only: what the selector read (absent in traces written before it existed). */
  request?: RecordedRequest
  /**
   * Routed decisions by a load-aware picker only: the counts it compared for each candidate, as
   * they stood just before the choice.
   */
  loads?: Record<string, LocalStats>
}

export type RoutingDecisionListener = (record: RoutingDecisionRecord) => void

/** Fans decisions out to listeners; a throwing listener is reported and never breaks routing. */
export class RoutingDecisionHub {
  readonly #listeners = new Set<RoutingDecisionListener>()

  constructor(private readonly onListenerError: (error: unknown) => void = () => undefined) {}

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: RoutingDecisionListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** True when at least one listener is subscribed. */
  get hasListeners(): boolean {
    return this.#listeners.size > 0
  }

  emit(record: RoutingDecisionRecord): void {
    for (const listener of this.#listeners) {
      try {
        listener(record)
      } catch (error) {
        this.onListenerError(error)
      }
    }
  }
}
