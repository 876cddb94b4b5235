/**
 * The gateway's one catalog of errors. Each entry is a stable code (it appears in logs, HTTP bodies
 * and tests) with the HTTP status it maps to and what it means. Append new entries; never rename
 * or renumber one, since operators and tests match on the codes.
 */
import { catalogErrors, type ErrorCatalog } from '../common/errors.ts'
import { routingRuleErrors } from './routing/rules/errors.ts'

export const gatewayErrors = {
  // Configuration (gateway/config.ts): start-up stops on any of these.
  CONFIG_FILE_UNREADABLE: { statusCode: 500, summary: 'the config file cannot be read' },
  CONFIG_YAML_INVALID: { statusCode: 500, summary: 'the config file is not valid YAML' },
  CONFIG_INVALID: { statusCode: 500, summary: 'a config key has a wrong type or value, or is unknown' },
  CONFIG_KEY_NOT_SUPPORTED: {
    statusCode: 500,
    summary: 'a Trino Gateway config key that trino-gateway-lab does not implement yet',
  },
  CONFIG_ENV_UNSET: { statusCode: 500, summary: 'the config references an unset environment variable' },

  // Store (gateway/store/*).
  DATASTORE_URL_INVALID: { statusCode: 500, summary: 'dataStore.jdbcUrl cannot be parsed' },
  DATASTORE_NOT_SUPPORTED: {
    statusCode: 500,
    summary: 'dataStore.jdbcUrl names a database other than PostgreSQL',
  },
  STORE_MIGRATION_FAILED: {
    statusCode: 500,
    summary: 'a schema migration failed or was changed after being applied',
  },
  EMBEDDED_DATABASE_FAILED: { statusCode: 500, summary: 'the embedded PostgreSQL (PGlite) could not start' },
  BACKEND_ALREADY_EXISTS: { statusCode: 409, summary: 'a backend with this name exists already' },

  // Data plane (gateway/proxy/*): the body of each is `{code, message, details?}` as JSON.
  PROXY_METHOD_NOT_ALLOWED: {
    statusCode: 405,
    summary: 'a proxied path was called with a method other than GET, POST, PUT, DELETE or HEAD',
  },
  NO_ROUTABLE_BACKEND: {
    statusCode: 503,
    summary: 'neither the selected routing group nor the default group has an active HEALTHY backend',
  },
  QUERY_NOT_FOUND: {
    statusCode: 404,
    summary: 'a follow-up names a query id that no cache, query_history row or backend probe knows',
  },
  ROUTING_SELECTOR_FAILED: {
    statusCode: 500,
    summary: 'the routing-group selector (rules, external service) failed',
  },
  BACKEND_UNREACHABLE: { statusCode: 502, summary: 'the chosen backend refused or dropped the connection' },
  BACKEND_TIMEOUT: {
    statusCode: 504,
    summary: 'the chosen backend did not answer within routing.asyncTimeout',
  },
  QUERY_HISTORY_WRITE_FAILED: {
    statusCode: 503,
    summary:
      'the query id could not be recorded durably, so follow-ups could not be routed; the query was cancelled',
  },

  ROUTING_TOKEN_INVALID: {
    statusCode: 400,
    summary:
      'a follow-up carries a tgRoute routing token that is malformed, signed with no key in routing.tokenKeys, not signed for its query id, or names no registered backend',
  },

  // Admin API (gateway/api/*).
  REQUEST_BODY_INVALID: { statusCode: 400, summary: 'an admin API body is malformed or fails validation' },
  BACKEND_NOT_FOUND: { statusCode: 404, summary: 'no backend has this name' },
  ENTITY_TYPE_INVALID: {
    statusCode: 400,
    summary: '/entity was called without entityType or with one other than GATEWAY_BACKEND',
  },
  // Store (gateway/store/*), continued.
  STORE_QUERY_IN_TRANSACTION: {
    statusCode: 500,
    summary: 'code inside store.transaction() used another connection, which deadlocks the embedded database',
  },

  // Admin authentication and roles (gateway/auth/*).
  AUTHENTICATION_REQUIRED: {
    statusCode: 401,
    summary:
      'an admin route needs a login (session cookie, Bearer token or Basic credentials) and none was sent',
  },
  LOGIN_FAILED: {
    statusCode: 401,
    summary: 'the credentials or the session sent were not accepted (which part was wrong is not said)',
  },
  ROLE_REQUIRED: { statusCode: 403, summary: 'the logged-in user lacks the role this route needs' },
  UI_ASSETS_UNAVAILABLE: {
    statusCode: 500,
    summary: 'the web UI bundle could not be built or read (run npm run build for dist/web)',
  },

  // Data-plane workers (gateway/workers/*, `workers` > 1).
  WORKERS_PRIMARY_UNREACHABLE: {
    statusCode: 503,
    summary:
      'an admin change was written to the database, but the primary process that puts it in force in every worker did not answer',
  },
  WORKER_START_FAILED: {
    statusCode: 500,
    summary: 'a data-plane worker exited before listening while the gateway started, so the gateway stopped',
  },

  // Routing rules, request analysis and the external routing service (gateway/routing/rules/*).
  ...routingRuleErrors,
} as const satisfies ErrorCatalog

export type GatewayErrorCode = keyof typeof gatewayErrors

/** Builds the CodedError of a catalog entry, with its status code. */
export const gatewayError = catalogErrors(gatewayErrors)
