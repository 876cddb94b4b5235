import { describe, expect, it } from 'vitest'
import { compileConfig } from './config.ts'
import { type ResourceGroupRow, rowsToConfig, type SelectorRow } from './db-rows.ts'

const group = (
  id: number,
  name: string,
  parent: number | null,
  fields: Partial<ResourceGroupRow> = {},
): ResourceGroupRow => ({
  resource_group_id: String(id),
  name,
  soft_memory_limit: null,
  max_queued: 10,
  soft_concurrency_limit: null,
  hard_concurrency_limit: 5,
  scheduling_policy: null,
  scheduling_weight: null,
  jmx_export: null,
  soft_cpu_limit: null,
  hard_cpu_limit: null,
  parent: parent === null ? null : String(parent),
  environment: 'test',
  ...fields,
})
const selector = (
  id: number,
  groupId: number,
  priority: number,
  fields: Partial<SelectorRow> = {},
): SelectorRow => ({
  id: String(id),
  resource_group_id: String(groupId),
  priority: String(priority),
  user_regex: null,
  source_regex: null,
  query_type: null,
  client_tags: null,
  selector_resource_estimate: null,
  ...fields,
})

/** The article's rows: adhoc (1) with large_customer (2) and default (3). */
const articleRows = () => ({
  resourceGroups: [
    group(1, 'adhoc', null, {
      soft_memory_limit: '100%',
      max_queued: 100,
      hard_concurrency_limit: 50,
      soft_concurrency_limit: 50,
      scheduling_policy: 'weighted_fair',
    }),
    group(2, 'large_customer', 1, {
      soft_memory_limit: '70%',
      max_queued: 50,
      hard_concurrency_limit: 35,
      soft_concurrency_limit: 35,
      scheduling_weight: 7,
    }),
    group(3, 'default', 1, {
      soft_memory_limit: '30%',
      max_queued: 50,
      hard_concurrency_limit: 15,
      soft_concurrency_limit: 15,
      scheduling_weight: 3,
    }),
    group(4, 'elsewhere', null, { environment: 'prod' }),
  ],
  selectors: [
    selector(2, 3, 1, { user_regex: '.*', source_regex: '.*' }),
    selector(1, 2, 100, { user_regex: '.*', source_regex: '.*', client_tags: '["LargeCustomer"]' }),
  ],
  globalProperties: [{ name: 'cpu_quota_period', value: '1h' }],
})

describe('rows → configuration (the db manager’s pure half)', () => {
  it('builds the article’s tree for its environment, selectors by priority descending', () => {
    const config = rowsToConfig(articleRows(), 'test')
    expect(config.rootGroups.map((g) => g.name)).toEqual(['adhoc'])
    expect(config.rootGroups[0]?.subGroups?.map((g) => [g.name, g.schedulingWeight])).toEqual([
      ['large_customer', 7],
      ['default', 3],
    ])
    expect(config.selectors).toEqual([
      { group: 'adhoc.large_customer', user: '.*', source: '.*', clientTags: ['LargeCustomer'] },
      { group: 'adhoc.default', user: '.*', source: '.*' },
    ])
    expect(config.cpuQuotaPeriod).toBe('1h')
    expect(() => compileConfig(config)).not.toThrow()
  })

  it('treats NULL-environment rows as belonging to every environment', () => {
    const rows = articleRows()
    rows.resourceGroups[0] = { ...(rows.resourceGroups[0] as ResourceGroupRow), environment: null }
    expect(rowsToConfig(rows, 'test').rootGroups.map((g) => g.name)).toEqual(['adhoc'])
    expect(
      rowsToConfig(rows, 'prod')
        .rootGroups.map((g) => g.name)
        .sort(),
    ).toEqual(['adhoc', 'elsewhere'])
  })

  it.each([
    {
      case: 'client_tags that are not a JSON array',
      patch: { client_tags: 'LargeCustomer' },
      error:
        /selectors row 1\.client_tags: not JSON \(got "LargeCustomer"\); expected a JSON array of strings/,
    },
    {
      case: 'an unsupported selector column',
      patch: { user_group_regex: 'admins' },
      error: /selectors row 1\.user_group_regex: not supported by mock-trino/,
    },
    {
      case: 'a malformed resource estimate',
      patch: { selector_resource_estimate: '{"executionTime":{"max":"soon"}}' },
      error: /selectors row 1\.selector_resource_estimate: executionTime\.max: expected an Airlift duration/,
    },
  ])('refuses $case, naming the row and column', ({ patch, error }) => {
    const rows = articleRows()
    rows.selectors[1] = { ...(rows.selectors[1] as SelectorRow), ...patch }
    expect(() => rowsToConfig(rows, 'test')).toThrow(error)
  })

  it('refuses a physical data scan limit, which the mock cannot simulate', () => {
    const rows = articleRows()
    rows.resourceGroups[1] = {
      ...(rows.resourceGroups[1] as ResourceGroupRow),
      hard_physical_data_scan_limit: '1TB',
    }
    expect(() => rowsToConfig(rows, 'test')).toThrow(
      /resource_groups row 2\.hard_physical_data_scan_limit: not supported/,
    )
  })

  it('refuses an unknown scheduling policy, a missing parent, a parent cycle and two cpu_quota_period rows', () => {
    const badPolicy = articleRows()
    badPolicy.resourceGroups[0] = {
      ...(badPolicy.resourceGroups[0] as ResourceGroupRow),
      scheduling_policy: 'lottery',
    }
    expect(() => rowsToConfig(badPolicy, 'test')).toThrow(
      /resource_groups row 1\.scheduling_policy: unknown scheduling policy "lottery"/,
    )
    const orphan = articleRows()
    orphan.resourceGroups.push(group(9, 'orphan', 42))
    expect(() => rowsToConfig(orphan, 'test')).toThrow(/resource_groups row 9\.parent: no resource group 42/)
    const cycle = { ...articleRows(), resourceGroups: [group(1, 'a', 2), group(2, 'b', 1)], selectors: [] }
    expect(() => rowsToConfig(cycle, 'test')).toThrow(/cycle/)
    const twoPeriods = articleRows()
    twoPeriods.globalProperties.push({ name: 'cpu_quota_period', value: '2h' })
    expect(() => rowsToConfig(twoPeriods, 'test')).toThrow(/There is more than one cpu_quota_period/)
  })

  it('reads exact-match source selectors, most specific first at match time', () => {
    const config = rowsToConfig(
      {
        ...articleRows(),
        exactMatchSourceSelectors: [
          { environment: null, source: 'etl', query_type: null, resource_group_id: '["adhoc","default"]' },
          { environment: 'prod', source: 'etl', query_type: null, resource_group_id: '["elsewhere"]' },
        ],
      },
      'test',
    )
    expect(config.exactMatchSourceSelectors).toEqual([
      { environment: null, source: 'etl', queryType: null, resourceGroupId: ['adhoc', 'default'] },
    ])
  })
})
