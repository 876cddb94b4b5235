/**
 * The cluster-stats probes by `clusterStatsConfiguration.monitorType` (INFO_API and NOOP stay in
 * the health monitor itself: they measure no counts).
 */
import { createJdbcProbe } from './jdbc.ts'
import { createJmxProbe } from './jmx.ts'
import { createMetricsProbe } from './metrics.ts'
import type { ClusterProbe, MetricsProbeConfig, ProbeContext } from './types.ts'
import { createUiApiProbe } from './ui-api.ts'

export { defaultMetricsProbeConfig } from './metrics.ts'
export type {
  BackendStateConfig,
  ClusterProbe,
  MetricsProbeConfig,
  ProbeContext,
  ProbeResult,
} from './types.ts'

/** The monitor types answered by a probe of this folder. */
export type StatsMonitorType = 'UI_API' | 'METRICS' | 'JMX' | 'JDBC'
export const statsMonitorTypes: readonly StatsMonitorType[] = ['UI_API', 'METRICS', 'JMX', 'JDBC']

export interface StatsProbeSettings {
  metrics: MetricsProbeConfig
  /** `monitor.queryTimeout` (JDBC). */
  queryTimeoutMs: number
}

export function createStatsProbe(
  monitorType: StatsMonitorType,
  context: ProbeContext,
  settings: StatsProbeSettings,
): ClusterProbe {
  switch (monitorType) {
    case 'UI_API':
      return createUiApiProbe(context)
    case 'METRICS':
      return createMetricsProbe(context, settings.metrics)
    case 'JMX':
      return createJmxProbe(context)
    case 'JDBC':
      return createJdbcProbe(context, { queryTimeoutMs: settings.queryTimeoutMs })
  }
}
