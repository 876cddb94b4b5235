import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BackendRecord } from '../store/types.ts'
import { type FakeTrino, startFakeTrino } from '../test-support/fake-trino.ts'
import { createHealthMonitor, type MonitorType } from './monitor.ts'
import { BackendRegistry } from './registry.ts'

const silent = { debug() {}, warn() {} }
let trino: FakeTrino
const dispatcher = new Agent()

beforeAll(async () => {
  trino = await startFakeTrino('mon')
})
afterAll(async () => {
  await trino.close()
  await dispatcher.close()
})

function monitorOf(backends: BackendRecord[], monitorType: MonitorType, retries = 0) {
  const registry = new BackendRegistry()
  const monitor = createHealthMonitor({
    registry,
    backends: { list: async () => backends },
    monitorType,
    taskDelayMs: 3_600_000,
    retries,
    dispatcher,
    logger: silent,
  })
  return { registry, monitor }
}

const backend = (name: string, proxyTo: string, active = true): BackendRecord => ({
  name,
  proxyTo,
  externalUrl: null,
  active,
  routingGroup: 'adhoc',
})

describe('health monitor', () => {
  it('probes every backend, inactive ones included, and is ready after the first round', async () => {
    const { registry, monitor } = monitorOf(
      [backend('up', trino.url), backend('off', trino.url, false), backend('down', 'http://127.0.0.1:1')],
      'INFO_API',
    )
    expect(monitor.ready).toBe(false)
    await monitor.runRound()
    expect(monitor.ready).toBe(true)
    expect([registry.statusOf('up'), registry.statusOf('off'), registry.statusOf('down')]).toEqual([
      'HEALTHY',
      'HEALTHY',
      'UNHEALTHY',
    ])
    await monitor.close()
  })

  it('retries /v1/info on 503 up to monitor.retries times, then reports UNHEALTHY', async () => {
    trino.setInfo({ statusCode: 503 })
    try {
      const { registry, monitor } = monitorOf([backend('flaky', trino.url)], 'INFO_API', 2)
      const before = trino.requests.filter((request) => request.url === '/v1/info').length
      await monitor.runRound()
      expect(trino.requests.filter((request) => request.url === '/v1/info').length - before).toBe(3)
      expect(registry.statusOf('flaky')).toBe('UNHEALTHY')
      await monitor.close()
    } finally {
      trino.setInfo({})
    }
  })

  it('calls every backend HEALTHY with NOOP, even a dead port', async () => {
    const { registry, monitor } = monitorOf([backend('dead', 'http://127.0.0.1:1')], 'NOOP')
    await monitor.runRound()
    expect(registry.statusOf('dead')).toBe('HEALTHY')
    await monitor.close()
  })

  it('keeps the last backend list when the store cannot be read', async () => {
    const registry = new BackendRegistry()
    registry.upsert(backend('kept', trino.url), 'PENDING')
    const monitor = createHealthMonitor({
      registry,
      backends: { list: () => Promise.reject(new Error('database down')) },
      monitorType: 'INFO_API',
      taskDelayMs: 3_600_000,
      retries: 0,
      dispatcher,
      logger: silent,
    })
    await monitor.runRound()
    expect(registry.statusOf('kept')).toBe('HEALTHY')
    await monitor.close()
  })
})
