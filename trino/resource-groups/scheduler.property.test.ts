// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Trino resource-group templates are written ${USER}
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ResourceGroupSpec, ResourceGroupsConfig, SchedulingPolicy } from './config.ts'
import { createResourceGroupScheduler, type ResourceGroupScheduler } from './scheduler.ts'
import { query } from './test-helpers.ts'

const policy = fc.constantFrom<SchedulingPolicy>('fair', 'weighted', 'weighted_fair', 'query_priority')
const limits = fc.record({
  // Mostly small non-zero limits so that queues form; zero limits still occur.
  maxQueued: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) },
  ),
  hardConcurrencyLimit: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) },
  ),
  weight: fc.integer({ min: 1, max: 9 }),
  softCpu: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
  memoryPercent: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
})

/** A root with three children, one of them templated per user, under any policy mix Trino accepts. */
const configArbitrary = fc
  .record({
    rootPolicy: policy,
    childPolicy: policy,
    root: limits,
    children: fc.array(limits, { minLength: 4, maxLength: 4 }),
  })
  .map(({ rootPolicy, childPolicy, root, children }): ResourceGroupsConfig => {
    const weighted = rootPolicy === 'weighted' || rootPolicy === 'weighted_fair'
    const spec = (
      name: string,
      l: typeof root,
      subGroups?: ResourceGroupSpec[],
      weightAllowed = false,
    ): ResourceGroupSpec => ({
      name,
      maxQueued: l.maxQueued,
      hardConcurrencyLimit: l.hardConcurrencyLimit,
      softConcurrencyLimit: Math.min(l.hardConcurrencyLimit, l.weight % 3),
      ...(weightAllowed ? { schedulingWeight: l.weight } : {}),
      ...(l.softCpu === undefined
        ? {}
        : { softCpuLimit: `${l.softCpu}s`, hardCpuLimit: `${l.softCpu * 2}s` }),
      ...(l.memoryPercent === undefined ? {} : { softMemoryLimit: `${l.memoryPercent}%` }),
      ...(subGroups === undefined ? {} : { subGroups }),
    })
    const [c0, c1, c2, perUser] = children as [typeof root, typeof root, typeof root, typeof root]
    const nestedPolicy: SchedulingPolicy = rootPolicy === 'query_priority' ? 'query_priority' : childPolicy
    const nestedWeighted = nestedPolicy === 'weighted' || nestedPolicy === 'weighted_fair'
    const templated = spec('u_${USER}', perUser, undefined, nestedWeighted)
    const nested: ResourceGroupSpec = {
      ...spec('c2', c2, [templated], weighted),
      schedulingPolicy: nestedPolicy,
    }
    return {
      rootGroups: [
        {
          ...spec('r', {
            ...root,
            maxQueued: root.maxQueued * 3,
            hardConcurrencyLimit: root.hardConcurrencyLimit * 2,
          }),
          schedulingPolicy: rootPolicy,
          subGroups: [
            spec('c0', c0, undefined, weighted),
            spec('c1', c1, undefined, weighted),
            nested as ResourceGroupSpec,
          ],
        },
      ],
      selectors: [
        { user: 'u0', group: 'r.c0' },
        { user: 'u1', group: 'r.c1' },
        { user: 'u[234]', group: 'r.c2.u_${USER}' },
      ],
      cpuQuotaPeriod: '10s',
    }
  })

type Operation =
  | { kind: 'submit'; user: number; priority: number }
  | { kind: 'release'; pick: number; cpuTimeMs: number }
  | { kind: 'tick'; advanceMs: number }
  | { kind: 'usage'; pick: number; cpuTimeMs: number; memoryBytes: number }
  | { kind: 'memoryPool'; bytes: number }
  | { kind: 'reconfigure'; pick: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      user: fc.integer({ min: 0, max: 5 }),
      priority: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      pick: fc.nat(),
      cpuTimeMs: fc.integer({ min: 0, max: 30_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      advanceMs: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('usage' as const),
      pick: fc.nat(),
      cpuTimeMs: fc.integer({ min: 0, max: 30_000 }),
      memoryBytes: fc.integer({ min: 0, max: 1500 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('memoryPool' as const),
      bytes: fc.integer({ min: 0, max: 4000 }),
    }),
  },
)

type Fate = 'queued' | 'running' | 'rejected' | 'released'

function checkLimitsAndProgress(
  scheduler: ResourceGroupScheduler,
  fates: Map<string, Fate>,
  checkLimits: boolean,
): void {
  scheduler.checkInvariants()
  // A new configuration may lower limits below what already runs or waits (Trino keeps those).
  for (const id of checkLimits ? scheduler.groupIds() : []) {
    const group = scheduler.groupSnapshot(id)
    if (group === undefined) throw new Error(`listed group ${id.join('.')} has no snapshot`)
    expect(group.numRunningQueries, `running in ${id.join('.')}`).toBeLessThanOrEqual(
      group.hardConcurrencyLimit,
    )
    expect(group.numQueuedQueries, `queued in ${id.join('.')}`).toBeLessThanOrEqual(group.maxQueuedQueries)
  }
  for (const [queryId, fate] of fates) {
    const info = scheduler.queryInfo(queryId)
    if (fate === 'queued' || fate === 'running') expect(info?.state, queryId).toBe(fate)
    else expect(info, queryId).toBeUndefined()
    if (fate !== 'queued' || info === undefined) continue
    // No query waits while every group on its path could run one more.
    const path = info.resourceGroupId.map((_, depth) => info.resourceGroupId.slice(0, depth + 1))
    const blocked = path.some((id) => scheduler.groupSnapshot(id)?.state !== 'CAN_RUN')
    expect(
      blocked,
      `${queryId} waits in ${info.resourceGroupId.join('.')} although all its groups can run`,
    ).toBe(true)
  }
}

describe('resource-group scheduler properties', () => {
  it('never exceeds a limit, never lets a runnable query wait, and gives every query exactly one outcome, across reconfigurations', () => {
    fc.assert(
      fc.property(
        configArbitrary,
        fc.array(configArbitrary, { minLength: 1, maxLength: 3 }),
        fc.array(operation, { minLength: 10, maxLength: 120 }),
        fc.integer(),
        (config, alternatives, operations, seed) => {
          const scheduler = createResourceGroupScheduler(config, { seed, clusterMemoryBytes: 2000 })
          const fates = new Map<string, Fate>()
          let nowMs = 0
          let next = 0
          let reconfigured = false
          const live = () =>
            [...fates].filter(([, fate]) => fate === 'queued' || fate === 'running').map(([id]) => id)
          const markStarted = (started: string[]) => {
            for (const id of started) {
              expect(fates.get(id), `${id} started but was not queued`).toBe('queued')
              fates.set(id, 'running')
            }
          }
          for (const op of operations) {
            if (op.kind === 'submit') {
              const id = `q${next++}`
              const admission = scheduler.submit(
                query(id, { user: `u${op.user}`, priority: op.priority }),
                nowMs,
              )
              fates.set(id, admission.kind === 'rejected' ? 'rejected' : admission.kind)
            } else if (op.kind === 'release') {
              const ids = live()
              if (ids.length === 0) continue
              const id = ids[op.pick % ids.length] as string
              fates.set(id, 'released')
              markStarted(scheduler.release(id, nowMs, { cpuTimeMs: op.cpuTimeMs, memoryBytes: 0 }))
            } else if (op.kind === 'tick') {
              nowMs += op.advanceMs
              markStarted(scheduler.tick(nowMs))
            } else if (op.kind === 'usage') {
              const ids = live()
              if (ids.length === 0) continue
              const id = ids[op.pick % ids.length] as string
              markStarted(
                scheduler.updateUsage(id, { cpuTimeMs: op.cpuTimeMs, memoryBytes: op.memoryBytes }, nowMs),
              )
            } else if (op.kind === 'memoryPool') {
              markStarted(scheduler.setClusterMemoryBytes(op.bytes, nowMs))
            } else {
              reconfigured = true
              const next = alternatives[op.pick % alternatives.length] as ResourceGroupsConfig
              markStarted(scheduler.reconfigure(next, nowMs))
            }
            checkLimitsAndProgress(scheduler, fates, !reconfigured)
          }
          // Everything still held leaves; afterwards nothing is left anywhere.
          for (const id of live()) {
            fates.set(id, 'released')
            markStarted(scheduler.release(id, nowMs))
          }
          for (const id of live()) {
            fates.set(id, 'released')
            scheduler.release(id, nowMs)
          }
          expect(scheduler.counts()).toEqual({ running: 0, queued: 0 })
          expect([...fates.values()].every((fate) => fate === 'rejected' || fate === 'released')).toBe(true)
          scheduler.checkInvariants()
        },
      ),
      { numRuns: 200 },
    )
  })

  it('keeps the weighted_fair start counts near the weights while both sub-groups stay contended', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (weightA, weightB) => {
        const scheduler = createResourceGroupScheduler({
          rootGroups: [
            {
              name: 'p',
              maxQueued: 1000,
              hardConcurrencyLimit: 20,
              schedulingPolicy: 'weighted_fair',
              subGroups: [
                { name: 'a', maxQueued: 500, hardConcurrencyLimit: 20, schedulingWeight: weightA },
                { name: 'b', maxQueued: 500, hardConcurrencyLimit: 20, schedulingWeight: weightB },
              ],
            },
          ],
          selectors: [{ user: 'a', group: 'p.a' }, { group: 'p.b' }],
        })
        for (let i = 0; i < 300; i++) {
          scheduler.submit(query(`a${i}`, { user: 'a' }), 0)
          scheduler.submit(query(`b${i}`, { user: 'b' }), 0)
        }
        const running = scheduler.groupSnapshot(['p', 'a'])?.numRunningQueries ?? 0
        // The first 20 ran at submission; weighted_fair then keeps running counts near 20 * share.
        expect(running).toBeGreaterThan(0)
        const expectedA = (20 * weightA) / (weightA + weightB)
        let oldest = 0
        for (let step = 0; step < 200; step++) {
          const victim = `${step % 2 === 0 ? 'a' : 'b'}${oldest}`
          if (step % 2 === 1) oldest++
          scheduler.release(victim, step)
        }
        const after = scheduler.groupSnapshot(['p', 'a'])?.numRunningQueries ?? 0
        expect(Math.abs(after - expectedA)).toBeLessThanOrEqual(2)
      }),
      { numRuns: 40 },
    )
  })
})
