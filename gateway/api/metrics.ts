/**
 * `GET /metrics`: the gateway's own metrics as OpenMetrics text (Trino Gateway serves its Airlift
 * JMX metrics on the same path). Today that is the routing-rule file's health; a gateway without
 * a file selector answers an empty exposition.
 */
import type { FastifyInstance } from 'fastify'
import type { RulesMetrics, RulesStatus } from '../routing/rules/file-selector.ts'
import type { HistoryWriterStats } from '../store/history-writer.ts'

export const openMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8'

export interface MetricSample {
  labels?: Readonly<Record<string, string>>
  value: number
}

export interface MetricFamily {
  /** Without the `_total` suffix, which counters' samples carry. */
  name: string
  type: 'counter' | 'gauge'
  help: string
  samples: readonly MetricSample[]
}

/** What the file selector in force exposes; undefined when routing is not by a rules file. */
export interface RulesHealth {
  status: RulesStatus
  metrics: RulesMetrics
}

/** One process's query_history writer counts; `worker` names the data-plane worker (`workers` > 1). */
export interface HistoryStatsOf {
  worker?: number
  stats: HistoryWriterStats
}

export interface MetricsApiOptions {
  rulesHealth: () => RulesHealth | undefined
  /**
   * The query_history writers' counts: this process's alone, or with workers every worker's (the
   * primary gathers them, so any worker's answer shows the whole gateway). Absent in tests that
   * build the API alone.
   */
  historyStats?: () => Promise<readonly HistoryStatsOf[]>
}

export async function metricsApi(app: FastifyInstance, options: MetricsApiOptions): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const health = options.rulesHealth()
    const history = await options.historyStats?.()
    return reply
      .type(openMetricsContentType)
      .send(
        renderOpenMetrics([
          ...(history === undefined ? [] : historyMetricFamilies(history)),
          ...(health === undefined ? [] : rulesMetricFamilies(health)),
        ]),
      )
  })
}

/** The query_history families: a sample per process, labelled by worker when there are workers. */
export function historyMetricFamilies(writers: readonly HistoryStatsOf[]): MetricFamily[] {
  const samplesOf = (value: (stats: HistoryWriterStats) => number): MetricSample[] =>
    writers.map(({ worker, stats }): MetricSample => {
      const labels: Record<string, string> = { mode: stats.mode }
      if (worker !== undefined) labels.worker = String(worker)
      return { labels, value: value(stats) }
    })
  return [
    {
      name: 'trino_gateway_query_history_rows_pending',
      type: 'gauge',
      help: 'query_history rows accepted and not yet committed (write-behind buffer); a crash loses at most these.',
      samples: samplesOf((stats) => stats.pendingItems),
    },
    {
      name: 'trino_gateway_query_history_rows_written',
      type: 'counter',
      help: 'query_history rows committed.',
      samples: samplesOf((stats) => stats.writtenItems),
    },
    {
      name: 'trino_gateway_query_history_write_failures',
      type: 'counter',
      help: 'Background query_history writes that failed transiently; their rows stayed buffered and were retried.',
      samples: samplesOf((stats) => stats.writeFailures),
    },
    {
      name: 'trino_gateway_query_history_rows_rejected',
      type: 'counter',
      help: 'query_history rows the database refused on their own (bad data); dropped and logged.',
      samples: samplesOf((stats) => stats.rejectedItems),
    },
    {
      name: 'trino_gateway_query_history_buffer_waits',
      type: 'counter',
      help: 'Statement submissions that waited for room in a full write-behind buffer.',
      samples: samplesOf((stats) => stats.submitWaits),
    },
  ]
}

export function rulesMetricFamilies({ status, metrics }: RulesHealth): MetricFamily[] {
  return [
    {
      name: 'trino_gateway_routing_rules_reloads',
      type: 'counter',
      help: 'Reloads of the routing-rules file that changed the rules in force.',
      samples: [{ value: metrics.reloadsTotal }],
    },
    {
      name: 'trino_gateway_routing_rules_reload_failures',
      type: 'counter',
      help: 'Reloads of the routing-rules file that failed; the last good rules stayed in force.',
      samples: [{ value: metrics.reloadFailuresTotal }],
    },
    {
      name: 'trino_gateway_routing_rule_evaluation_errors',
      type: 'counter',
      help: 'Rules skipped for a request because they threw while evaluating, by rule name.',
      samples: Object.entries(metrics.evaluationErrorsByRule).map(([rule, value]) => ({
        labels: { rule },
        value,
      })),
    },
    {
      name: 'trino_gateway_routing_rules_stale',
      type: 'gauge',
      help: '1 while the file on disk failed to load and older rules are in force, else 0.',
      samples: [{ value: status.stale ? 1 : 0 }],
    },
    {
      name: 'trino_gateway_routing_rules',
      type: 'gauge',
      help: 'Rules in force.',
      samples: [{ value: status.ruleCount }],
    },
  ]
}

/** OpenMetrics text exposition: families in order, counters' samples suffixed `_total`, `# EOF` last. */
export function renderOpenMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = []
  for (const family of families) {
    lines.push(`# TYPE ${family.name} ${family.type}`)
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    const sampleName = family.type === 'counter' ? `${family.name}_total` : family.name
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {})
      const labelText =
        labels.length === 0
          ? ''
          : `{${labels.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(',')}}`
      lines.push(`${sampleName}${labelText} ${formatValue(sample.value)}`)
    }
  }
  lines.push('# EOF')
  return `${lines.join('\n')}\n`
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(text: string): string {
  return escapeLabelValue(text)
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(value)
}
