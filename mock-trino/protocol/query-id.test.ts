import { describe, expect, it } from 'vitest'
import { coordinatorSuffix, QueryIdGenerator, queryIdPattern } from './query-id.ts'

describe('query ids', () => {
  it('follow Trino format YYYYMMdd_HHmmss_NNNNN_ccccc in UTC', () => {
    const ids = new QueryIdGenerator('abcde')
    expect(ids.next(Date.UTC(2024, 0, 1, 12, 34, 56))).toBe('20240101_123456_00001_abcde')
    expect(ids.next(Date.UTC(2024, 0, 1, 12, 34, 57))).toBe('20240101_123457_00002_abcde')
    expect(ids.next(Date.UTC(2024, 0, 2, 0, 0, 0))).toBe('20240102_000000_00001_abcde')
  })

  it('use a per-coordinator suffix from Trino alphabet, the same for the same seed and name', () => {
    const suffix = coordinatorSuffix(42, 'trino-a')
    expect(suffix).toBe(coordinatorSuffix(42, 'trino-a'))
    expect(`20240101_000000_00001_${suffix}`).toMatch(queryIdPattern)
  })

  it('stay unique past 99,999 queries in one second', () => {
    const ids = new QueryIdGenerator('abcde')
    const seen = new Set<string>()
    const nowMs = Date.UTC(2024, 0, 1)
    for (let i = 0; i < 250_000; i++) seen.add(ids.next(nowMs))
    expect(seen.size).toBe(250_000)
    for (const id of [...seen].slice(-3)) expect(id).toMatch(queryIdPattern)
  })
})
