/**
 * METRICS monitor (reference §7): `GET {proxyTo}{metricsEndpoint}?name[]=…` in Prometheus text
 * format. HEALTHY when every metric it needs is present and every `metricMinimumValues` /
 * `metricMaximumValues` bound holds (inclusive); running and queued counts come from the configured
 * metric names. Anything else is UNHEALTHY.
 */
import type { BackendRecord } from '../../store/types.ts'
import { basicAuthorization, describeOutcome, exchangeWithRetries, urlOf } from './http.ts'
import {
  type ClusterProbe,
  countOf,
  type MetricsProbeConfig,
  type ProbeContext,
  type ProbeResult,
  statusOnly,
} from './types.ts'

/** Trino Gateway's defaults for the `monitor.*` METRICS keys. */
export const defaultMetricsProbeConfig: MetricsProbeConfig = {
  metricsEndpoint: '/metrics',
  runningQueriesMetricName: 'trino_execution_name_QueryManager_RunningQueries',
  queuedQueriesMetricName: 'trino_execution_name_QueryManager_QueuedQueries',
  metricMinimumValues: { trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount: 1 },
  metricMaximumValues: {},
}

const activeNodeCountMetric = 'trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount'

/** Every metric the probe must read: the two counts and every bounded one. */
export function requiredMetricNames(config: MetricsProbeConfig): string[] {
  return [
    ...new Set([
      config.runningQueriesMetricName,
      config.queuedQueriesMetricName,
      ...Object.keys(config.metricMinimumValues),
      ...Object.keys(config.metricMaximumValues),
    ]),
  ]
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(?:\s+-?\d+)?\s*$/

/**
 * Samples of a Prometheus text exposition, by metric name. Comments and blank lines are skipped;
 * a name repeated with labels keeps its first sample (Trino exports these gauges without labels).
 */
export function parsePrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = sampleLine.exec(line)
    if (match === null) continue
    const [, name, , valueText] = match as unknown as [string, string, string | undefined, string]
    const value = parseSampleValue(valueText)
    if (value !== undefined && !samples.has(name)) samples.set(name, value)
  }
  return samples
}

function parseSampleValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  const value = Number(text)
  return Number.isNaN(value) ? undefined : value
}

/** The pure decision: samples → status and counts. */
export function statsFromMetrics(
  samples: ReadonlyMap<string, number>,
  config: MetricsProbeConfig,
): ProbeResult {
  const missing = requiredMetricNames(config).filter((name) => !samples.has(name))
  if (missing.length > 0) return statusOnly('UNHEALTHY', `metrics missing: ${missing.join(', ')}`)
  const violations: string[] = []
  for (const [name, minimum] of Object.entries(config.metricMinimumValues)) {
    const value = samples.get(name) as number
    if (!(value >= minimum)) violations.push(`${name} = ${value}, expected at least ${minimum}`)
  }
  for (const [name, maximum] of Object.entries(config.metricMaximumValues)) {
    const value = samples.get(name) as number
    if (!(value <= maximum)) violations.push(`${name} = ${value}, expected at most ${maximum}`)
  }
  if (violations.length > 0) return statusOnly('UNHEALTHY', violations.join('; '))
  const running = countOf(samples.get(config.runningQueriesMetricName))
  const queued = countOf(samples.get(config.queuedQueriesMetricName))
  if (running === undefined || queued === undefined) {
    return statusOnly('UNHEALTHY', 'the running or queued query metric is not a count >= 0')
  }
  return {
    trinoStatus: 'HEALTHY',
    runningQueryCount: running,
    queuedQueryCount: queued,
    numWorkerNodes: countOf(samples.get(activeNodeCountMetric)) ?? 0,
    userQueuedCount: null,
  }
}

/** `Authorization: Basic` when a password is set, else `X-Trino-User`; `X-Forwarded-Proto` on request. */
export function metricsRequestHeaders(context: ProbeContext): Record<string, string> {
  const { username, password, xForwardedProtoHeader } = context.backendState
  const headers: Record<string, string> = { accept: 'text/plain' }
  if (password !== '') headers.authorization = basicAuthorization(username, password)
  else headers['x-trino-user'] = username
  if (xForwardedProtoHeader) headers['x-forwarded-proto'] = 'https'
  return headers
}

export function createMetricsProbe(context: ProbeContext, config: MetricsProbeConfig): ClusterProbe {
  const query = requiredMetricNames(config)
    .map((name) => `name[]=${encodeURIComponent(name)}`)
    .join('&')
  const headers = metricsRequestHeaders(context)
  return async (backend: BackendRecord) => {
    const outcome = await exchangeWithRetries(
      context.dispatcher,
      { method: 'GET', url: urlOf(backend.proxyTo, `${config.metricsEndpoint}?${query}`), headers },
      context.requestTimeoutMs,
      context.retries,
    )
    if (outcome.kind !== 'response' || outcome.statusCode !== 200) {
      return statusOnly('UNHEALTHY', describeOutcome(`GET ${config.metricsEndpoint}`, outcome))
    }
    return statsFromMetrics(parsePrometheusText(outcome.text), config)
  }
}
