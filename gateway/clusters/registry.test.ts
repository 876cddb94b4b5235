import { describe, expect, it } from 'vitest'
import type { BackendRecord } from '../store/types.ts'
import { BackendRegistry } from './registry.ts'

const backend = (name: string, proxyTo = `http://${name}:8080`): BackendRecord => ({
  name,
  proxyTo,
  externalUrl: null,
  active: true,
  routingGroup: 'adhoc',
})

const healthyProbe = {
  trinoStatus: 'HEALTHY' as const,
  runningQueryCount: 0,
  queuedQueryCount: 0,
  numWorkerNodes: 0,
  userQueuedCount: null,
}

describe('backend registry', () => {
  it('reports a backend that was never probed as UNKNOWN with zero counts', () => {
    const registry = new BackendRegistry()
    registry.replaceFromStore([backend('a')], registry.listVersion)
    expect(registry.statsOf('a')).toMatchObject({
      clusterId: 'a',
      trinoStatus: 'UNKNOWN',
      runningQueryCount: 0,
    })
    expect(registry.statusOf('a')).toBeUndefined()
  })

  it('drops a probe result measured before a lifecycle change', () => {
    const registry = new BackendRegistry()
    registry.upsert(backend('a'), 'PENDING')
    const startedAt = registry.generationOf('a')
    registry.setStatus('a', 'UNKNOWN') // deactivated while the probe ran
    expect(registry.applyProbe('a', startedAt, healthyProbe)).toBe(false)
    expect(registry.statusOf('a')).toBe('UNKNOWN')
    expect(registry.applyProbe('a', registry.generationOf('a'), healthyProbe)).toBe(true)
    expect(registry.statusOf('a')).toBe('HEALTHY')
  })

  it('never resurrects the health of a deleted backend from a late probe', () => {
    const registry = new BackendRegistry()
    registry.upsert(backend('a'), 'PENDING')
    const startedAt = registry.generationOf('a')
    registry.remove('a')
    expect(registry.applyProbe('a', startedAt, healthyProbe)).toBe(false)
    expect(registry.statusOf('a')).toBeUndefined()
  })

  it('ignores a store read that began before a local change', () => {
    const registry = new BackendRegistry()
    const readAt = registry.listVersion
    registry.upsert(backend('new'), 'PENDING')
    expect(registry.replaceFromStore([], readAt)).toBe(false)
    expect(registry.list().map((row) => row.name)).toEqual(['new'])
  })

  it('discards in-flight probes of a backend whose URL another gateway changed', () => {
    const registry = new BackendRegistry()
    registry.upsert(backend('a'), 'PENDING')
    registry.applyProbe('a', registry.generationOf('a'), healthyProbe)
    const before = registry.generationOf('a')
    registry.replaceFromStore([backend('a', 'http://elsewhere:8080')], registry.listVersion)
    expect(registry.generationOf('a')).toBeGreaterThan(before)
    expect(registry.statsOf('a').proxyTo).toBe('http://elsewhere:8080')
  })

  it("takes another registry's snapshot whole, dropping backends the snapshot lacks", () => {
    const primary = new BackendRegistry()
    primary.upsert(backend('a'), 'PENDING')
    primary.applyProbe('a', primary.generationOf('a'), healthyProbe)
    primary.upsert(backend('b'), 'UNHEALTHY')
    const worker = new BackendRegistry()
    worker.upsert(backend('gone'), 'HEALTHY')
    const readAt = worker.listVersion
    worker.replaceWithSnapshot(primary.snapshot())
    expect(worker.list().map((row) => row.name)).toEqual(['a', 'b'])
    expect(worker.statsOf('a')).toEqual(primary.statsOf('a'))
    expect(worker.statusOf('b')).toBe('UNHEALTHY')
    expect(worker.statusOf('gone')).toBeUndefined()
    // A store read begun before the snapshot must not undo it.
    expect(worker.replaceFromStore([backend('gone')], readAt)).toBe(false)
  })

  it('tells its listeners of every change of the list or of a status', () => {
    const registry = new BackendRegistry()
    let changes = 0
    const unsubscribe = registry.onChange(() => changes++)
    registry.upsert(backend('a'), 'PENDING')
    registry.applyProbe('a', registry.generationOf('a'), healthyProbe)
    registry.remove('a')
    expect(changes).toBe(3)
    unsubscribe()
    registry.upsert(backend('a'), 'PENDING')
    expect(changes).toBe(3)
  })
})
