/**
 * The `db` configuration manager's pure half: rows of Trino's four tables → the configuration the
 * scheduler runs. Follows `DbResourceGroupConfigurationManager`: groups and selectors of this
 * coordinator's environment (or NULL, the newest Trino's wildcard), selectors by priority
 * descending, at most one `cpu_quota_period`. Errors name the table, the row id and the column.
 */
import { z } from 'zod'
import { describeIssues } from '../../common/errors.ts'
import {
  type ExactMatchSourceSelector,
  parseSchedulingPolicy,
  type ResourceGroupSpec,
  type ResourceGroupsConfig,
  type SelectorSpec,
  selectorResourceEstimateSchema,
} from './config.ts'
import { configurationInvalid } from './errors.ts'

/** BIGINT columns arrive from `pg` as strings. */
const bigint = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number),
])
const nullableText = z
  .string()
  .nullable()
  .optional()
  .transform((value) => value ?? undefined)
const nullableInt = z
  .number()
  .int()
  .nullable()
  .optional()
  .transform((value) => value ?? undefined)

export const resourceGroupRowSchema = z.looseObject({
  resource_group_id: bigint,
  name: z.string(),
  soft_memory_limit: nullableText,
  max_queued: z.number().int(),
  soft_concurrency_limit: nullableInt,
  hard_concurrency_limit: z.number().int(),
  scheduling_policy: nullableText,
  scheduling_weight: nullableInt,
  jmx_export: z.boolean().nullable().optional(),
  soft_cpu_limit: nullableText,
  hard_cpu_limit: nullableText,
  parent: bigint.nullable().optional(),
  environment: z.string().nullable().optional(),
  hard_physical_data_scan_limit: nullableText,
})
export type ResourceGroupRow = z.input<typeof resourceGroupRowSchema>

export const selectorRowSchema = z.looseObject({
  id: bigint.optional(),
  resource_group_id: bigint,
  priority: bigint,
  user_regex: nullableText,
  user_group_regex: nullableText,
  original_user_regex: nullableText,
  authenticated_user_regex: nullableText,
  source_regex: nullableText,
  query_text_regex: nullableText,
  query_type: nullableText,
  client_tags: nullableText,
  selector_resource_estimate: nullableText,
})
export type SelectorRow = z.input<typeof selectorRowSchema>

export const globalPropertyRowSchema = z.looseObject({ name: z.string(), value: z.string().nullable() })
export type GlobalPropertyRow = z.input<typeof globalPropertyRowSchema>

export const exactMatchRowSchema = z.looseObject({
  environment: z.string().nullable(),
  source: z.string(),
  query_type: z.string().nullable(),
  resource_group_id: z.string(),
})
export type ExactMatchRow = z.input<typeof exactMatchRowSchema>

export interface ResourceGroupTables {
  resourceGroups: readonly ResourceGroupRow[]
  selectors: readonly SelectorRow[]
  globalProperties: readonly GlobalPropertyRow[]
  /** Only read when `resource-groups.exact-match-selector-enabled=true`. */
  exactMatchSourceSelectors?: readonly ExactMatchRow[] | undefined
}

/** Selector columns the mock cannot evaluate: its queries carry no user groups, original or authenticated user, or text. */
const unsupportedSelectorColumns = [
  'user_group_regex',
  'original_user_regex',
  'authenticated_user_regex',
  'query_text_regex',
] as const

const clientTagsSchema = z.array(z.string())
const segmentsSchema = z.array(z.string().min(1)).min(1)

function parseRow<T extends z.ZodType>(schema: T, row: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(row)
  if (!parsed.success) {
    throw configurationInvalid(`${where}: ${describeIssues(parsed.error.issues, row).join('; ')}`)
  }
  return parsed.data
}

function parseJsonColumn<T extends z.ZodType>(
  schema: T,
  text: string,
  where: string,
  expected: string,
): z.output<T> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw configurationInvalid(`${where}: not JSON (got ${JSON.stringify(text)}); expected ${expected}`)
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    throw configurationInvalid(
      `${where}: ${describeIssues(parsed.error.issues, value).join('; ')}; expected ${expected}`,
    )
  }
  return parsed.data
}

/** Rows → Trino's configuration for one environment; throws CONFIGURATION_INVALID naming the row. */
export function rowsToConfig(tables: ResourceGroupTables, environment: string): ResourceGroupsConfig {
  const inEnvironment = (env: string | null | undefined) =>
    env === environment || env === null || env === undefined
  const groups = tables.resourceGroups
    .map((row) =>
      parseRow(resourceGroupRowSchema, row, `resource_groups row ${JSON.stringify(row.resource_group_id)}`),
    )
    .filter((row) => inEnvironment(row.environment))
  const byId = new Map(groups.map((row) => [row.resource_group_id, row]))
  const specs = new Map<number, ResourceGroupSpec>()
  for (const row of groups) {
    const where = `resource_groups row ${row.resource_group_id}`
    if (row.hard_physical_data_scan_limit !== undefined) {
      throw configurationInvalid(
        `${where}.hard_physical_data_scan_limit: not supported by mock-trino (it simulates no scanned bytes)`,
      )
    }
    let schedulingPolicy: ResourceGroupSpec['schedulingPolicy']
    if (row.scheduling_policy !== undefined) {
      schedulingPolicy = parseSchedulingPolicy(row.scheduling_policy)
      if (schedulingPolicy === undefined) {
        throw configurationInvalid(
          `${where}.scheduling_policy: unknown scheduling policy ${JSON.stringify(row.scheduling_policy)}; expected fair, weighted, weighted_fair or query_priority`,
        )
      }
    }
    specs.set(row.resource_group_id, {
      name: row.name,
      maxQueued: row.max_queued,
      hardConcurrencyLimit: row.hard_concurrency_limit,
      softConcurrencyLimit: row.soft_concurrency_limit,
      softMemoryLimit: row.soft_memory_limit,
      softCpuLimit: row.soft_cpu_limit,
      hardCpuLimit: row.hard_cpu_limit,
      schedulingPolicy,
      schedulingWeight: row.scheduling_weight,
      jmxExport: row.jmx_export ?? undefined,
      subGroups: [],
    })
  }
  const rootGroups: ResourceGroupSpec[] = []
  for (const row of groups) {
    const spec = specs.get(row.resource_group_id) as ResourceGroupSpec
    if (row.parent === null || row.parent === undefined) {
      rootGroups.push(spec)
      continue
    }
    const parent = specs.get(row.parent)
    if (parent === undefined) {
      throw configurationInvalid(
        `resource_groups row ${row.resource_group_id}.parent: no resource group ${row.parent} in environment ${JSON.stringify(environment)}`,
      )
    }
    parent.subGroups?.push(spec)
  }
  const pathOf = (id: number): string => {
    const names: string[] = []
    const seen = new Set<number>()
    for (let current = byId.get(id); current !== undefined; ) {
      if (seen.has(current.resource_group_id)) {
        throw configurationInvalid(`resource_groups row ${id}.parent: the parent chain forms a cycle`)
      }
      seen.add(current.resource_group_id)
      names.unshift(current.name)
      current = current.parent === null || current.parent === undefined ? undefined : byId.get(current.parent)
    }
    return names.join('.')
  }
  for (const row of groups) pathOf(row.resource_group_id)

  const selectorRows = tables.selectors
    .map((row, index) => parseRow(selectorRowSchema, row, `selectors row ${JSON.stringify(row.id ?? index)}`))
    .filter((row) => byId.has(row.resource_group_id))
  // A stable sort: equal priorities keep the order the database returned.
  selectorRows.sort((a, b) => b.priority - a.priority)
  const selectors = selectorRows.map((row): SelectorSpec => {
    const where = `selectors row ${row.id ?? `(resource group ${row.resource_group_id}, priority ${row.priority})`}`
    for (const column of unsupportedSelectorColumns) {
      if (row[column] !== undefined) {
        throw configurationInvalid(
          `${where}.${column}: not supported by mock-trino (its queries carry no such attribute)`,
        )
      }
    }
    const selector: SelectorSpec = { group: pathOf(row.resource_group_id) }
    if (row.user_regex !== undefined) selector.user = row.user_regex
    if (row.source_regex !== undefined) selector.source = row.source_regex
    if (row.query_type !== undefined) selector.queryType = row.query_type
    if (row.client_tags !== undefined) {
      selector.clientTags = parseJsonColumn(
        clientTagsSchema,
        row.client_tags,
        `${where}.client_tags`,
        'a JSON array of strings such as ["hipri"]',
      )
    }
    if (row.selector_resource_estimate !== undefined) {
      selector.selectorResourceEstimate = parseJsonColumn(
        selectorResourceEstimateSchema,
        row.selector_resource_estimate,
        `${where}.selector_resource_estimate`,
        'a JSON object such as {"executionTime":{"max":"5m"}}',
      )
    }
    return selector
  })

  const quotaPeriods = tables.globalProperties
    .map((row) => parseRow(globalPropertyRowSchema, row, 'resource_groups_global_properties row'))
    .filter((row) => row.name === 'cpu_quota_period')
  if (quotaPeriods.length > 1) throw configurationInvalid('There is more than one cpu_quota_period')
  const cpuQuotaPeriod = quotaPeriods[0]?.value ?? undefined

  const exactMatchSourceSelectors = (tables.exactMatchSourceSelectors ?? [])
    .map((row) => parseRow(exactMatchRowSchema, row, 'exact_match_source_selectors row'))
    .filter((row) => inEnvironment(row.environment))
    .map(
      (row): ExactMatchSourceSelector => ({
        source: row.source,
        environment: row.environment,
        queryType: row.query_type,
        resourceGroupId: parseJsonColumn(
          segmentsSchema,
          row.resource_group_id,
          `exact_match_source_selectors row (source ${JSON.stringify(row.source)}).resource_group_id`,
          'a JSON array of group id segments such as ["global","pipeline"]',
        ),
      }),
    )

  return {
    rootGroups,
    selectors,
    ...(cpuQuotaPeriod === undefined ? {} : { cpuQuotaPeriod }),
    ...(exactMatchSourceSelectors.length === 0 ? {} : { exactMatchSourceSelectors }),
  }
}
