/**
 * The health monitor (reference §7): every `monitor.taskDelay`, re-read the backend list from the
 * store and probe every backend, active or not. INFO_API asks `GET /v1/info`; NOOP calls every
 * backend HEALTHY; UI_API, METRICS, JMX and JDBC run a stats probe (`./probes/`) that also measures
 * query counts. A backend added or activated through an API is probed at once (`probeNow`).
 * `monitor.failureThreshold` / `successThreshold` (`./flap-guard.ts`) decide when a probe's status
 * is put in force.
 */
import type { Dispatcher } from 'undici'
import type { BackendRecord, BackendStore } from '../store/types.ts'
import {
  defaultHealthThresholds,
  type FlapGuardState,
  guardStatus,
  type HealthThresholds,
  initialFlapGuardState,
} from './flap-guard.ts'
import { readBodyPrefix } from './probes/http.ts'
import type { ClusterProbe, ProbeResult } from './probes/index.ts'
import type { BackendRegistry } from './registry.ts'
import {
  type InfoProbeOutcome,
  shouldRetryInfoProbe,
  statusFromInfoProbe,
  type TrinoStatus,
} from './trino-status.ts'

export type MonitorType = 'INFO_API' | 'NOOP' | 'UI_API' | 'METRICS' | 'JMX' | 'JDBC'

/** The counts a probe measured and put in force, for the query-count router. */
export type ClusterStatsListener = (name: string, stats: ProbeResult) => void

/** How long one `GET /v1/info` may take before the backend counts as UNHEALTHY. */
export const infoProbeTimeoutMs = 5_000
/** Largest `/v1/info` body read; Trino's is a few hundred bytes. */
export const infoProbeBodyBytesMax = 64 * 1024

export interface MonitorLogger {
  debug(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
}

export interface HealthMonitorOptions {
  registry: BackendRegistry
  backends: Pick<BackendStore, 'list'>
  monitorType: MonitorType
  taskDelayMs: number
  retries: number
  dispatcher: Dispatcher
  logger: MonitorLogger
  probeTimeoutMs?: number
  /** The probe of UI_API, METRICS, JMX or JDBC; required for those types. */
  statsProbe?: ClusterProbe | undefined
  /** Defaults to Trino Gateway's behaviour: every probe's status applies at once. */
  thresholds?: HealthThresholds | undefined
  /** Called with fresh counts after every probe whose counts were applied. */
  onStats?: ClusterStatsListener | undefined
  /** Called after every full round (the first one makes the monitor ready). */
  onRound?: (() => void) | undefined
}

export interface HealthMonitor {
  /** True once the first full round has completed (`/trino-gateway/readyz`). */
  readonly ready: boolean
  start(): void
  /** One round now: refresh the list from the store, then probe every backend. */
  runRound(): Promise<void>
  /** Probes one backend now, outside the schedule. */
  probeNow(name: string): Promise<void>
  close(): Promise<void>
}

export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const { registry, logger } = options
  const probeTimeoutMs = options.probeTimeoutMs ?? infoProbeTimeoutMs
  const thresholds = options.thresholds ?? defaultHealthThresholds
  const statsProbe = options.statsProbe
  if (options.monitorType !== 'INFO_API' && options.monitorType !== 'NOOP' && statsProbe === undefined) {
    throw new Error(`monitor type ${options.monitorType} needs a stats probe`)
  }
  /** Per backend: the guard's state and the registry generation it belongs to. */
  const guards = new Map<string, { generation: number; state: FlapGuardState }>()
  let ready = false
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const inFlight = new Set<Promise<unknown>>()

  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work)
    void work.finally(() => inFlight.delete(work)).catch(() => undefined)
    return work
  }

  async function measure(backend: BackendRecord): Promise<ProbeResult> {
    if (options.monitorType === 'NOOP') return countless('HEALTHY')
    if (options.monitorType === 'INFO_API') return countless(await probeInfoApi(backend))
    return (statsProbe as ClusterProbe)(backend)
  }

  async function probe(backend: BackendRecord): Promise<void> {
    const name = backend.name
    const generation = registry.generationOf(name)
    const { problem, ...measured } = await measure(backend)
    // An admin change since the guard last ran (activate, edit) starts the guard afresh.
    const known = guards.get(name)
    const guardState =
      known !== undefined && known.generation === generation ? known.state : initialFlapGuardState
    const step = guardStatus(registry.statusOf(name), measured.trinoStatus, guardState, thresholds)
    // A failure held back by the threshold keeps the last counts: the probe measured none.
    const keepCounts = step.held && step.status === 'HEALTHY'
    const previous = registry.statsOf(name)
    const stats = keepCounts
      ? {
          trinoStatus: step.status,
          runningQueryCount: previous.runningQueryCount,
          queuedQueryCount: previous.queuedQueryCount,
          numWorkerNodes: previous.numWorkerNodes,
          userQueuedCount: previous.userQueuedCount,
        }
      : { ...measured, trinoStatus: step.status }
    const applied = registry.applyProbe(name, generation, stats)
    if (applied) {
      guards.set(name, { generation: registry.generationOf(name), state: step.state })
      if (!keepCounts) options.onStats?.(name, { ...measured, trinoStatus: step.status })
    }
    const fields = {
      backend: name,
      probed: measured.trinoStatus,
      status: step.status,
      held: step.held,
      applied,
    }
    if (problem !== undefined && measured.trinoStatus !== 'HEALTHY')
      logger.debug({ ...fields, problem }, 'backend probe failed')
    else logger.debug(fields, 'backend probed')
  }

  async function probeInfoApi(backend: BackendRecord): Promise<TrinoStatus> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await getInfo(backend)
      if (outcome.kind !== 'response' || outcome.statusCode !== 200) {
        logger.debug({ backend: backend.name, outcome, attempt }, 'GET /v1/info failed')
      }
      if (!shouldRetryInfoProbe(outcome, attempt, options.retries) || closed)
        return statusFromInfoProbe(outcome)
    }
  }

  async function getInfo(backend: BackendRecord): Promise<InfoProbeOutcome> {
    const signal = AbortSignal.timeout(probeTimeoutMs)
    try {
      const url = new URL(`${backend.proxyTo.replace(/\/$/, '')}/v1/info`)
      const response = await options.dispatcher.request({
        origin: url.origin,
        path: url.pathname,
        method: 'GET',
        headers: { accept: 'application/json' },
        signal,
        headersTimeout: probeTimeoutMs,
        bodyTimeout: probeTimeoutMs,
      })
      // An oversized body is cut at the bound and still answered (the stats probes fail it instead).
      const { text } = await readBodyPrefix(response.body, infoProbeBodyBytesMax)
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // A non-JSON body stays text: statusFromInfoProbe calls it UNHEALTHY.
      }
      return { kind: 'response', statusCode: response.statusCode, body }
    } catch (error) {
      if (signal.aborted) return { kind: 'timeout' }
      return { kind: 'error', message: (error as Error).message }
    }
  }

  async function round(): Promise<void> {
    const readAt = registry.listVersion
    try {
      registry.replaceFromStore(await options.backends.list(), readAt)
    } catch (error) {
      // Keep routing on the last known list while the database is away (Trino Gateway #268).
      logger.warn(
        { err: (error as Error).message },
        'could not refresh backends from the store; keeping the last list',
      )
    }
    for (const name of [...guards.keys()]) if (registry.get(name) === undefined) guards.delete(name)
    await Promise.all(registry.list().map((backend) => probe(backend)))
    ready = true
    options.onRound?.()
  }

  const schedule = () => {
    if (closed) return
    timer = setTimeout(() => {
      running = track(round().finally(schedule))
    }, options.taskDelayMs)
    timer.unref()
  }

  return {
    get ready() {
      return ready
    },
    start() {
      running = track(round().finally(schedule))
    },
    runRound() {
      return track(round())
    },
    async probeNow(name) {
      const backend = registry.get(name)
      if (backend !== undefined && !closed) await track(probe(backend))
    },
    async close() {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      await running?.catch(() => undefined)
      await Promise.allSettled([...inFlight])
    },
  }
}

function countless(trinoStatus: TrinoStatus): ProbeResult {
  return { trinoStatus, runningQueryCount: 0, queuedQueryCount: 0, numWorkerNodes: 0, userQueuedCount: null }
}
