import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { statsFromRuntimeQueries } from './jdbc.ts'
import { statsFromJmx } from './jmx.ts'
import {
  defaultMetricsProbeConfig,
  parsePrometheusText,
  requiredMetricNames,
  statsFromMetrics,
} from './metrics.ts'
import { statsFromUiApi, userQueuedCounts } from './ui-api.ts'

const running = 'trino_execution_name_QueryManager_RunningQueries'
const queued = 'trino_execution_name_QueryManager_QueuedQueries'
const activeNodes = 'trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount'

describe('METRICS: Prometheus text', () => {
  it('reads samples with and without labels and timestamps, skipping comments', () => {
    const text = [
      '# HELP x y',
      `# TYPE ${running} gauge`,
      `${running} 3.0`,
      `${queued}{cluster="a"} 7 1700000000000`,
      'weird line without value',
      `${activeNodes} +Inf`,
      '',
    ].join('\n')
    expect([...parsePrometheusText(text)]).toEqual([
      [running, 3],
      [queued, 7],
      [activeNodes, Number.POSITIVE_INFINITY],
    ])
  })

  it('reads back every sample it is given, whatever the order and comments', () => {
    const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/)
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, fc.double({ noNaN: true, noDefaultInfinity: true })), {
          selector: ([n]) => n,
          maxLength: 10,
        }),
        (samples) => {
          const text = samples.map(([n, v]) => `# TYPE ${n} gauge\n${n} ${v}`).join('\n')
          const parsed = parsePrometheusText(text)
          return samples.every(([n, v]) => Object.is(parsed.get(n), v === 0 ? 0 : v) || parsed.get(n) === v)
        },
      ),
    )
  })
})

describe('METRICS: bounds (reference §7 test cases)', () => {
  const samples = new Map([
    [running, 2],
    [queued, 5],
    [activeNodes, 1],
  ])
  it.each([
    [{ [activeNodes]: 100 }, {}, 'UNHEALTHY'],
    [{}, { [activeNodes]: 0.5 }, 'UNHEALTHY'],
    [{ [activeNodes]: 0.5 }, {}, 'HEALTHY'],
    [{}, { [activeNodes]: 100 }, 'HEALTHY'],
    [{ [activeNodes]: 1 }, { [activeNodes]: 1 }, 'HEALTHY'], // inclusive at both ends
  ])('minimum %j, maximum %j → %s', (metricMinimumValues, metricMaximumValues, status) => {
    const result = statsFromMetrics(samples, {
      ...defaultMetricsProbeConfig,
      metricMinimumValues,
      metricMaximumValues,
    })
    expect(result.trinoStatus).toBe(status)
  })

  it('reads the counts from the configured metric names', () => {
    expect(statsFromMetrics(samples, defaultMetricsProbeConfig)).toMatchObject({
      trinoStatus: 'HEALTHY',
      runningQueryCount: 2,
      queuedQueryCount: 5,
      numWorkerNodes: 1,
    })
    const renamed = {
      ...defaultMetricsProbeConfig,
      runningQueriesMetricName: 'my_running',
      queuedQueriesMetricName: 'my_queued',
    }
    expect(
      statsFromMetrics(new Map([...samples, ['my_running', 9], ['my_queued', 4]]), renamed),
    ).toMatchObject({
      runningQueryCount: 9,
      queuedQueryCount: 4,
    })
  })

  it('is UNHEALTHY when a required metric is missing, naming it', () => {
    const result = statsFromMetrics(new Map([[running, 1]]), defaultMetricsProbeConfig)
    expect(result.trinoStatus).toBe('UNHEALTHY')
    expect(result.problem).toContain(queued)
    expect(requiredMetricNames(defaultMetricsProbeConfig)).toEqual([running, queued, activeNodes])
  })
})

describe('JMX beans', () => {
  const bean = (attributes: Record<string, unknown>) => ({
    attributes: Object.entries(attributes).map(([name, value]) => ({ name, value })),
  })
  it('is HEALTHY with counts when there are active nodes', () => {
    expect(statsFromJmx(bean({ ActiveNodeCount: 3 }), bean({ RunningQueries: 4, QueuedQueries: 1 }))).toEqual(
      {
        trinoStatus: 'HEALTHY',
        runningQueryCount: 4,
        queuedQueryCount: 1,
        numWorkerNodes: 3,
        userQueuedCount: null,
      },
    )
  })
  it.each([
    ['no active nodes', bean({ ActiveNodeCount: 0 }), bean({ RunningQueries: 0, QueuedQueries: 0 })],
    ['not a bean', { hello: 1 }, bean({ RunningQueries: 0, QueuedQueries: 0 })],
    ['no counts', bean({ ActiveNodeCount: 1 }), bean({})],
    ['a negative count', bean({ ActiveNodeCount: 1 }), bean({ RunningQueries: -1, QueuedQueries: 0 })],
  ])('is UNHEALTHY with %s', (_what, nodes, queries) => {
    expect(statsFromJmx(nodes, queries).trinoStatus).toBe('UNHEALTHY')
  })
})

describe('UI_API', () => {
  const stats = { activeWorkers: 2, runningQueries: 3, queuedQueries: 2 }
  it('counts queued queries per session user', () => {
    const result = statsFromUiApi(stats, [
      { sessionUser: 'alice' },
      { sessionUser: 'bob' },
      { sessionUser: 'alice' },
    ])
    expect(result).toEqual({
      trinoStatus: 'HEALTHY',
      runningQueryCount: 3,
      queuedQueryCount: 2,
      numWorkerNodes: 2,
      userQueuedCount: { alice: 2, bob: 1 },
    })
  })
  it('is UNHEALTHY without active workers and UNKNOWN on bodies it cannot read', () => {
    expect(statsFromUiApi({ ...stats, activeWorkers: 0 }, []).trinoStatus).toBe('UNHEALTHY')
    expect(statsFromUiApi('<html>', []).trinoStatus).toBe('UNKNOWN')
    expect(statsFromUiApi(stats, { not: 'a list' }).trinoStatus).toBe('UNKNOWN')
  })
  it('keeps a user named like an Object.prototype member as a plain key', () => {
    expect(userQueuedCounts([{ sessionUser: '__proto__' }, { sessionUser: 'constructor' }])).toEqual(
      JSON.parse('{"__proto__":1,"constructor":1}'),
    )
  })
})

describe('JDBC result set', () => {
  it('sums RUNNING and QUEUED rows and ignores other states', () => {
    expect(
      statsFromRuntimeQueries(
        ['state', 'count'],
        [
          ['RUNNING', 3],
          ['QUEUED', 2],
          ['FINISHED', 40],
        ],
      ),
    ).toMatchObject({ trinoStatus: 'HEALTHY', runningQueryCount: 3, queuedQueryCount: 2 })
  })
  it('is UNKNOWN on a result set of another shape', () => {
    expect(statsFromRuntimeQueries(['query_id'], [['x']]).trinoStatus).toBe('UNKNOWN')
    expect(statsFromRuntimeQueries(['state', 'count'], [['RUNNING', 'many']]).trinoStatus).toBe('UNKNOWN')
  })
})
