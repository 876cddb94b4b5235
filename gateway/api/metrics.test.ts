import { describe, expect, it } from 'vitest'
import type { HistoryWriterStats } from '../store/history-writer.ts'
import { historyMetricFamilies, renderOpenMetrics, rulesMetricFamilies } from './metrics.ts'

describe('OpenMetrics rendering', () => {
  it('suffixes counter samples with _total, escapes label values and ends with # EOF', () => {
    const text = renderOpenMetrics([
      {
        name: 'x_errors',
        type: 'counter',
        help: 'a "quoted" help\nline',
        samples: [{ labels: { rule: 'say "hi"\\\n' }, value: 2 }],
      },
      { name: 'x_up', type: 'gauge', help: 'up', samples: [{ value: 1 }] },
    ])
    expect(text).toBe(
      [
        '# TYPE x_errors counter',
        '# HELP x_errors a \\"quoted\\" help\\nline',
        'x_errors_total{rule="say \\"hi\\"\\\\\\n"} 2',
        '# TYPE x_up gauge',
        '# HELP x_up up',
        'x_up 1',
        '# EOF',
        '',
      ].join('\n'),
    )
  })

  it('turns the rules file status and counters into families', () => {
    const families = rulesMetricFamilies({
      status: {
        rulesConfigPath: '/r.yml',
        ruleCount: 3,
        contentSha256: 'abc',
        loadedAtMs: 0,
        lastError: { code: 'ROUTING_RULE_SYNTAX', message: 'bad', atMs: 1 },
        stale: true,
      },
      metrics: {
        reloadsTotal: 4,
        reloadFailuresTotal: 1,
        evaluationErrorsTotal: 5,
        evaluationErrorsByRule: { a: 2, b: 3 },
      },
    })
    const text = renderOpenMetrics(families)
    expect(text).toContain('trino_gateway_routing_rules_reloads_total 4\n')
    expect(text).toContain('trino_gateway_routing_rules_reload_failures_total 1\n')
    expect(text).toContain('trino_gateway_routing_rule_evaluation_errors_total{rule="a"} 2\n')
    expect(text).toContain('trino_gateway_routing_rule_evaluation_errors_total{rule="b"} 3\n')
    expect(text).toContain('trino_gateway_routing_rules_stale 1\n')
    expect(text).toContain('trino_gateway_routing_rules 3\n')
  })

  it('gives query_history a sample per process, labelled by worker only when there are workers', () => {
    const stats = (writtenItems: number): HistoryWriterStats => ({
      mode: 'write-behind',
      pendingItems: 1,
      writtenItems,
      writeFailures: 0,
      rejectedItems: 0,
      submitWaits: 0,
    })
    const written = (families: ReturnType<typeof historyMetricFamilies>) =>
      renderOpenMetrics(families)
        .split('\n')
        .filter((line) => line.startsWith('trino_gateway_query_history_rows_written_total'))
    expect(written(historyMetricFamilies([{ stats: stats(7) }]))).toEqual([
      'trino_gateway_query_history_rows_written_total{mode="write-behind"} 7',
    ])
    expect(
      written(
        historyMetricFamilies([
          { worker: 1, stats: stats(3) },
          { worker: 2, stats: stats(4) },
        ]),
      ),
    ).toEqual([
      'trino_gateway_query_history_rows_written_total{mode="write-behind",worker="1"} 3',
      'trino_gateway_query_history_rows_written_total{mode="write-behind",worker="2"} 4',
    ])
  })
})
