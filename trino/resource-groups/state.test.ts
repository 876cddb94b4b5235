import { describe, expect, it } from 'vitest'
import { createResourceGroupScheduler } from './scheduler.ts'
import { parseResourceGroupPath, resourceGroupStateJson } from './state.ts'
import { query } from './test-helpers.ts'

const scheduler = () =>
  createResourceGroupScheduler(
    {
      rootGroups: [
        {
          name: 'adhoc',
          softMemoryLimit: '100%',
          maxQueued: 100,
          hardConcurrencyLimit: 1,
          schedulingPolicy: 'weighted_fair',
          subGroups: [
            {
              name: 'large_customer',
              softMemoryLimit: '70%',
              maxQueued: 50,
              hardConcurrencyLimit: 35,
              schedulingWeight: 7,
            },
            { name: 'default', maxQueued: 50, hardConcurrencyLimit: 15, schedulingWeight: 3 },
          ],
        },
      ],
      selectors: [
        { clientTags: ['LargeCustomer'], group: 'adhoc.large_customer' },
        { group: 'adhoc.default' },
      ],
    },
    { clusterMemoryBytes: 2 ** 30 },
  )

describe('/v1/resourceGroupState', () => {
  it('reports a group with Trino’s ResourceGroupInfo fields, counts including descendants', () => {
    const groups = scheduler()
    groups.submit(query('q1', { clientTags: ['LargeCustomer'], createdAtMs: Date.UTC(2026, 0, 1) }), 0)
    groups.submit(query('q2'), 0)
    const info = resourceGroupStateJson(groups, ['adhoc'], (id) =>
      id === 'q1' ? { query: 'SELECT 1', queryState: 'RUNNING' } : {},
    )
    expect(info).toEqual({
      id: ['adhoc'],
      state: 'CAN_QUEUE',
      schedulingPolicy: 'WEIGHTED_FAIR',
      schedulingWeight: 1,
      softMemoryLimit: '1GB',
      softConcurrencyLimit: 1,
      hardConcurrencyLimit: 1,
      maxQueuedQueries: 100,
      memoryUsage: '0B',
      cpuUsage: '0.00ns',
      numQueuedQueries: 1,
      numRunningQueries: 1,
      numEligibleSubGroups: 1,
      subGroups: [
        expect.objectContaining({
          id: ['adhoc', 'large_customer'],
          numRunningQueries: 1,
          softMemoryLimit: '716.80MB',
        }),
        expect.objectContaining({ id: ['adhoc', 'default'], numQueuedQueries: 1, softMemoryLimit: '8192PB' }),
      ],
      runningQueries: [
        {
          queryId: 'q1',
          queryState: 'RUNNING',
          resourceGroupId: ['adhoc', 'large_customer'],
          query: 'SELECT 1',
          createTime: '2026-01-01T00:00:00.000Z',
          user: 'alice',
          source: 'trino-js-client',
        },
      ],
    })
    expect(info?.subGroups?.[0]).not.toHaveProperty('subGroups')
  })

  it('answers undefined (Trino’s 404) for a configured group no query has selected', () => {
    expect(resourceGroupStateJson(scheduler(), ['adhoc', 'large_customer'])).toBeUndefined()
  })

  it.each([
    ['adhoc/large_customer', ['adhoc', 'large_customer']],
    ['adhoc/', ['adhoc']],
    ['global/user%2Eone', ['global', 'user.one']],
    ['a//b', undefined],
    ['', undefined],
    ['%E0%A4%A', undefined],
  ])('parses the path %s', (path, expected) => {
    expect(parseResourceGroupPath(path)).toEqual(expected)
  })
})
