import { describe, expect, it } from 'vitest'
import type { BackendRecord, QueryHistoryRecord } from '../store/types.ts'
import { QueryIdCache } from './query-id-cache.ts'
import { findBackendForQueryId } from './sticky.ts'

const b1: BackendRecord = {
  name: 'b1',
  routingGroup: 'adhoc',
  proxyTo: 'http://b1',
  externalUrl: null,
  active: true,
}
const b2: BackendRecord = {
  name: 'b2',
  routingGroup: 'etl',
  proxyTo: 'http://b2',
  externalUrl: null,
  active: false,
}

function history(rows: QueryHistoryRecord[] = []) {
  return { findByQueryId: async (id: string) => rows.find((row) => row.queryId === id) }
}

describe('sticky lookup', () => {
  it('answers from the cache first', async () => {
    const cache = new QueryIdCache()
    cache.set({ queryId: 'q', backendUrl: 'http://b2', routingGroup: 'etl', externalUrl: null })
    const lookup = await findBackendForQueryId('q', {
      cache,
      history: { findByQueryId: () => Promise.reject(new Error('must not be read')) },
      backends: () => [b1, b2],
      probe: () => Promise.reject(new Error('must not probe')),
    })
    expect(lookup).toMatchObject({ found: true, source: 'cache', target: { backendUrl: 'http://b2' } })
  })

  it('reads query_history on a cache miss and caches the answer', async () => {
    const cache = new QueryIdCache()
    const row: QueryHistoryRecord = {
      queryId: 'q',
      queryText: 'SELECT 1',
      created: 1,
      backendUrl: 'http://b2',
      userName: 'u',
      source: null,
      routingGroup: 'etl',
      externalUrl: null,
    }
    const lookup = await findBackendForQueryId('q', {
      cache,
      history: history([row]),
      backends: () => [],
      probe: async () => false,
    })
    expect(lookup).toMatchObject({ found: true, source: 'history', target: { backendUrl: 'http://b2' } })
    expect(cache.get('q')?.backendUrl).toBe('http://b2')
  })

  it('waits for a slow probe answer instead of checking futures at once (#1241)', async () => {
    const lookup = await findBackendForQueryId('q', {
      cache: new QueryIdCache(),
      history: history(),
      backends: () => [b1, b2],
      probe: (backend) =>
        new Promise((resolve) =>
          setTimeout(() => resolve(backend.name === 'b2'), backend.name === 'b2' ? 50 : 1),
        ),
    })
    expect(lookup).toMatchObject({ found: true, source: 'probe', target: { backendUrl: 'http://b2' } })
  })

  it('probes inactive backends too, and tolerates a probe that throws', async () => {
    const lookup = await findBackendForQueryId('q', {
      cache: new QueryIdCache(),
      history: { findByQueryId: () => Promise.reject(new Error('db down')) },
      backends: () => [b1, b2],
      probe: async (backend) => {
        if (backend.name === 'b1') throw new Error('refused')
        return true
      },
    })
    expect(lookup).toMatchObject({ found: true, target: { backendUrl: 'http://b2' } })
  })

  it('reports an unknown id as not found, never guessing a backend', async () => {
    const lookup = await findBackendForQueryId('q', {
      cache: new QueryIdCache(),
      history: history(),
      backends: () => [b1, b2],
      probe: async () => false,
    })
    expect(lookup).toEqual({ found: false, probed: 2 })
  })
})

describe('query-id cache', () => {
  it('keeps at most its limit, evicting the least recently used', () => {
    const cache = new QueryIdCache(2)
    const target = (queryId: string) => ({
      queryId,
      backendUrl: 'http://b',
      routingGroup: null,
      externalUrl: null,
    })
    cache.set(target('a'))
    cache.set(target('b'))
    cache.get('a')
    cache.set(target('c'))
    expect(cache.size).toBe(2)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBeDefined()
    expect(cache.get('c')).toBeDefined()
  })
})
