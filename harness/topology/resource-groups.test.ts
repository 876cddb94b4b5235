import { describe, expect, it } from 'vitest'
import { checkScenarioText } from '../scenario/loader.ts'
import { groupPathsById, jdbcPropertiesOf } from './resource-groups.ts'

const row = (resourceGroupId: number, name: string, parent: number | null, environment: string | null) => ({
  resourceGroupId,
  name,
  softMemoryLimit: '100%',
  maxQueued: 10,
  softConcurrencyLimit: null,
  hardConcurrencyLimit: 1,
  schedulingPolicy: null,
  schedulingWeight: null,
  jmxExport: null,
  softCpuLimit: null,
  hardCpuLimit: null,
  parent,
  environment,
})

describe('resource groups through the gateway API', () => {
  it('names each group of an environment by its dot-joined path, ignoring other environments', () => {
    const rows = [
      row(1, 'adhoc', null, 'test'),
      row(2, 'large_customer', 1, 'test'),
      row(3, 'default', 1, 'test'),
      row(4, 'adhoc', null, 'prod'),
      row(5, 'default', 4, 'prod'),
    ]
    expect([...groupPathsById(rows, 'test')]).toEqual([
      [1, 'adhoc'],
      [2, 'adhoc.large_customer'],
      [3, 'adhoc.default'],
    ])
    expect([...groupPathsById(rows, 'prod')]).toEqual([
      [4, 'adhoc'],
      [5, 'adhoc.default'],
    ])
  })

  it('stops on a parent cycle left in a corrupt table instead of looping', () => {
    const paths = groupPathsById([row(1, 'a', 2, 'test'), row(2, 'b', 1, 'test')], 'test')
    expect(paths.size).toBe(2)
  })

  it.each([
    [
      'postgres://postgres@127.0.0.1:5432/test',
      {
        'resource-groups.config-db-url': 'jdbc:postgresql://127.0.0.1:5432/test',
        'resource-groups.config-db-user': 'postgres',
      },
    ],
    [
      'postgresql://gw:s%40cret@db.local:6543/gateway',
      {
        'resource-groups.config-db-url': 'jdbc:postgresql://db.local:6543/gateway',
        'resource-groups.config-db-user': 'gw',
        'resource-groups.config-db-password': 's@cret',
      },
    ],
    [
      'jdbc:postgresql://127.0.0.1:5432/gateway',
      { 'resource-groups.config-db-url': 'jdbc:postgresql://127.0.0.1:5432/gateway' },
    ],
  ])('writes %s as the db manager’s properties', (url, expected) => {
    expect(jdbcPropertiesOf(url)).toEqual(expected)
  })
})

const base = `name: rg
description: groups through the API
seed: 1
resourceGroups:
  groups:
    - name: adhoc
      maxQueued: 10
      hardConcurrencyLimit: 5
    - name: default
      parent: adhoc
      maxQueued: 10
      hardConcurrencyLimit: 5
  selectors:
    - group: adhoc.default
      priority: 1
clusters:
  - name: trino-a
    resourceGroupSource: db
clients:
  - name: c
    sql: SELECT 1
actions:
  - at: 1s
    updateResourceGroup:
      group: adhoc.default
      set:
        hardConcurrencyLimit: 6
expectations:
  - kind: errors
`

describe('resource-group fields of a scenario', () => {
  it('accepts groups, selectors, a db cluster and an update named by path', () => {
    const result = checkScenarioText(base)
    expect(result.ok ? [] : result.problems).toEqual([])
  })

  it.each([
    ['a parent not declared above', 'parent: adhoc', 'parent: adhocc', 'resourceGroups.groups[1].parent'],
    [
      'a selector for an unknown group',
      'group: adhoc.default\n      priority',
      'group: adhoc.nothing\n      priority',
      'resourceGroups.selectors[0].group',
    ],
    [
      'an update of an unknown group',
      'group: adhoc.default\n      set',
      'group: adhoc.other\n      set',
      'actions[0].updateResourceGroup.group',
    ],
    [
      'a db source beside an etcDir',
      'resourceGroupSource: db',
      'resourceGroupSource: db\n    etcDir: etc',
      'clusters[0].resourceGroupSource',
    ],
    [
      'a policy Trino does not have',
      'hardConcurrencyLimit: 5\n    - name',
      'hardConcurrencyLimit: 5\n      schedulingPolicy: lottery\n    - name',
      'resourceGroups.groups[0].schedulingPolicy',
    ],
  ])('refuses %s, naming the field', (_what, from, to, path) => {
    expect(base).toContain(from)
    const result = checkScenarioText(base.replace(from, to))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.problems.map((problem) => problem.path)).toContain(path)
  })
})
