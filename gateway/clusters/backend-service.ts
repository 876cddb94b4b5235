/**
 * Backend lifecycle for the admin APIs: the database write first, then the in-memory registry and
 * status (reference §1.3, §7), then a probe at once so a new or re-activated backend does not wait
 * for the next monitor round. The in-memory step cannot fail, so nothing half-applies.
 */
import { gatewayError } from '../errors.ts'
import type { BackendRecord, BackendStore } from '../store/types.ts'
import type { HealthMonitor } from './monitor.ts'
import type { BackendRegistry } from './registry.ts'
import { type LifecycleEvent, statusAfterLifecycle } from './trino-status.ts'

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
  monitor: HealthMonitor
}): BackendService {
  const { store, registry, monitor } = deps

  const normalize = (backend: BackendRecord): BackendRecord => ({
    ...backend,
    proxyTo: withoutTrailingSlash(backend.proxyTo),
    externalUrl: backend.externalUrl === null ? null : withoutTrailingSlash(backend.externalUrl),
  })

  const applyLocally = (backend: BackendRecord, event: LifecycleEvent) => {
    registry.upsert(backend, statusAfterLifecycle(event))
    // Only a backend that may take queries needs its health before the next round. Fire and
    // forget: the monitor tracks the probe, and close() waits for it.
    if (backend.active) void monitor.probeNow(backend.name)
  }

  return {
    list: () => store.list(),
    get: (name) => store.get(name),
    async add(backend, event) {
      const row = normalize(backend)
      await store.insert(row)
      applyLocally(row, { kind: event, active: row.active })
    },
    async upsert(backend, event) {
      const row = normalize(backend)
      await store.upsert(row)
      applyLocally(row, { kind: event, active: row.active })
    },
    async remove(name) {
      const removed = await store.delete(name)
      if (removed === undefined)
        throw gatewayError('BACKEND_NOT_FOUND', `No cluster found with name: ${name}, could not delete`, {
          name,
        })
      registry.remove(name)
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
      applyLocally({ ...known, active }, { kind: active ? 'activate' : 'deactivate' })
    },
  }
}
