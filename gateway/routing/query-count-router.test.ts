import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pickIndex, rngFor } from '../../common/random.ts'
import type { TrinoStatus } from '../clusters/trino-status.ts'
import type { BackendRecord } from '../store/types.ts'
import {
  afterLocalPick,
  type LocalStats,
  loadKey,
  pickLeastLoaded,
  QueryCountBasedRouter,
} from './query-count-router.ts'
import { route } from './route.ts'

function backend(name: string, routingGroup: string): BackendRecord {
  return {
    name,
    routingGroup,
    proxyTo: `http://${name}.example:8080`,
    externalUrl: `http://${name}.example:8080`,
    active: true,
  }
}

function stats(running: number, queued: number, userQueuedCount: Record<string, number> = {}): LocalStats {
  return { runningQueryCount: running, queuedQueryCount: queued, userQueuedCount }
}

/**
 * Trino Gateway's TestQueryCountBasedRouter fixture (reference §4): groups adhoc and etl, each with
 * c1..c3 HEALTHY and queued 5, plus decoys that must never be chosen: an UNHEALTHY cluster with the
 * lowest counts, and a HEALTHY cluster the monitor has no stats for.
 */
function referenceFixture() {
  const router = new QueryCountBasedRouter()
  const backends: BackendRecord[] = []
  const status = new Map<string, TrinoStatus>()
  for (const group of ['adhoc', 'etl']) {
    const rows: Array<[string, number, Record<string, number>]> = [
      ['c1', 50, { u1: 5, u2: 10, u3: 2 }],
      ['c2', 51, { u1: 5, u2: 1, u3: 12 }],
      ['c3', 5, { u1: 5, u2: 2, u3: 6 }],
    ]
    for (const [suffix, running, users] of rows) {
      const name = `${group}-${suffix}`
      backends.push(backend(name, group))
      status.set(name, 'HEALTHY')
      router.updateClusterStats(name, stats(running, 5, users))
    }
    const unhealthy = `${group}-unhealthy`
    backends.push(backend(unhealthy, group))
    status.set(unhealthy, 'UNHEALTHY')
    router.updateClusterStats(unhealthy, stats(0, 0))
    const noStats = `${group}-no-stats`
    backends.push(backend(noStats, group))
    status.set(noStats, 'HEALTHY')
  }
  const pick = (group: string, user: string) => {
    const outcome = route({
      requestedGroup: group,
      defaultRoutingGroup: 'adhoc',
      backends,
      statusOf: (name) => status.get(name),
      picker: router,
      rng: rngFor(1, `${group}/${user}`),
      user,
    })
    if (!outcome.ok) throw new Error(outcome.reason)
    return outcome.backend.name
  }
  const add = (name: string, running: number, queued: number) => {
    backends.push(backend(name, 'adhoc'))
    status.set(name, 'HEALTHY')
    router.updateClusterStats(name, stats(running, queued))
  }
  return { router, pick, add }
}

describe('QueryCountBasedRouter: the expected picks of Trino Gateway (reference §4)', () => {
  it('makes every pick of the reference table, in order, with the local increments in between', () => {
    const { pick, add } = referenceFixture()
    const table: Array<[string, string, string, (() => void) | undefined]> = [
      // [group, user, expected, change before the call]
      ['etl', 'u1', 'etl-c3', undefined], // all tied on user and cluster queue; lowest running
      ['etl', 'u1', 'etl-c1', undefined], // c3's u1 queue became 6; c1 running 50 < c2 51
      ['adhoc', 'u2', 'adhoc-c2', undefined], // u2 queue 1 is lowest
      ['adhoc', 'u3', 'adhoc-c1', undefined], // u3 queue 2 is lowest
      ['adhoc', 'u101', 'adhoc-c3', undefined], // no user queue; equal cluster queue; lowest running
      ['NonExisting', 'u1', 'adhoc-c3', undefined], // falls back to adhoc
      ['adhoc', 'u1', 'c-Minimal-Queue', () => add('c-Minimal-Queue', 5, 1)], // lowest cluster queue
      ['adhoc', 'u1', 'c-Minimal-Running', () => add('c-Minimal-Running', 1, 1)], // queue tie; lower running
    ]
    const picks = table.map(([group, user, , change]) => {
      change?.()
      return pick(group, user)
    })
    expect(picks).toEqual(table.map(([, , expected]) => expected))
  })

  it('adds one queued query for the user when the user already had queued queries there', () => {
    const { router, pick } = referenceFixture()
    pick('etl', 'u1')
    expect(router.statsOf('etl-c3')).toEqual(stats(5, 5, { u1: 6, u2: 2, u3: 6 }))
  })

  it('adds one running query when the user had none queued on the chosen cluster', () => {
    const { router, pick } = referenceFixture()
    pick('adhoc', 'u101')
    expect(router.statsOf('adhoc-c3')).toEqual(stats(6, 5, { u1: 5, u2: 2, u3: 6 }))
  })

  it('never picks an UNHEALTHY cluster or one without stats while another candidate has stats', () => {
    const { pick } = referenceFixture()
    const seen = new Set<string>()
    for (let i = 0; i < 40; i++) seen.add(pick(i % 2 === 0 ? 'adhoc' : 'etl', `user${i % 5}`))
    expect([...seen].filter((name) => name.endsWith('unhealthy') || name.endsWith('no-stats'))).toEqual([])
  })
})

describe('QueryCountBasedRouter: local increments between refreshes', () => {
  const candidates = ['a', 'b', 'c'].map((name) => backend(name, 'adhoc'))
  const context = { rng: rngFor(1, 'q'), user: 'alice', routingGroup: 'adhoc' }

  it('spreads a burst over equally loaded clusters before the next monitor round', () => {
    const router = new QueryCountBasedRouter()
    for (const { name } of candidates) router.updateClusterStats(name, stats(0, 0))
    const picks = Array.from({ length: 6 }, () => router.pick(candidates, context).name)
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
  })

  it('forgets the local increments when the monitor reports fresh counts', () => {
    const router = new QueryCountBasedRouter()
    for (const { name } of candidates) router.updateClusterStats(name, stats(0, 0))
    router.pick(candidates, context)
    expect(router.statsOf('a')?.runningQueryCount).toBe(1)
    router.updateClusterStats('a', stats(0, 0))
    expect(router.statsOf('a')?.runningQueryCount).toBe(0)
    expect(router.pick(candidates, context).name).toBe('a')
  })

  it('counts clusters as idle when no candidate has stats, instead of failing as Trino Gateway #447', () => {
    const router = new QueryCountBasedRouter()
    expect([0, 1, 2].map(() => router.pick(candidates, context).name)).toEqual(['a', 'b', 'c'])
  })

  it("picks as one router would when two routers (workers) count each other's picks", () => {
    const reported: Array<[string, string | undefined]> = []
    const [first, second] = [0, 1].map(
      () => new QueryCountBasedRouter({ onPick: (name, user) => reported.push([name, user]) }),
    ) as [QueryCountBasedRouter, QueryCountBasedRouter]
    for (const router of [first, second])
      for (const { name } of candidates) router.updateClusterStats(name, stats(0, 0))
    const picks: string[] = []
    for (let query = 0; query < 6; query++) {
      const [picker, other] = query % 2 === 0 ? [first, second] : [second, first]
      picks.push(picker.pick(candidates, context).name)
      const [name, user] = reported.shift() as [string, string | undefined]
      other.recordPick(name, user)
    }
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
    expect(first.allStats()).toEqual(second.allStats())
    expect(reported).toEqual([])
  })

  it('leaves a cluster without stats alone when another process reports a pick of it', () => {
    const router = new QueryCountBasedRouter()
    router.recordPick('a', 'alice')
    expect(router.statsOf('a')).toBeUndefined()
  })

  it('refuses negative or fractional counts from a monitor', () => {
    const router = new QueryCountBasedRouter()
    expect(() => router.updateClusterStats('a', stats(-1, 0))).toThrow(/whole numbers >= 0/)
    expect(() => router.updateClusterStats('a', stats(0, 0.5))).toThrow(/cluster a/)
  })

  it('reads a user named like an Object.prototype member as a user with no queue', () => {
    expect(loadKey(stats(3, 2, {}), 'constructor')).toEqual([0, 2, 3])
    expect(afterLocalPick(stats(3, 2, {}), 'toString')).toEqual(stats(4, 2, {}))
  })
})

describe('routing.tieBreak: random (our extension)', () => {
  const tiedStats = new Map(['a', 'b', 'c', 'd'].map((name) => [name, stats(2, 1)] as const))
  const input = (key: string) => ({
    candidates: ['a', 'b', 'c', 'd'],
    stats: tiedStats,
    user: 'alice',
    tieBreak: 'random' as const,
    rng: rngFor(42, key),
  })

  it('draws among the tied clusters with the seeded PRNG, the same way for the same (seed, key)', () => {
    const first = Array.from({ length: 40 }, (_, i) => pickLeastLoaded(input(`q${i}`)).chosen)
    const again = Array.from({ length: 40 }, (_, i) => pickLeastLoaded(input(`q${i}`)).chosen)
    expect(again).toEqual(first)
    expect(new Set(first)).toEqual(new Set(['a', 'b', 'c', 'd']))
  })

  it('never draws a cluster that is not among the least loaded', () => {
    const loaded = new Map(tiedStats)
    loaded.set('b', stats(3, 1))
    const chosen = Array.from(
      { length: 40 },
      (_, i) => pickLeastLoaded({ ...input(`q${i}`), stats: loaded }).chosen,
    )
    expect(chosen).not.toContain('b')
    expect(pickLeastLoaded({ ...input('x'), stats: loaded }).tied).toBe(3)
  })
})

describe('pickLeastLoaded properties', () => {
  const statsArbitrary = fc.record({
    runningQueryCount: fc.nat(20),
    queuedQueryCount: fc.nat(5),
    userQueuedCount: fc.dictionary(fc.constantFrom('u1', 'u2'), fc.nat(3)),
  })
  const scenario = fc.record({
    entries: fc.array(fc.tuple(fc.boolean(), statsArbitrary), { minLength: 1, maxLength: 6 }),
    user: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
    tieBreak: fc.constantFrom('first' as const, 'random' as const),
    seed: fc.nat(),
  })

  it('chooses a candidate with stats whose key is minimal; with tieBreak first, the earliest such one', () => {
    fc.assert(
      fc.property(scenario, ({ entries, user, tieBreak, seed }) => {
        const candidates = entries.map((_, i) => `c${i}`)
        const map = new Map<string, LocalStats>(
          entries.flatMap(([has, s], i) => (has ? [[`c${i}`, s] as const] : [])),
        )
        const outcome = pickLeastLoaded({ candidates, stats: map, user, tieBreak, rng: rngFor(seed, 'p') })
        if (map.size === 0) return outcome.chosen === undefined
        const keys = candidates.flatMap((name) => {
          const s = map.get(name)
          return s === undefined ? [] : [{ name, key: loadKey(s, user).join(',') }]
        })
        const sorted = [...map.values()]
          .map((s) => loadKey(s, user))
          .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
        const minimum = sorted[0]?.join(',')
        const minimal = keys.filter((entry) => entry.key === minimum).map((entry) => entry.name)
        if (outcome.chosen === undefined || !minimal.includes(outcome.chosen)) return false
        if (outcome.tied !== minimal.length) return false
        // random: the tied candidate at one seeded draw's index, in candidate order (a replay of a
        // recorded decision depends on exactly this draw).
        const drawn = minimal.length > 1 ? pickIndex(rngFor(seed, 'p'), minimal.length) : 0
        return outcome.chosen === (tieBreak === 'random' ? minimal[drawn] : minimal[0])
      }),
    )
  })

  it('is a pure function: the same input gives the same pick and leaves the stats untouched', () => {
    fc.assert(
      fc.property(scenario, ({ entries, user, tieBreak, seed }) => {
        const candidates = entries.map((_, i) => `c${i}`)
        const map = new Map(entries.map(([, s], i) => [`c${i}`, s] as const))
        const before = JSON.stringify([...map])
        const a = pickLeastLoaded({ candidates, stats: map, user, tieBreak, rng: rngFor(seed, 'p') })
        const b = pickLeastLoaded({ candidates, stats: map, user, tieBreak, rng: rngFor(seed, 'p') })
        return JSON.stringify(a) === JSON.stringify(b) && JSON.stringify([...map]) === before
      }),
    )
  })

  it('increments exactly one count by one after a pick', () => {
    fc.assert(
      fc.property(
        statsArbitrary,
        fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
        (s, user) => {
          const next = afterLocalPick(s, user)
          const total = (x: LocalStats) =>
            x.runningQueryCount +
            x.queuedQueryCount +
            Object.values(x.userQueuedCount).reduce((a, b) => a + b, 0)
          return total(next) === total(s) + 1 && next.queuedQueryCount === s.queuedQueryCount
        },
      ),
    )
  })
})
