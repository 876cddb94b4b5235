/**
 * Backend health as Trino Gateway models it (`TrinoStatus`, `ClusterStats`, reference §1.2, §7)
 * and the pure decisions that change it.
 */

export type TrinoStatus = 'PENDING' | 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'

/** What the monitor knows of one backend; the `/api/public/backends/{name}/state` body. */
export interface ClusterStats {
  clusterId: string
  runningQueryCount: number
  queuedQueryCount: number
  numWorkerNodes: number
  trinoStatus: TrinoStatus
  proxyTo: string
  externalUrl: string
  routingGroup: string
  userQueuedCount: Readonly<Record<string, number>> | null
}

/** The outcome of one `GET /v1/info` attempt. */
export type InfoProbeOutcome =
  | { kind: 'response'; statusCode: number; body: unknown }
  | { kind: 'error'; message: string }
  | { kind: 'timeout' }

/** INFO_API retries only on these statuses (`monitor.retries`), as Trino Gateway does. */
const retriableStatusCodes: ReadonlySet<number> = new Set([502, 503, 504])

export function shouldRetryInfoProbe(outcome: InfoProbeOutcome, attempt: number, retries: number): boolean {
  return attempt < retries && outcome.kind === 'response' && retriableStatusCodes.has(outcome.statusCode)
}

/** `starting:false` → HEALTHY, `starting:true` → PENDING, anything else → UNHEALTHY. */
export function statusFromInfoProbe(outcome: InfoProbeOutcome): TrinoStatus {
  if (outcome.kind !== 'response' || outcome.statusCode !== 200) return 'UNHEALTHY'
  const body = outcome.body
  if (body === null || typeof body !== 'object') return 'UNHEALTHY'
  const starting = (body as { starting?: unknown }).starting
  if (starting === false) return 'HEALTHY'
  if (starting === true) return 'PENDING'
  return 'UNHEALTHY'
}

/** Admin-API events that set a backend's status before the next probe (reference §7). */
export type LifecycleEvent =
  | { kind: 'activate' }
  | { kind: 'deactivate' }
  | { kind: 'modify'; active: boolean }
  | { kind: 'entity'; active: boolean }
  | { kind: 'webapp-save'; active: boolean }

export function statusAfterLifecycle(event: LifecycleEvent): TrinoStatus {
  switch (event.kind) {
    case 'activate':
      return 'PENDING'
    case 'deactivate':
      return 'UNKNOWN'
    case 'modify':
      return event.active ? 'PENDING' : 'UNKNOWN'
    case 'entity':
      return event.active ? 'PENDING' : 'UNHEALTHY'
    // Trino Gateway leaves the status alone here until the next round; we probe at once, and an
    // edited backend must not keep routing on a HEALTHY that was measured for its old URL.
    case 'webapp-save':
      return event.active ? 'PENDING' : 'UNKNOWN'
  }
}

/** Only active and HEALTHY backends take new queries. */
export function isRoutable(active: boolean, status: TrinoStatus | undefined): boolean {
  return active && status === 'HEALTHY'
}
