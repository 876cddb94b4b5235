/**
 * Trino's resource-group configuration: the JSON of the `file` manager (`rootGroups`, `selectors`,
 * `cpuQuotaPeriod`), which the `db` source also produces from its rows, and its compilation into
 * the checked form the scheduler runs. Validation follows Trino's `AbstractResourceConfigurationManager`
 * and `ResourceGroupSpec`/`SelectorSpec` with Trino's messages, prefixed by the path of the bad field.
 */
import { z } from 'zod'
import { isDuration, parseDurationMs } from '../../common/duration.ts'
import { describeIssues } from '../../common/errors.ts'
import { configurationInvalid } from './errors.ts'
import { parseDataSizeBytes } from './units.ts'

export const schedulingPolicies = ['fair', 'weighted', 'weighted_fair', 'query_priority'] as const
export type SchedulingPolicy = (typeof schedulingPolicies)[number]

/** Query types a selector may name (Trino's `QueryType`; compared case-insensitively). */
export const selectorQueryTypes = [
  'SELECT',
  'EXPLAIN',
  'DESCRIBE',
  'INSERT',
  'UPDATE',
  'MERGE',
  'DELETE',
  'ANALYZE',
  'DATA_DEFINITION',
  'ALTER_TABLE_EXECUTE',
] as const

const durationString = z
  .string()
  .refine(isDuration, { message: 'expected an Airlift duration such as 1h, 30s or 500ms' })
const dataSizeString = z.string().refine((value) => parseDataSizeBytes(value) !== undefined, {
  message: 'expected a data size such as 512MB or 1GB',
})
const softMemoryLimitString = z
  .string()
  .refine((value) => percentPattern.test(value) || parseDataSizeBytes(value) !== undefined, {
    message: 'expected a data size such as 1GB or a percentage such as 70%',
  })
const percentPattern = /^(\d{1,3}(\.\d+)?)%$/
const count = z.number().int().min(0)
const policyString = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(schedulingPolicies, { message: `expected one of ${schedulingPolicies.join(', ')}` }))

export interface ResourceGroupSpec {
  name: string
  maxQueued: number
  hardConcurrencyLimit: number
  softConcurrencyLimit?: number | undefined
  softMemoryLimit?: string | undefined
  softCpuLimit?: string | undefined
  hardCpuLimit?: string | undefined
  schedulingPolicy?: SchedulingPolicy | undefined
  schedulingWeight?: number | undefined
  jmxExport?: boolean | undefined
  subGroups?: ResourceGroupSpec[] | undefined
}

const groupObject = z
  .object({
    name: z.string(),
    maxQueued: count,
    hardConcurrencyLimit: count.optional(),
    /** Trino's legacy alias of hardConcurrencyLimit. */
    maxRunning: count.optional(),
    softConcurrencyLimit: count.optional(),
    softMemoryLimit: softMemoryLimitString.optional(),
    softCpuLimit: durationString.optional(),
    hardCpuLimit: durationString.optional(),
    schedulingPolicy: policyString.optional(),
    schedulingWeight: z.number().int().optional(),
    jmxExport: z.boolean().optional(),
    get subGroups() {
      return z.array(groupSchema).optional()
    },
  })
  .strict()

const groupSchema: z.ZodType<ResourceGroupSpec> = groupObject.transform((raw, context) => {
  const hardConcurrencyLimit = raw.hardConcurrencyLimit ?? raw.maxRunning
  if (hardConcurrencyLimit === undefined) {
    context.addIssue({ code: 'custom', message: 'Missing required property: hardConcurrencyLimit' })
    return z.NEVER
  }
  const { maxRunning: _alias, ...rest } = raw
  return { ...rest, hardConcurrencyLimit }
}) as z.ZodType<ResourceGroupSpec>

const rangeOf = (value: z.ZodType<string>) =>
  z.object({ min: value.optional(), max: value.optional() }).strict()

export const selectorResourceEstimateSchema = z
  .object({
    executionTime: rangeOf(durationString).optional(),
    cpuTime: rangeOf(durationString).optional(),
    peakMemory: rangeOf(dataSizeString).optional(),
  })
  .strict()
export type SelectorResourceEstimateSpec = z.infer<typeof selectorResourceEstimateSchema>

export const selectorSchema = z
  .object({
    user: z.string().optional(),
    source: z.string().optional(),
    queryType: z.string().optional(),
    clientTags: z.array(z.string()).optional(),
    selectorResourceEstimate: selectorResourceEstimateSchema.optional(),
    group: z.string().min(1),
  })
  .strict()
export type SelectorSpec = z.infer<typeof selectorSchema>

/** An exact-match source selector row (`exact_match_source_selectors`), consulted before selectors. */
export interface ExactMatchSourceSelector {
  source: string
  environment: string | null
  queryType: string | null
  /** Concrete segments, no templates. */
  resourceGroupId: string[]
}

export interface ResourceGroupsConfig {
  rootGroups: ResourceGroupSpec[]
  /** In evaluation order: file order, or the db's `priority DESC`. */
  selectors: SelectorSpec[]
  cpuQuotaPeriod?: string | undefined
  exactMatchSourceSelectors?: ExactMatchSourceSelector[] | undefined
}

export const resourceGroupsFileSchema = z
  .object({
    rootGroups: z.array(groupSchema),
    selectors: z.array(selectorSchema),
    cpuQuotaPeriod: durationString.optional(),
  })
  .strict()

/** Parses Trino's resource-group JSON (already JSON-decoded); errors name the path and the bad value. */
export function parseResourceGroupsJson(
  input: unknown,
  where = 'resource-groups config',
): ResourceGroupsConfig {
  const parsed = resourceGroupsFileSchema.safeParse(input)
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues, input)
    throw configurationInvalid(`${where} is invalid:\n  ${lines.join('\n  ')}`, { issues: lines })
  }
  return parsed.data
}

// ------------------------------------------------------------------------------------------------
// Compiled form

export type SoftMemoryLimit = { kind: 'bytes'; bytes: number } | { kind: 'percent'; percent: number }

export interface GroupTemplate {
  /** The dotted template names from the root, e.g. `adhoc.${USER}`: the key that survives reloads. */
  templatePath: string
  name: string
  maxQueued: number
  hardConcurrencyLimit: number
  softConcurrencyLimit: number
  softMemoryLimit: SoftMemoryLimit | undefined
  softCpuLimitMs: number
  hardCpuLimitMs: number
  /** CPU ms regenerated per elapsed second; Infinity when the group has no CPU limit (usage resets). */
  cpuQuotaGenerationMsPerSecond: number
  schedulingPolicy: SchedulingPolicy
  schedulingWeight: number
  jmxExport: boolean
  subGroups: GroupTemplate[]
}

export interface EstimateRange {
  minimum: number | undefined
  maximum: number | undefined
}

export interface CompiledSelector {
  index: number
  user: RegExp | undefined
  source: RegExp | undefined
  queryType: string | undefined
  clientTags: readonly string[]
  executionTimeMs: EstimateRange | undefined
  cpuTimeMs: EstimateRange | undefined
  peakMemoryBytes: EstimateRange | undefined
  /** The group id template, one template string per segment. */
  groupTemplate: readonly string[]
  templatePath: string
}

export interface CompiledConfig {
  roots: GroupTemplate[]
  templates: ReadonlyMap<string, GroupTemplate>
  selectors: CompiledSelector[]
  exactMatchSourceSelectors: ExactMatchSourceSelector[]
  cpuQuotaPeriodMs: number | undefined
}

const templateNamePattern = /^(?:[^${}.]|\$\{[a-zA-Z][a-zA-Z0-9]*\})+$/
const templateVariablePattern = /\$\{([a-zA-Z][a-zA-Z0-9]*)\}/g
const namedGroupPattern = /\(\?<([a-zA-Z][a-zA-Z0-9]*)>/g

export function templateVariables(template: string): string[] {
  return [...template.matchAll(templateVariablePattern)].map((match) => match[1] as string)
}

/** Compiles a Java-style full-match regex; Java and JavaScript agree on the syntax selectors use. */
export function compileFullMatch(pattern: string, where: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`)
  } catch (error) {
    throw configurationInvalid(
      `${where}: invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`,
    )
  }
}

/** Checks a configuration the way Trino does when it loads one; throws CONFIGURATION_INVALID. */
export function compileConfig(input: ResourceGroupsConfig): CompiledConfig {
  // Configurations built in code or from db rows get the same checks as a file.
  const config = {
    ...parseResourceGroupsJson({
      rootGroups: input.rootGroups,
      selectors: input.selectors,
      ...(input.cpuQuotaPeriod === undefined ? {} : { cpuQuotaPeriod: input.cpuQuotaPeriod }),
    }),
    exactMatchSourceSelectors: input.exactMatchSourceSelectors,
  }
  const cpuQuotaPeriodMs =
    config.cpuQuotaPeriod === undefined ? undefined : parseDurationMs(config.cpuQuotaPeriod)
  const templates = new Map<string, GroupTemplate>()
  const rootNames = new Set<string>()
  const roots = config.rootGroups.map((spec, index) => {
    if (rootNames.has(spec.name))
      throw configurationInvalid(`rootGroups.${index}: Duplicated root group: ${spec.name}`)
    rootNames.add(spec.name)
    return compileGroup(spec, undefined, `rootGroups.${index}`, cpuQuotaPeriodMs, templates)
  })
  const selectors = config.selectors.map((selector, index) => compileSelector(selector, index, templates))
  return {
    roots,
    templates,
    selectors,
    exactMatchSourceSelectors: config.exactMatchSourceSelectors ?? [],
    cpuQuotaPeriodMs,
  }
}

function compileGroup(
  spec: ResourceGroupSpec,
  parent: GroupTemplate | undefined,
  where: string,
  cpuQuotaPeriodMs: number | undefined,
  templates: Map<string, GroupTemplate>,
): GroupTemplate {
  if (!templateNamePattern.test(spec.name)) {
    throw configurationInvalid(
      `${where}.name: invalid resource group name ${JSON.stringify(spec.name)}: expected a non-empty name without '.', using '$', '{', '}' only in \${VARIABLE} templates`,
    )
  }
  const templatePath = parent === undefined ? spec.name : `${parent.templatePath}.${spec.name}`
  const softConcurrencyLimit = spec.softConcurrencyLimit ?? spec.hardConcurrencyLimit
  if (softConcurrencyLimit > spec.hardConcurrencyLimit) {
    throw configurationInvalid(
      `${where}.softConcurrencyLimit: hardConcurrencyLimit must be greater than or equal to softConcurrencyLimit (got soft ${softConcurrencyLimit}, hard ${spec.hardConcurrencyLimit})`,
    )
  }
  const softCpuLimitMs = spec.softCpuLimit === undefined ? undefined : parseDurationMs(spec.softCpuLimit)
  const hardCpuLimitMs = spec.hardCpuLimit === undefined ? undefined : parseDurationMs(spec.hardCpuLimit)
  if (softCpuLimitMs !== undefined && hardCpuLimitMs === undefined) {
    throw configurationInvalid(`${where}.softCpuLimit: Must specify hard CPU limit in addition to soft limit`)
  }
  if (softCpuLimitMs !== undefined && hardCpuLimitMs !== undefined && softCpuLimitMs > hardCpuLimitMs) {
    throw configurationInvalid(`${where}.softCpuLimit: Soft CPU limit cannot be greater than hard CPU limit`)
  }
  const cpuLimitMs = hardCpuLimitMs ?? softCpuLimitMs
  let cpuQuotaGenerationMsPerSecond = Number.POSITIVE_INFINITY
  if (cpuLimitMs !== undefined) {
    if (cpuQuotaPeriodMs === undefined) {
      throw configurationInvalid(
        `${where}: cpuQuotaPeriod must be specified to use CPU limits on group: ${templatePath}`,
      )
    }
    // Trino truncates the double quotient to a long and never regenerates less than 1 ms/s.
    cpuQuotaGenerationMsPerSecond = Math.max(1, Math.floor((1000 * cpuLimitMs) / cpuQuotaPeriodMs))
  }
  let softMemoryLimit: SoftMemoryLimit | undefined
  if (spec.softMemoryLimit !== undefined) {
    const percent = percentPattern.exec(spec.softMemoryLimit)
    if (percent) {
      const value = Number(percent[1])
      if (value > 100)
        throw configurationInvalid(`${where}.softMemoryLimit: softMemoryLimit percentage is over 100%`)
      softMemoryLimit = { kind: 'percent', percent: value }
    } else {
      softMemoryLimit = { kind: 'bytes', bytes: parseDataSizeBytes(spec.softMemoryLimit) as number }
    }
  }
  if (spec.schedulingWeight !== undefined) {
    if (spec.schedulingWeight <= 0)
      throw configurationInvalid(`${where}.schedulingWeight: weight must be positive`)
    if (
      parent === undefined ||
      (parent.schedulingPolicy !== 'weighted' && parent.schedulingPolicy !== 'weighted_fair')
    ) {
      throw configurationInvalid(
        `${where}.schedulingWeight: Must use 'weighted' or 'weighted_fair' scheduling policy if specifying scheduling weight for '${templatePath}'`,
      )
    }
  }
  // A child of a query_priority group is forced to query_priority; naming another policy is an error.
  const inheritsPriority = parent?.schedulingPolicy === 'query_priority'
  if (inheritsPriority && spec.schedulingPolicy !== undefined && spec.schedulingPolicy !== 'query_priority') {
    throw configurationInvalid(
      `${where}.schedulingPolicy: Parent of ${templatePath} uses query priority scheduling, so ${templatePath} must also`,
    )
  }
  const group: GroupTemplate = {
    templatePath,
    name: spec.name,
    maxQueued: spec.maxQueued,
    hardConcurrencyLimit: spec.hardConcurrencyLimit,
    softConcurrencyLimit,
    softMemoryLimit,
    softCpuLimitMs: softCpuLimitMs ?? Number.POSITIVE_INFINITY,
    hardCpuLimitMs: hardCpuLimitMs ?? Number.POSITIVE_INFINITY,
    cpuQuotaGenerationMsPerSecond,
    schedulingPolicy: spec.schedulingPolicy ?? (inheritsPriority ? 'query_priority' : 'fair'),
    schedulingWeight: spec.schedulingWeight ?? 1,
    jmxExport: spec.jmxExport ?? false,
    subGroups: [],
  }
  templates.set(templatePath, group)
  const children = spec.subGroups ?? []
  const weighted = children.filter((child) => child.schedulingWeight !== undefined).length
  if (weighted !== 0 && weighted !== children.length) {
    throw configurationInvalid(
      `${where}.subGroups: Must specify scheduling weight for all sub-groups of '${templatePath}' or none of them`,
    )
  }
  const names = new Set<string>()
  children.forEach((child, index) => {
    if (names.has(child.name))
      throw configurationInvalid(`${where}.subGroups.${index}: Duplicated sub group: ${child.name}`)
    names.add(child.name)
    group.subGroups.push(
      compileGroup(child, group, `${where}.subGroups.${index}`, cpuQuotaPeriodMs, templates),
    )
  })
  return group
}

function compileSelector(
  selector: SelectorSpec,
  index: number,
  templates: ReadonlyMap<string, GroupTemplate>,
): CompiledSelector {
  const where = `selectors.${index}`
  const groupTemplate = selector.group.split('.')
  const templatePath = groupTemplate.join('.')
  if (groupTemplate.some((segment) => !templateNamePattern.test(segment))) {
    throw configurationInvalid(
      `${where}.group: invalid resource group id template ${JSON.stringify(selector.group)}`,
    )
  }
  if (!templates.has(templatePath)) {
    throw configurationInvalid(`${where}.group: Selector refers to nonexistent group: ${templatePath}`)
  }
  let queryType: string | undefined
  if (selector.queryType !== undefined) {
    queryType = selector.queryType.toUpperCase()
    if (!(selectorQueryTypes as readonly string[]).includes(queryType)) {
      throw configurationInvalid(
        `${where}.queryType: Selector specifies an invalid query type: ${selector.queryType} (expected one of ${selectorQueryTypes.join(', ')})`,
      )
    }
  }
  const available = new Set(['USER', 'SOURCE'])
  const defined = new Set<string>()
  for (const pattern of [selector.user, selector.source]) {
    if (pattern === undefined) continue
    for (const match of pattern.matchAll(namedGroupPattern)) {
      const name = match[1] as string
      if (defined.has(name))
        throw configurationInvalid(`${where}: Multiple definitions found for variable \${${name}}`)
      defined.add(name)
      available.add(name)
    }
  }
  const unresolved = groupTemplate.flatMap(templateVariables).filter((name) => !available.has(name))
  if (unresolved.length > 0) {
    throw configurationInvalid(
      `${where}.group: unresolved variables [${unresolved.join(', ')}] in resource group ID '${templatePath}', available: [${[...available].join(', ')}]`,
    )
  }
  const estimate = selector.selectorResourceEstimate
  return {
    index,
    user: selector.user === undefined ? undefined : compileFullMatch(selector.user, `${where}.user`),
    source: selector.source === undefined ? undefined : compileFullMatch(selector.source, `${where}.source`),
    queryType,
    clientTags: selector.clientTags ?? [],
    executionTimeMs: rangeOrUndefined(estimate?.executionTime, parseDurationMs),
    cpuTimeMs: rangeOrUndefined(estimate?.cpuTime, parseDurationMs),
    peakMemoryBytes: rangeOrUndefined(estimate?.peakMemory, (value) => parseDataSizeBytes(value) as number),
    groupTemplate,
    templatePath,
  }
}

function rangeOrUndefined(
  range: { min?: string | undefined; max?: string | undefined } | undefined,
  parse: (value: string) => number,
): EstimateRange | undefined {
  if (range === undefined) return undefined
  return {
    minimum: range.min === undefined ? undefined : parse(range.min),
    maximum: range.max === undefined ? undefined : parse(range.max),
  }
}

/** The policy a case-insensitive name denotes, or undefined when it names none. */
export function parseSchedulingPolicy(value: string): SchedulingPolicy | undefined {
  const lower = value.toLowerCase()
  return (schedulingPolicies as readonly string[]).includes(lower) ? (lower as SchedulingPolicy) : undefined
}
