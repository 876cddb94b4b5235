import type { Admission, QueryDescriptor, QueryScheduler } from './scheduler.ts'

/** Trino's defaults for the legacy manager (`QueryManagerConfig`). */
export const legacyConcurrentQueriesMaxDefault = 1000
export const legacyQueuedQueriesMaxDefault = 5000

export interface LegacySchedulerOptions {
  /** `query.max-concurrent-queries`: the `global` group's hard concurrency limit. */
  maxConcurrentQueries?: number
  /** `query.max-queued-queries`: the `global` group's queue bound. */
  maxQueuedQueries?: number
}

const globalGroupId: readonly string[] = Object.freeze(['global'])

/**
 * Trino's legacy resource-group manager: without `resource-groups.properties`, every query goes to
 * one root group `global` with `hardConcurrencyLimit = query.max-concurrent-queries` and
 * `maxQueued = query.max-queued-queries`, served first in first out. Pure over the times given.
 */
export class LegacyScheduler implements QueryScheduler {
  readonly hardConcurrencyLimit: number
  readonly maxQueued: number
  private readonly running = new Set<string>()
  /** Insertion-ordered: the first key is the oldest queued query. */
  private readonly queued = new Set<string>()

  constructor(options: LegacySchedulerOptions = {}) {
    this.hardConcurrencyLimit = options.maxConcurrentQueries ?? legacyConcurrentQueriesMaxDefault
    this.maxQueued = options.maxQueuedQueries ?? legacyQueuedQueriesMaxDefault
    for (const [name, value] of [
      ['maxConcurrentQueries', this.hardConcurrencyLimit],
      ['maxQueuedQueries', this.maxQueued],
    ] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(`${name} must be a non-negative integer, got ${value}`)
      }
    }
  }

  submit(query: QueryDescriptor, _nowMs: number): Admission {
    if (this.running.has(query.queryId) || this.queued.has(query.queryId)) {
      throw new Error(`query ${query.queryId} was submitted twice`)
    }
    // Trino's IRG.run: a query that can run starts at once, even when others wait in the queue.
    if (this.canRunMore()) {
      this.running.add(query.queryId)
      return { kind: 'running', resourceGroupId: globalGroupId }
    }
    if (this.queued.size < this.maxQueued) {
      this.queued.add(query.queryId)
      return { kind: 'queued', resourceGroupId: globalGroupId }
    }
    return {
      kind: 'rejected',
      errorName: 'QUERY_QUEUE_FULL',
      message: `Too many queued queries for "${globalGroupId.join('.')}"`,
      resourceGroupId: globalGroupId,
    }
  }

  release(queryId: string, _nowMs: number): string[] {
    if (this.running.delete(queryId)) return this.startQueued()
    this.queued.delete(queryId)
    return []
  }

  tick(_nowMs: number): string[] {
    return this.startQueued()
  }

  counts(): { running: number; queued: number } {
    return { running: this.running.size, queued: this.queued.size }
  }

  groupOf(queryId: string): readonly string[] | undefined {
    return this.running.has(queryId) || this.queued.has(queryId) ? globalGroupId : undefined
  }

  private canRunMore(): boolean {
    return this.running.size < this.hardConcurrencyLimit
  }

  private startQueued(): string[] {
    const started: string[] = []
    for (const queryId of this.queued) {
      if (!this.canRunMore()) break
      this.queued.delete(queryId)
      this.running.add(queryId)
      started.push(queryId)
    }
    return started
  }
}
