import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rngFor } from '../../common/random.ts'
import type { TrinoStatus } from '../clusters/trino-status.ts'
import type { BackendRecord } from '../store/types.ts'
import { pickRandomBackend, randomBackendPicker } from './backend-picker.ts'
import { createHeaderRoutingGroupSelector } from './header-selector.ts'
import { route } from './route.ts'

function backend(name: string, routingGroup: string, active = true): BackendRecord {
  return { name, routingGroup, proxyTo: `http://${name}:8080`, externalUrl: null, active }
}

const backends = [
  backend('a1', 'adhoc'),
  backend('a2', 'adhoc', false),
  backend('e1', 'etl'),
  backend('e2', 'etl'),
]

function routeTo(group: string | undefined, statuses: Record<string, TrinoStatus>, seed = 1) {
  return route({
    requestedGroup: group,
    defaultRoutingGroup: 'adhoc',
    backends,
    statusOf: (name) => statuses[name],
    picker: randomBackendPicker,
    rng: rngFor(seed, 'trace'),
    user: 'alice',
  })
}

const allHealthy: Record<string, TrinoStatus> = { a1: 'HEALTHY', a2: 'HEALTHY', e1: 'HEALTHY', e2: 'HEALTHY' }

describe('routing inside and across groups', () => {
  it('routes to a backend of the requested group', () => {
    const outcome = routeTo('etl', allHealthy)
    expect(outcome.ok && outcome.backend.routingGroup).toBe('etl')
    expect(outcome.fallback).toBe(false)
  })

  it('routes to the default group when no group is requested', () => {
    const outcome = routeTo(undefined, allHealthy)
    expect(outcome.ok && outcome.backend.name).toBe('a1')
  })

  it('never routes to an inactive backend, even when HEALTHY', () => {
    for (let seed = 0; seed < 50; seed++) {
      const outcome = routeTo('adhoc', allHealthy, seed)
      expect(outcome.ok && outcome.backend.name).toBe('a1')
    }
  })

  it('routes to the default group when the named group has no healthy backend', () => {
    const outcome = routeTo('etl', { ...allHealthy, e1: 'UNHEALTHY', e2: 'PENDING' })
    expect(outcome.ok && outcome.backend.name).toBe('a1')
    expect(outcome.fallback).toBe(true)
    expect(outcome.reason).toContain('e1: active, UNHEALTHY')
  })

  it('routes an unknown group like an empty one', () => {
    const outcome = routeTo('nosuch', allHealthy)
    expect(outcome.ok && outcome.backend.name).toBe('a1')
    expect(outcome.reason).toContain('"nosuch" has no backends')
  })

  it('fails naming both groups and why when the default group is empty too', () => {
    const outcome = routeTo('etl', { e1: 'UNHEALTHY', e2: 'UNKNOWN', a1: 'PENDING' })
    expect(outcome.ok).toBe(false)
    expect(outcome.reason).toContain('"etl"')
    expect(outcome.reason).toContain('default group "adhoc"')
    expect(outcome.reason).toContain('a1: active, PENDING')
  })

  it('treats a backend that was never probed as not routable', () => {
    expect(routeTo(undefined, {}).ok).toBe(false)
  })
})

describe('random backend choice', () => {
  it('chooses the same backend for the same seed and trace token', () => {
    const candidates = [backend('x', 'g'), backend('y', 'g'), backend('z', 'g')]
    fc.assert(
      fc.property(fc.integer(), fc.string(), (seed, token) => {
        expect(pickRandomBackend(candidates, rngFor(seed, token))).toBe(
          pickRandomBackend(candidates, rngFor(seed, token)),
        )
      }),
    )
  })

  it('reaches every candidate over many trace tokens', () => {
    const candidates = [backend('x', 'g'), backend('y', 'g'), backend('z', 'g')]
    const chosen = new Set<string>()
    for (let i = 0; i < 200; i++) chosen.add(pickRandomBackend(candidates, rngFor(7, `t${i}`)).name)
    expect([...chosen].sort()).toEqual(['x', 'y', 'z'])
  })

  it('always chooses the only healthy backend (TestStochasticRoutingManager)', () => {
    const many = [0, 1, 2, 3, 4].map((i) => backend(`test_group${i}`, 'g'))
    for (let seed = 0; seed < 20; seed++) {
      const outcome = route({
        requestedGroup: 'g',
        defaultRoutingGroup: 'g',
        backends: many,
        statusOf: (name) => (name === 'test_group0' ? 'HEALTHY' : 'UNHEALTHY'),
        picker: randomBackendPicker,
        rng: rngFor(seed, 'k'),
        user: undefined,
      })
      expect(outcome.ok && outcome.backend.name).toBe('test_group0')
    }
  })
})

describe('header routing-group selector', () => {
  const selector = createHeaderRoutingGroupSelector()
  const request = (headers: Record<string, string>) => ({
    method: 'POST',
    path: '/v1/statement',
    queryString: '',
    headers,
    body: 'SELECT 1',
    remoteAddress: '127.0.0.1',
  })

  it('reads X-Trino-Routing-Group', () => {
    expect(selector.select(request({ 'x-trino-routing-group': 'etl' }))).toEqual({ routingGroup: 'etl' })
  })

  it('leaves the group to the default when the header is absent or blank', () => {
    expect(selector.select(request({}))).toEqual({ routingGroup: undefined })
    expect(selector.select(request({ 'x-trino-routing-group': ' ' }))).toEqual({ routingGroup: undefined })
  })
})
