import { CodedError } from '../common/errors.ts'

/**
 * The mock coordinator's one error catalog. Two kinds live here:
 * - Trino's own error codes (`StandardErrorCode`), which the protocol reports inside `QueryError`
 *   objects exactly as a coordinator does (name, numeric code, type, failure class);
 * - the mock program's own errors (configuration, control API), as `CodedError`s with stable codes.
 */

export type TrinoErrorType = 'USER_ERROR' | 'INTERNAL_ERROR' | 'INSUFFICIENT_RESOURCES' | 'EXTERNAL'

export interface TrinoErrorCode {
  readonly name: string
  readonly code: number
  readonly type: TrinoErrorType
  /** The Java exception class Trino puts in `failureInfo.type` for this error. */
  readonly failureType: string
  /** The message used when a query is failed with this error and no message is given. */
  readonly defaultMessage: string
}

const trinoException = 'io.trino.spi.TrinoException'

function code(
  name: string,
  numeric: number,
  type: TrinoErrorType,
  defaultMessage: string,
  failureType = trinoException,
): TrinoErrorCode {
  return { name, code: numeric, type, failureType, defaultMessage }
}

/** Trino's StandardErrorCode entries a mock query can fail with (codes from `StandardErrorCode.java`). */
export const trinoErrorCodes = {
  GENERIC_USER_ERROR: code('GENERIC_USER_ERROR', 0, 'USER_ERROR', 'Query failed'),
  SYNTAX_ERROR: code('SYNTAX_ERROR', 1, 'USER_ERROR', 'Syntax error', 'io.trino.sql.parser.ParsingException'),
  ABANDONED_QUERY: code('ABANDONED_QUERY', 2, 'USER_ERROR', 'Query was abandoned'),
  USER_CANCELED: code('USER_CANCELED', 3, 'USER_ERROR', 'Query was canceled'),
  PERMISSION_DENIED: code(
    'PERMISSION_DENIED',
    4,
    'USER_ERROR',
    'Access Denied',
    'io.trino.spi.security.AccessDeniedException',
  ),
  NOT_FOUND: code('NOT_FOUND', 5, 'USER_ERROR', 'Not found'),
  FUNCTION_NOT_FOUND: code('FUNCTION_NOT_FOUND', 6, 'USER_ERROR', 'Function not found'),
  INVALID_FUNCTION_ARGUMENT: code('INVALID_FUNCTION_ARGUMENT', 7, 'USER_ERROR', 'Invalid function argument'),
  DIVISION_BY_ZERO: code('DIVISION_BY_ZERO', 8, 'USER_ERROR', 'Division by zero'),
  INVALID_CAST_ARGUMENT: code('INVALID_CAST_ARGUMENT', 9, 'USER_ERROR', 'Cannot cast value'),
  NOT_SUPPORTED: code('NOT_SUPPORTED', 13, 'USER_ERROR', 'This operation is not supported'),
  INVALID_SESSION_PROPERTY: code('INVALID_SESSION_PROPERTY', 14, 'USER_ERROR', 'Invalid session property'),
  QUERY_REJECTED: code('QUERY_REJECTED', 31, 'USER_ERROR', 'Query was rejected'),
  QUERY_TEXT_TOO_LARGE: code('QUERY_TEXT_TOO_LARGE', 35, 'USER_ERROR', 'Query text too large'),
  ADMINISTRATIVELY_KILLED: code(
    'ADMINISTRATIVELY_KILLED',
    38,
    'USER_ERROR',
    'Query killed by an administrator',
  ),
  TABLE_NOT_FOUND: code('TABLE_NOT_FOUND', 46, 'USER_ERROR', 'Table not found'),
  COLUMN_NOT_FOUND: code('COLUMN_NOT_FOUND', 47, 'USER_ERROR', 'Column not found'),
  SCHEMA_NOT_FOUND: code('SCHEMA_NOT_FOUND', 45, 'USER_ERROR', 'Schema not found'),
  CATALOG_NOT_FOUND: code('CATALOG_NOT_FOUND', 44, 'USER_ERROR', 'Catalog not found'),
  GENERIC_INTERNAL_ERROR: code('GENERIC_INTERNAL_ERROR', 65536, 'INTERNAL_ERROR', 'Internal error'),
  SERVER_STARTING_UP: code(
    'SERVER_STARTING_UP',
    65548,
    'INTERNAL_ERROR',
    'Trino server is still initializing',
  ),
  CONFIGURATION_INVALID: code('CONFIGURATION_INVALID', 65559, 'INTERNAL_ERROR', 'Configuration is invalid'),
  CONFIGURATION_UNAVAILABLE: code(
    'CONFIGURATION_UNAVAILABLE',
    65560,
    'INTERNAL_ERROR',
    'Configuration is unavailable',
  ),
  INVALID_RESOURCE_GROUP: code('INVALID_RESOURCE_GROUP', 65561, 'INTERNAL_ERROR', 'Invalid resource group'),
  GENERIC_INSUFFICIENT_RESOURCES: code(
    'GENERIC_INSUFFICIENT_RESOURCES',
    131072,
    'INSUFFICIENT_RESOURCES',
    'Insufficient resources',
  ),
  EXCEEDED_GLOBAL_MEMORY_LIMIT: code(
    'EXCEEDED_GLOBAL_MEMORY_LIMIT',
    131073,
    'INSUFFICIENT_RESOURCES',
    'Query exceeded distributed user memory limit',
    'io.trino.ExceededMemoryLimitException',
  ),
  QUERY_QUEUE_FULL: code(
    'QUERY_QUEUE_FULL',
    131074,
    'INSUFFICIENT_RESOURCES',
    'Too many queued queries',
    'io.trino.execution.resourcegroups.QueryQueueFullException',
  ),
  EXCEEDED_TIME_LIMIT: code(
    'EXCEEDED_TIME_LIMIT',
    131075,
    'INSUFFICIENT_RESOURCES',
    'Query exceeded maximum time limit',
  ),
  CLUSTER_OUT_OF_MEMORY: code(
    'CLUSTER_OUT_OF_MEMORY',
    131076,
    'INSUFFICIENT_RESOURCES',
    'Query killed because the cluster is out of memory',
  ),
  EXCEEDED_CPU_LIMIT: code(
    'EXCEEDED_CPU_LIMIT',
    131077,
    'INSUFFICIENT_RESOURCES',
    'Query exceeded CPU limit',
  ),
  EXCEEDED_LOCAL_MEMORY_LIMIT: code(
    'EXCEEDED_LOCAL_MEMORY_LIMIT',
    131079,
    'INSUFFICIENT_RESOURCES',
    'Query exceeded per-node memory limit',
    'io.trino.ExceededMemoryLimitException',
  ),
  ADMINISTRATIVELY_PREEMPTED: code(
    'ADMINISTRATIVELY_PREEMPTED',
    131080,
    'INSUFFICIENT_RESOURCES',
    'Query preempted by an administrator',
  ),
} as const satisfies Record<string, TrinoErrorCode>

export type TrinoErrorName = keyof typeof trinoErrorCodes

export const trinoErrorNames = Object.keys(trinoErrorCodes) as [TrinoErrorName, ...TrinoErrorName[]]

export function isTrinoErrorName(name: string): name is TrinoErrorName {
  return Object.hasOwn(trinoErrorCodes, name)
}

/** The mock program's own errors: configuration files, CLI flags and the control API. */
export const mockErrors = {
  MOCK_CONFIG_INVALID: 'MOCK_CONFIG_INVALID',
  MOCK_CONFIG_UNREADABLE: 'MOCK_CONFIG_UNREADABLE',
  MOCK_ETC_INVALID: 'MOCK_ETC_INVALID',
  MOCK_CLI_INVALID: 'MOCK_CLI_INVALID',
  MOCK_CONTROL_INVALID: 'MOCK_CONTROL_INVALID',
  MOCK_QUERY_NOT_FOUND: 'MOCK_QUERY_NOT_FOUND',
  MOCK_SCHEDULER_INVARIANT: 'MOCK_SCHEDULER_INVARIANT',
} as const

export type MockErrorCode = keyof typeof mockErrors

export function mockError(
  code: MockErrorCode,
  message: string,
  statusCode = 400,
  details?: Readonly<Record<string, unknown>>,
): CodedError {
  return new CodedError(code, message, statusCode, details)
}
