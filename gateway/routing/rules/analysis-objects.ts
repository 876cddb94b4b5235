/**
 * The `trinoQueryProperties` and `trinoRequestUser` variables of a rule, over the analyzer's plain
 * data. Method names follow Trino Gateway's classes so rule files run unchanged.
 */
import type { TrinoQueryProperties } from '../analyzer/query-properties.ts'
import { tablesContain } from '../analyzer/query-properties.ts'
import type { TrinoRequestUser } from '../analyzer/request-user.ts'
import { type HostMethod, HostObject, JavaOptional, JavaSet, type Value } from './model.ts'
import { requestMethodNames } from './request-object.ts'

function method(arity: number, call: (args: readonly Value[]) => Value): HostMethod {
  return { arity, call }
}

export const queryPropertiesMethodNames = [
  'getBody',
  'getQueryType',
  'getResourceGroupQueryType',
  'getTables',
  'tablesContains',
  'getDefaultCatalog',
  'getDefaultSchema',
  'getCatalogs',
  'getSchemas',
  'getCatalogSchemas',
  'isNewQuerySubmission',
  'isQueryParsingSuccessful',
  'getErrorMessage',
] as const

export const requestUserMethodNames = ['getUser', 'getUserInfo', 'userExistsAndEquals'] as const

export function createQueryPropertiesObject(properties: TrinoQueryProperties): HostObject {
  // Sets are built once per request and shared by every rule; rules that add to them would only
  // change their own view, so each getter returns a fresh copy.
  const methods = new Map<string, HostMethod>([
    ['getBody', method(0, () => properties.body)],
    ['getQueryType', method(0, () => properties.queryType)],
    ['getResourceGroupQueryType', method(0, () => properties.resourceGroupQueryType)],
    // Trino Gateway returns QualifiedName objects; dotted strings are what a rule can compare.
    ['getTables', method(0, () => new JavaSet(properties.tables.map((table) => table.join('.'))))],
    ['tablesContains', method(1, ([name]) => typeof name === 'string' && tablesContain(properties, name))],
    ['getDefaultCatalog', method(0, () => JavaOptional.ofNullable(properties.defaultCatalog))],
    ['getDefaultSchema', method(0, () => JavaOptional.ofNullable(properties.defaultSchema))],
    ['getCatalogs', method(0, () => new JavaSet(properties.catalogs))],
    ['getSchemas', method(0, () => new JavaSet(properties.schemas))],
    ['getCatalogSchemas', method(0, () => new JavaSet(properties.catalogSchemas))],
    ['isNewQuerySubmission', method(0, () => properties.isNewQuerySubmission)],
    ['isQueryParsingSuccessful', method(0, () => properties.isQueryParsingSuccessful)],
    ['getErrorMessage', method(0, () => JavaOptional.ofNullable(properties.errorMessage))],
  ])
  return new HostObject('TrinoQueryProperties', methods)
}

export function createRequestUserObject(user: TrinoRequestUser): HostObject {
  const methods = new Map<string, HostMethod>([
    ['getUser', method(0, () => JavaOptional.ofNullable(user.user))],
    ['getUserInfo', method(0, () => JavaOptional.emptyOptional)],
    ['userExistsAndEquals', method(1, ([name]) => user.user !== null && user.user === name)],
  ])
  return new HostObject('TrinoRequestUser', methods)
}

/** Bean-style names (`queryType` for `getQueryType`, `newQuerySubmission` for `isNewQuerySubmission`). */
function withBeanNames(names: readonly string[]): string[] {
  const all: string[] = []
  for (const name of names) {
    all.push(name)
    const bean = /^(?:get|is)([A-Z].*)$/.exec(name)
    if (bean !== null) {
      const property = bean[1] as string
      all.push(`${property[0]?.toLowerCase()}${property.slice(1)}`)
    }
  }
  return all
}

/** Every host-object member name a rule may write; the parser refuses all others. */
export const hostMemberNames: ReadonlySet<string> = new Set(
  withBeanNames([...requestMethodNames, ...queryPropertiesMethodNames, ...requestUserMethodNames]),
)
