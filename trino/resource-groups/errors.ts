import { CodedError } from '../../common/errors.ts'

/**
 * The resource-group errors of the mock coordinator, named as Trino names them so a client sees
 * the same `errorName` from the mock as from a real coordinator. The mock's program-wide catalog
 * (`mock-trino/errors.ts`) may re-export these.
 */
export const resourceGroupErrorNames = {
  /** Selection found no rule (`QUERY_REJECTED`, USER_ERROR). */
  queryRejected: 'QUERY_REJECTED',
  /** The leaf or an ancestor can neither run nor queue more (`QUERY_QUEUE_FULL`, INSUFFICIENT_RESOURCES). */
  queryQueueFull: 'QUERY_QUEUE_FULL',
  /** A query was routed to a group that has sub-groups (`INVALID_RESOURCE_GROUP`). */
  invalidResourceGroup: 'INVALID_RESOURCE_GROUP',
  /** The configuration has no selectors, or failed validation (`CONFIGURATION_INVALID`). */
  configurationInvalid: 'CONFIGURATION_INVALID',
  /** The db source never loaded, or its last success is older than the max refresh interval. */
  configurationUnavailable: 'CONFIGURATION_UNAVAILABLE',
  /** A session property out of range, e.g. `query_priority` below 1 (`INVALID_SESSION_PROPERTY`). */
  invalidSessionProperty: 'INVALID_SESSION_PROPERTY',
  /** Trino's catch-all for the IllegalArgument/IllegalState failures of group creation. */
  genericInternalError: 'GENERIC_INTERNAL_ERROR',
} as const

export type ResourceGroupErrorName = (typeof resourceGroupErrorNames)[keyof typeof resourceGroupErrorNames]

/** A resource-group configuration (file, db rows or properties) that Trino would refuse to load. */
export function configurationInvalid(
  message: string,
  details?: Readonly<Record<string, unknown>>,
): CodedError {
  return new CodedError(resourceGroupErrorNames.configurationInvalid, message, 400, details)
}
