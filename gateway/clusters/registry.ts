/**
 * The in-memory view the data plane reads: the backend list (refreshed from the store every
 * monitor round and after every admin change) and the health map. Reads are synchronous, so a
 * proxied request never waits on the database for routing.
 */
import type { BackendRecord } from '../store/types.ts'
import type { ClusterStats, TrinoStatus } from './trino-status.ts'

/** The whole in-memory view as plain data: what the primary sends its workers (gateway/workers/). */
export interface RegistrySnapshot {
  backends: BackendRecord[]
  /** Measured stats by backend name; a backend never probed has none. */
  stats: Array<[string, ClusterStats]>
}

export class BackendRegistry {
  #backends: BackendRecord[] = []
  readonly #stats = new Map<string, ClusterStats>()
  /** Bumped on every status change a probe must not overwrite with an older measurement. */
  readonly #generations = new Map<string, number>()
  /** Bumped on every local change to the list, so a slower store read cannot undo it. */
  #listVersion = 0
  readonly #changeListeners = new Set<() => void>()

  list(): readonly BackendRecord[] {
    return this.#backends
  }

  get(name: string): BackendRecord | undefined {
    return this.#backends.find((backend) => backend.name === name)
  }

  get listVersion(): number {
    return this.#listVersion
  }

  /**
   * Calls `listener` after every change of the list or of a backend's stats (synchronously, so a
   * caller can coalesce); returns the unsubscribe function.
   */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener)
    return () => this.#changeListeners.delete(listener)
  }

  snapshot(): RegistrySnapshot {
    return { backends: [...this.#backends], stats: [...this.#stats.entries()] }
  }

  /**
   * Replaces everything with a snapshot of another process's registry (a worker takes the
   * primary's): that process probes, so local generations only need to move on.
   */
  replaceWithSnapshot(snapshot: RegistrySnapshot): void {
    const names = new Set(snapshot.backends.map((backend) => backend.name))
    for (const name of [...this.#stats.keys()]) if (!names.has(name)) this.#forget(name)
    this.#backends = [...snapshot.backends]
    for (const [name, stats] of snapshot.stats) {
      this.#stats.set(name, stats)
      this.#bump(name)
    }
    this.#listVersion++
    this.#changed()
  }

  /**
   * Replaces the list with what the store holds, unless the list changed locally since the read
   * began (`readAtVersion`); returns whether it applied. Health of vanished backends is dropped.
   */
  replaceFromStore(backends: readonly BackendRecord[], readAtVersion: number): boolean {
    if (readAtVersion !== this.#listVersion) return false
    const names = new Set(backends.map((backend) => backend.name))
    for (const name of [...this.#stats.keys()]) {
      if (!names.has(name)) this.#forget(name)
    }
    for (const backend of backends) {
      const previous = this.get(backend.name)
      // Another gateway changed this row: its status was measured for the old settings.
      if (
        previous !== undefined &&
        (previous.proxyTo !== backend.proxyTo || previous.active !== backend.active)
      ) {
        this.#bump(backend.name)
      }
    }
    this.#backends = [...backends]
    this.#changed()
    return true
  }

  upsert(backend: BackendRecord, status: TrinoStatus): void {
    const index = this.#backends.findIndex((existing) => existing.name === backend.name)
    if (index === -1) this.#backends = [...this.#backends, backend]
    else this.#backends = this.#backends.map((existing, at) => (at === index ? backend : existing))
    this.#listVersion++
    this.setStatus(backend.name, status)
  }

  remove(name: string): void {
    this.#backends = this.#backends.filter((backend) => backend.name !== name)
    this.#listVersion++
    this.#forget(name)
    this.#changed()
  }

  setStatus(name: string, status: TrinoStatus): void {
    this.#bump(name)
    this.#stats.set(name, { ...this.statsOf(name), trinoStatus: status })
    this.#changed()
  }

  generationOf(name: string): number {
    return this.#generations.get(name) ?? 0
  }

  /** Applies a probe result unless the backend changed (or went) since the probe started. */
  applyProbe(
    name: string,
    startedAtGeneration: number,
    stats: Omit<ClusterStats, 'proxyTo' | 'externalUrl' | 'routingGroup' | 'clusterId'>,
  ): boolean {
    if (this.get(name) === undefined || this.generationOf(name) !== startedAtGeneration) return false
    this.#stats.set(name, { ...this.statsOf(name), ...stats })
    this.#changed()
    return true
  }

  statusOf(name: string): TrinoStatus | undefined {
    return this.#stats.get(name)?.trinoStatus
  }

  /** ClusterStats of a backend; never probed means UNKNOWN with zero counts, as Trino Gateway says. */
  statsOf(name: string): ClusterStats {
    const backend = this.get(name)
    const known = this.#stats.get(name)
    return {
      clusterId: name,
      runningQueryCount: known?.runningQueryCount ?? 0,
      queuedQueryCount: known?.queuedQueryCount ?? 0,
      numWorkerNodes: known?.numWorkerNodes ?? 0,
      trinoStatus: known?.trinoStatus ?? 'UNKNOWN',
      proxyTo: backend?.proxyTo ?? known?.proxyTo ?? '',
      externalUrl: backend?.externalUrl ?? backend?.proxyTo ?? known?.externalUrl ?? '',
      routingGroup: backend?.routingGroup ?? known?.routingGroup ?? '',
      userQueuedCount: known?.userQueuedCount ?? null,
    }
  }

  #bump(name: string): void {
    this.#generations.set(name, this.generationOf(name) + 1)
  }

  #changed(): void {
    for (const listener of this.#changeListeners) listener()
  }

  #forget(name: string): void {
    this.#stats.delete(name)
    this.#bump(name)
  }
}
