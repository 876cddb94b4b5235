/**
 * Backend lifecycle for the admin APIs: the database write first, then the in-memory registry and
 * status (reference §1.3, §7), then a probe at once so a new or re-activated backend does not wait
 * for the next monitor round. The in-memory step cannot fail, so nothing half-applies. With
 * `workers` > 1 the in-memory step is the primary's: it applies the change, probes, and answers
 * once every worker holds it (gateway/workers/).
 */
import { gatewayError } from '../errors.ts'
import type { BackendRecord, BackendStore } from '../store/types.ts'
import type { HealthMonitor } from './monitor.ts'
import type { BackendRegistry } from './registry.ts'
import { type LifecycleEvent, statusAfterLifecycle, type TrinoStatus } from './trino-status.ts'

/** A change of the in-memory view after its database write. */
export type RegistryChange =
  | { kind: 'upsert'; backend: BackendRecord; status: TrinoStatus }
  | { kind: 'remove'; name: string }

/** Puts a registry change in force: in this process, or (a worker) in every process of the gateway. */
export type ApplyRegistryChange = (change: RegistryChange) => Promise<void>

/** The single-process (and primary) form: the registry now, then a probe of an active backend. */
export function applyRegistryChangeLocally(
  registry: BackendRegistry,
  monitor: Pick<HealthMonitor, 'probeNow'>,
): (change: RegistryChange) => void {
  return (change) => {
    if (change.kind === 'remove') {
      registry.remove(change.name)
      return
    }
    registry.upsert(change.backend, change.status)
    // Only a backend that may take queries needs its health before the next round. Fire and
    // forget: the monitor tracks the probe, and close() waits for it.
    if (change.backend.active) void monitor.probeNow(change.backend.name)
  }
}

export interface BackendService {
  list(): Promise<BackendRecord[]>
  get(name: string): Promise<BackendRecord | undefined>
  /** Throws BACKEND_ALREADY_EXISTS (409) when the name is taken. */
  add(backend: BackendRecord, event: 'modify' | 'webapp-save'): Promise<void>
  /** Inserts or replaces by name. */
  upsert(backend: BackendRecord, event: 'modify' | 'entity' | 'webapp-save'): Promise<void>
  /** Throws BACKEND_NOT_FOUND (404) when no backend has the name. */
  remove(name: string): Promise<BackendRecord>
  /** Throws BACKEND_NOT_FOUND (404) when no backend has the name. */
  setActive(name: string, active: boolean): Promise<void>
}

/** Strips one trailing `/`, as Trino Gateway does before storing a URL. */
export function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url
}

export function createBackendService(deps: {
  store: BackendStore
  registry: BackendRegistry
  apply: ApplyRegistryChange
}): BackendService {
  const { store, registry, apply } = deps

  const normalize = (backend: BackendRecord): BackendRecord => ({
    ...backend,
    proxyTo: withoutTrailingSlash(backend.proxyTo),
    externalUrl: backend.externalUrl === null ? null : withoutTrailingSlash(backend.externalUrl),
  })

  const applyUpsert = (backend: BackendRecord, event: LifecycleEvent) =>
    apply({ kind: 'upsert', backend, status: statusAfterLifecycle(event) })

  return {
    list: () => store.list(),
    get: (name) => store.get(name),
    async add(backend, event) {
      const row = normalize(backend)
      await store.insert(row)
      await applyUpsert(row, { kind: event, active: row.active })
    },
    async upsert(backend, event) {
      const row = normalize(backend)
      await store.upsert(row)
      await applyUpsert(row, { kind: event, active: row.active })
    },
    async remove(name) {
      const removed = await store.delete(name)
      if (removed === undefined)
        throw gatewayError('BACKEND_NOT_FOUND', `No cluster found with name: ${name}, could not delete`, {
          name,
        })
      await apply({ kind: 'remove', name })
      return removed
    },
    async setActive(name, active) {
      const found = await store.setActive(name, active)
      if (!found) {
        throw gatewayError(
          'BACKEND_NOT_FOUND',
          `No cluster found with name: ${name}, could not (de)activate`,
          { name },
        )
      }
      const known = registry.get(name) ?? (await store.get(name))
      if (known === undefined) return
      await applyUpsert({ ...known, active }, { kind: active ? 'activate' : 'deactivate' })
    },
  }
}
