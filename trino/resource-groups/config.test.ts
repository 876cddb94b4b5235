// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Trino resource-group templates are written ${USER}
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compileConfig,
  parseResourceGroupsJson,
  type ResourceGroupSpec,
  type ResourceGroupsConfig,
} from './config.ts'
import { formatDataSize, formatDurationSuccinct, parseDataSizeBytes } from './units.ts'

const leaf = (fields: Partial<ResourceGroupSpec> = {}): ResourceGroupSpec => ({
  name: 'g',
  maxQueued: 1,
  hardConcurrencyLimit: 1,
  ...fields,
})
const withRoot = (
  root: ResourceGroupSpec,
  extra: Partial<ResourceGroupsConfig> = {},
): ResourceGroupsConfig => ({
  rootGroups: [root],
  selectors: [{ group: root.name }],
  ...extra,
})

describe('resource-group configuration validation (Trino’s messages, prefixed by the field path)', () => {
  const cases: Array<{ case: string; config: unknown; error: RegExp }> = [
    {
      case: 'soft concurrency above hard',
      config: withRoot(leaf({ softConcurrencyLimit: 2 })),
      error:
        /rootGroups\.0\.softConcurrencyLimit: hardConcurrencyLimit must be greater than or equal to softConcurrencyLimit/,
    },
    {
      case: 'a negative limit',
      config: withRoot(leaf({ maxQueued: -1 })),
      error: /rootGroups\.0\.maxQueued: .*>=0.*\(got -1\)/,
    },
    {
      case: 'an unknown policy',
      config: withRoot(leaf({ schedulingPolicy: 'random' as never })),
      error: /rootGroups\.0\.schedulingPolicy: expected one of fair, weighted, weighted_fair, query_priority/,
    },
    {
      case: 'a soft CPU limit without a hard one',
      config: withRoot(leaf({ softCpuLimit: '1m' }), { cpuQuotaPeriod: '1h' }),
      error: /Must specify hard CPU limit in addition to soft limit/,
    },
    {
      case: 'a soft CPU limit above the hard one',
      config: withRoot(leaf({ softCpuLimit: '2m', hardCpuLimit: '1m' }), { cpuQuotaPeriod: '1h' }),
      error: /Soft CPU limit cannot be greater than hard CPU limit/,
    },
    {
      case: 'a CPU limit without cpuQuotaPeriod',
      config: withRoot(leaf({ hardCpuLimit: '1m' })),
      error: /cpuQuotaPeriod must be specified to use CPU limits on group: g/,
    },
    {
      case: 'a memory percentage over 100',
      config: withRoot(leaf({ softMemoryLimit: '101%' })),
      error: /softMemoryLimit percentage is over 100%/,
    },
    {
      case: 'a malformed memory limit',
      config: withRoot(leaf({ softMemoryLimit: 'lots' })),
      error: /rootGroups\.0\.softMemoryLimit: expected a data size such as 1GB or a percentage/,
    },
    {
      case: 'a weight under a fair parent',
      config: withRoot(leaf({ subGroups: [leaf({ name: 'c', schedulingWeight: 2 })] })),
      error:
        /Must use 'weighted' or 'weighted_fair' scheduling policy if specifying scheduling weight for 'g\.c'/,
    },
    {
      case: 'weights on some siblings only',
      config: withRoot(
        leaf({
          schedulingPolicy: 'weighted',
          subGroups: [leaf({ name: 'a', schedulingWeight: 2 }), leaf({ name: 'b' })],
        }),
      ),
      error: /Must specify scheduling weight for all sub-groups of 'g' or none of them/,
    },
    {
      case: 'a zero weight',
      config: withRoot(
        leaf({ schedulingPolicy: 'weighted', subGroups: [leaf({ name: 'a', schedulingWeight: 0 })] }),
      ),
      error: /weight must be positive/,
    },
    {
      case: 'duplicate sub-groups',
      config: withRoot(leaf({ subGroups: [leaf({ name: 'a' }), leaf({ name: 'a' })] })),
      error: /Duplicated sub group: a/,
    },
    {
      case: 'a missing hard limit',
      config: { rootGroups: [{ name: 'g', maxQueued: 1 }], selectors: [] },
      error: /Missing required property: hardConcurrencyLimit/,
    },
    {
      case: 'a name with a dot',
      config: withRoot(leaf({ name: 'a.b' })),
      error: /rootGroups\.0\.name: invalid resource group name "a\.b"/,
    },
    {
      case: 'a selector to a missing group',
      config: { rootGroups: [leaf()], selectors: [{ group: 'g.nope' }] },
      error: /selectors\.0\.group: Selector refers to nonexistent group: g\.nope/,
    },
    {
      case: 'a selector with an unknown query type',
      config: { rootGroups: [leaf()], selectors: [{ group: 'g', queryType: 'SHOUT' }] },
      error: /selectors\.0\.queryType: Selector specifies an invalid query type: SHOUT/,
    },
    {
      case: 'a malformed regex',
      config: { rootGroups: [leaf()], selectors: [{ group: 'g', user: '(' }] },
      error: /selectors\.0\.user: invalid regular expression "\("/,
    },
    {
      case: 'an unresolved template variable',
      config: {
        rootGroups: [leaf({ subGroups: [leaf({ name: '${team}' })] })],
        selectors: [{ group: 'g.${team}' }],
      },
      error:
        /unresolved variables \[team\] in resource group ID 'g\.\$\{team\}', available: \[USER, SOURCE\]/,
    },
    {
      case: 'an unknown key',
      config: { rootGroups: [{ ...leaf(), maxRunnnig: 3 }], selectors: [] },
      error: /rootGroups\.0: Unrecognized key: "maxRunnnig"/,
    },
  ]
  it.each(cases)('refuses $case', ({ config, error }) => {
    expect(() => compileConfig(parseResourceGroupsJson(config))).toThrow(error)
  })

  it('accepts Trino’s documentation example shape with the legacy maxRunning alias and a query_priority subtree', () => {
    const config = parseResourceGroupsJson({
      rootGroups: [
        {
          name: 'global',
          softMemoryLimit: '80%',
          hardConcurrencyLimit: 100,
          maxQueued: 1000,
          schedulingPolicy: 'QUERY_PRIORITY',
          subGroups: [{ name: 'data_definition', softMemoryLimit: '10%', maxRunning: 5, maxQueued: 100 }],
        },
      ],
      selectors: [{ queryType: 'DATA_DEFINITION', group: 'global.data_definition' }],
      cpuQuotaPeriod: '1h',
    })
    const compiled = compileConfig(config)
    expect(compiled.templates.get('global.data_definition')).toMatchObject({
      hardConcurrencyLimit: 5,
      softConcurrencyLimit: 5,
      schedulingPolicy: 'query_priority',
    })
    expect(compiled.cpuQuotaPeriodMs).toBe(3_600_000)
  })

  it('derives the CPU quota rate per second from the hard limit and the period, at least 1 ms/s', () => {
    const rate = (hard: string, period: string) =>
      compileConfig(withRoot(leaf({ hardCpuLimit: hard }), { cpuQuotaPeriod: period })).templates.get('g')
        ?.cpuQuotaGenerationMsPerSecond
    expect(rate('1h', '1d')).toBe(Math.floor((1000 * 3_600_000) / 86_400_000))
    expect(rate('1ms', '1d')).toBe(1)
  })
})

describe('airlift units', () => {
  it.each([
    ['1GB', 2 ** 30],
    ['512MB', 512 * 2 ** 20],
    ['1.5kB', 1536],
    ['10B', 10],
  ])('parses %s', (text, bytes) => {
    expect(parseDataSizeBytes(text)).toBe(bytes)
  })

  it.each([
    [0, '0B'],
    [1536, '1.50kB'],
    [2 ** 30, '1GB'],
    [2 ** 63, '8192PB'],
  ])('formats %d bytes as %s', (bytes, text) => {
    expect(formatDataSize(bytes)).toBe(text)
  })

  it.each([
    [0, '0.00ns'],
    [1500, '1.50s'],
    [90_000, '1.50m'],
    [0.5, '500.00us'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDurationSuccinct(ms)).toBe(text)
  })

  it('round-trips whole data sizes through format and parse', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (bytes) => {
        const text = formatDataSize(bytes)
        const parsed = parseDataSizeBytes(text) as number
        // Two decimals lose at most half a hundredth of the unit.
        expect(Math.abs(parsed - bytes)).toBeLessThanOrEqual(bytes / 100 + 1)
      }),
    )
  })
})

describe('docs/resource-groups.md', () => {
  it('shows a file configuration that parses and compiles', () => {
    const text = readFileSync(new URL('../../docs/resource-groups.md', import.meta.url), 'utf8')
    const block = /```json\n([\s\S]*?)\n```/.exec(text)?.[1]
    expect(block).toBeDefined()
    const compiled = compileConfig(parseResourceGroupsJson(JSON.parse(block as string), 'docs example'))
    expect(compiled.selectors.map((selector) => selector.templatePath)).toEqual([
      'adhoc.large_customer',
      'adhoc.default',
    ])
  })
})
