/**
 * What every cluster-stats probe (reference §7) returns, and what it is given. Each probe is a thin
 * I/O shell around a pure "responses → ProbeResult" function in the same module.
 */
import type { Dispatcher } from 'undici'
import type { BackendRecord } from '../../store/types.ts'
import type { ClusterStats } from '../trino-status.ts'

/** A probe's measurement: the ClusterStats fields a monitor round replaces. */
export type ProbeResult = Omit<ClusterStats, 'clusterId' | 'proxyTo' | 'externalUrl' | 'routingGroup'> & {
  /** Why the probe did not find the cluster HEALTHY, for the log; absent when it did. */
  problem?: string
}

/** `backendState` of config.yaml: how monitors authenticate to the clusters. */
export interface BackendStateConfig {
  username: string
  password: string
  ssl: boolean
  xForwardedProtoHeader: boolean
}

/** `monitor.*` keys of the METRICS monitor. */
export interface MetricsProbeConfig {
  metricsEndpoint: string
  runningQueriesMetricName: string
  queuedQueriesMetricName: string
  metricMinimumValues: Readonly<Record<string, number>>
  metricMaximumValues: Readonly<Record<string, number>>
}

export interface ProbeContext {
  dispatcher: Dispatcher
  backendState: BackendStateConfig
  /** One HTTP exchange may take this long before the probe gives up. */
  requestTimeoutMs: number
  /** Extra attempts on 502/503/504 (`monitor.retries`; INFO_API and METRICS only). */
  retries: number
}

export type ClusterProbe = (backend: BackendRecord) => Promise<ProbeResult>

/** The result of a probe that learnt nothing but a status. */
export function statusOnly(trinoStatus: ProbeResult['trinoStatus'], problem?: string): ProbeResult {
  return {
    trinoStatus,
    runningQueryCount: 0,
    queuedQueryCount: 0,
    numWorkerNodes: 0,
    userQueuedCount: null,
    ...(problem === undefined ? {} : { problem }),
  }
}

/** A count from a cluster: a finite number >= 0, rounded down (metrics arrive as floats). */
export function countOf(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) return undefined
  return Math.floor(number)
}
