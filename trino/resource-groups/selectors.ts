/**
 * Selection of a query's resource group (Trino's `StaticSelector` and the db manager's exact-match
 * lookup): pure functions over the compiled configuration and what the query declared.
 */
import type { QueryDescriptor } from '../scheduler.ts'
import type { CompiledConfig, CompiledSelector, EstimateRange, ExactMatchSourceSelector } from './config.ts'

export type Selection =
  | {
      kind: 'selected'
      resourceGroupId: string[]
      templatePath: string
      selectorIndex: number | 'exact-match'
    }
  | { kind: 'no-match' }
  /** A template expanded to an empty segment, e.g. `${SOURCE}` for a query without a source. */
  | { kind: 'invalid'; message: string }

/** Client tags as Trino reads `X-Trino-Client-Tags`: split on `,`, trimmed, empties dropped. */
export function parseClientTagsHeader(header: string | undefined): string[] {
  if (header === undefined) return []
  return [
    ...new Set(
      header
        .split(',')
        .map((tag) => tag.trim())
        .filter((tag) => tag !== ''),
    ),
  ]
}

/** The first selector that matches wins; exact-match source selectors (db only) are consulted first. */
export function selectResourceGroup(config: CompiledConfig, query: QueryDescriptor): Selection {
  const exact = matchExactSource(config.exactMatchSourceSelectors, query)
  if (exact !== undefined) {
    return {
      kind: 'selected',
      resourceGroupId: [...exact.resourceGroupId],
      templatePath: exact.resourceGroupId.join('.'),
      selectorIndex: 'exact-match',
    }
  }
  for (const selector of config.selectors) {
    const variables = matchSelector(selector, query)
    if (variables === undefined) continue
    const resourceGroupId = selector.groupTemplate.map((segment) =>
      segment.includes('${')
        ? segment.replace(/\$\{([a-zA-Z][a-zA-Z0-9]*)\}/g, (_, name: string) => variables.get(name) ?? '')
        : segment,
    )
    if (resourceGroupId.some((segment) => segment === '')) {
      return { kind: 'invalid', message: 'Empty segment in resource group id' }
    }
    return {
      kind: 'selected',
      resourceGroupId,
      templatePath: selector.templatePath,
      selectorIndex: selector.index,
    }
  }
  return { kind: 'no-match' }
}

/**
 * The template variables when every field the selector sets matches; undefined otherwise. The
 * checks that capture nothing run first and a regex without named groups is only tested, so a
 * selector that does not match allocates nothing: the scheduler runs this for every selector a
 * query passes on its way to the one that matches.
 */
export function matchSelector(
  selector: CompiledSelector,
  query: QueryDescriptor,
): Map<string, string> | undefined {
  if (selector.source !== undefined && query.source === undefined) {
    // Current Trino: a selector with a source regex never matches a query without a source.
    return undefined
  }
  if (selector.queryType !== undefined) {
    if (query.queryType === undefined || query.queryType.toUpperCase() !== selector.queryType)
      return undefined
  }
  for (const tag of selector.clientTags) if (!query.clientTags.includes(tag)) return undefined
  const estimate = query.resourceEstimate
  if (!inRange(selector.executionTimeMs, estimate.executionTimeMs)) return undefined
  if (!inRange(selector.cpuTimeMs, estimate.cpuTimeMs)) return undefined
  if (!inRange(selector.peakMemoryBytes, estimate.peakMemoryBytes)) return undefined
  const userMatch = selector.user === undefined ? null : matchOf(selector.user, query.user)
  if (userMatch === undefined) return undefined
  const sourceMatch = selector.source === undefined ? null : matchOf(selector.source, query.source as string)
  if (sourceMatch === undefined) return undefined
  const variables = new Map<string, string>()
  if (userMatch !== null) addCaptures(variables, userMatch)
  if (sourceMatch !== null) addCaptures(variables, sourceMatch)
  if (!variables.has('USER')) variables.set('USER', query.user)
  if (!variables.has('SOURCE')) variables.set('SOURCE', query.source ?? '')
  return variables
}

/** undefined: no match; null: a match with nothing to capture; else the match with its groups. */
function matchOf(pattern: RegExp, value: string): RegExpExecArray | null | undefined {
  if (!pattern.source.includes('(?<')) return pattern.test(value) ? null : undefined
  return pattern.exec(value) ?? undefined
}

function addCaptures(variables: Map<string, string>, match: RegExpExecArray): void {
  for (const [name, value] of Object.entries(match.groups ?? {})) {
    if (value !== undefined) variables.set(name, value)
  }
}

/** A set range needs the estimate present, with `min <= value` and `value <= max` (both inclusive). */
function inRange(range: EstimateRange | undefined, value: number | undefined): boolean {
  if (range === undefined) return true
  if (value === undefined) return false
  if (range.minimum !== undefined && value < range.minimum) return false
  if (range.maximum !== undefined && value > range.maximum) return false
  return true
}

/**
 * Trino's exact-match lookup: same source, environment equal or NULL, query type equal or NULL;
 * the most specific row wins (a set environment before NULL, then a set query type before NULL).
 * The rows were already filtered to this coordinator's environment (or NULL) when loaded.
 */
export function matchExactSource(
  rows: readonly ExactMatchSourceSelector[],
  query: QueryDescriptor,
): ExactMatchSourceSelector | undefined {
  if (query.source === undefined || rows.length === 0) return undefined
  const queryType = query.queryType?.toUpperCase()
  let best: ExactMatchSourceSelector | undefined
  let bestRank = Number.POSITIVE_INFINITY
  for (const row of rows) {
    if (row.source !== query.source) continue
    if (row.queryType !== null && row.queryType.toUpperCase() !== queryType) continue
    const rank = (row.environment === null ? 2 : 0) + (row.queryType === null ? 1 : 0)
    if (rank < bestRank) {
      best = row
      bestRank = rank
    }
  }
  return best
}
