/**
 * The health monitor a config asks for: its type, delay, retries, thresholds and (UI_API, METRICS,
 * JMX, JDBC) stats probe. One gateway process builds it; with `workers` > 1 that is the primary.
 */
import type { Dispatcher } from 'undici'
import type { GatewayConfig } from '../config.ts'
import type { BackendStore } from '../store/types.ts'
import {
  type ClusterStatsListener,
  createHealthMonitor,
  type HealthMonitor,
  infoProbeTimeoutMs,
  type MonitorLogger,
} from './monitor.ts'
import { createStatsProbe, type StatsMonitorType, statsMonitorTypes } from './probes/index.ts'
import type { BackendRegistry } from './registry.ts'

export interface MonitorFromConfigOptions {
  config: GatewayConfig
  registry: BackendRegistry
  backends: Pick<BackendStore, 'list'>
  dispatcher: Dispatcher
  logger: MonitorLogger
  onStats?: ClusterStatsListener | undefined
  onRound?: (() => void) | undefined
}

export function createMonitorFromConfig(options: MonitorFromConfigOptions): HealthMonitor {
  const { config, dispatcher } = options
  const { monitorType } = config.clusterStatsConfiguration
  const statsProbe = statsMonitorTypes.includes(monitorType as StatsMonitorType)
    ? createStatsProbe(
        monitorType as StatsMonitorType,
        {
          dispatcher,
          backendState: requireBackendState(config),
          requestTimeoutMs: infoProbeTimeoutMs,
          retries: config.monitor.retries,
        },
        { metrics: config.monitor, queryTimeoutMs: config.monitor.queryTimeoutMs },
      )
    : undefined
  return createHealthMonitor({
    registry: options.registry,
    backends: options.backends,
    monitorType,
    taskDelayMs: config.monitor.taskDelayMs,
    retries: config.monitor.retries,
    dispatcher,
    logger: options.logger,
    statsProbe,
    thresholds: config.monitor,
    onStats: options.onStats,
    onRound: options.onRound,
  })
}

/** The config refuses the stats monitors without backendState; a config built in code may not. */
function requireBackendState(config: GatewayConfig): NonNullable<GatewayConfig['backendState']> {
  if (config.backendState === undefined) {
    throw new Error(
      `BackendStateConfiguration is required for monitor type: ${config.clusterStatsConfiguration.monitorType}`,
    )
  }
  return config.backendState
}
