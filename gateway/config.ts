/**
 * Reads Trino Gateway's `config.yaml` (trino-gateway.md section 2) into a normalized, typed
 * `GatewayConfig`: defaults applied, durations in milliseconds.
 *
 * Three kinds of refusal, each a CodedError from gateway/errors.ts naming the key path:
 * - a Trino Gateway key this project does not implement yet: CONFIG_KEY_NOT_SUPPORTED, never
 *   silently ignored;
 * - an unknown key, a wrong type or a bad value: CONFIG_INVALID, with the value and the expected form;
 * - `${ENV:NAME}` naming an unset variable: CONFIG_ENV_UNSET.
 *
 * Adding a section: give it a schema in `sectionSchemas` (output = its normalized shape) and take
 * its name out of `keysNotYetSupported`.
 */
import { readFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import { z } from 'zod'
import { isDuration, parseDurationMs } from '../common/duration.ts'
import { CodedError, describeIssues } from '../common/errors.ts'
import {
  authenticationSchema,
  authorizationSchema,
  type PagePermissions,
  pagePermissionsSchema,
  presetUsersSchema,
  type SecurityConfig,
  uiConfigurationSchema,
} from './auth/config.ts'
import { healthThresholdMax } from './clusters/flap-guard.ts'
import { defaultMetricsProbeConfig } from './clusters/probes/metrics.ts'
import { gatewayError } from './errors.ts'
import { routingKeyIdCharsMax, routingKeyIdPattern, routingKeySecretCharsMin } from './proxy/routing-token.ts'
import { requestAnalyzerConfigSchema } from './routing/analyzer/config.ts'
import { queryCountBasedRouterModule } from './routing/query-count-router.ts'
import { routingRulesConfigSchema } from './routing/rules/config.ts'
import { resolvePostgresUrl } from './store/connection.ts'
import {
  historyModes,
  historyWriteIntervalMsDefault,
  historyWriteIntervalMsMax,
} from './store/history-writer.ts'
import type { UiPage } from './ui/pages.ts'

/** The statement path Trino Gateway always proxies; `additionalStatementPaths` extend it. */
export const defaultStatementPath = '/v1/statement'
/** The health monitor never runs more often than this, whatever `monitor.taskDelay` says. */
export const monitorTaskDelayMsMin = 10
/** Retries of one health probe at most (`monitor.retries`). */
export const monitorRetriesMax = 100
/** Data-plane processes at most (`workers`). */
export const workersMax = 256

/** Trino Gateway keys refused by name until this project implements them (`a.b` = key b of a). */
export const keysNotYetSupported: readonly string[] = [
  'managedApps',
  'includeClusterHostInResponse',
  'proxyResponseConfiguration',
  'gatewayCookieConfiguration',
  'oauth2GatewayCookieConfiguration',
  'databaseCache',
  'authentication.oauth',
  'monitor.explicitPrepare',
  'monitor.clusterMetricsRegistryRefreshPeriod',
]

/** Trino Gateway's monitor types this project does not implement yet (none left). */
export const monitorTypesNotYetSupported: readonly string[] = []

/** Every `clusterStatsConfiguration.monitorType`; all but INFO_API and NOOP need `backendState`. */
export const monitorTypes = ['INFO_API', 'NOOP', 'UI_API', 'METRICS', 'JMX', 'JDBC'] as const

/** Trino Gateway's former default modules: listing them stops its start-up, so it stops ours. */
const formerDefaultModules: readonly string[] = [
  'io.trino.gateway.ha.module.HaGatewayProviderModule',
  'io.trino.gateway.ha.module.ClusterStateListenerModule',
  'io.trino.gateway.ha.module.ClusterStatsMonitorModule',
]

/** Airlift properties of `serverConfig` this project reads; every other one is refused by name. */
export const supportedServerConfigKeys: readonly string[] = ['http-server.http.port', 'node.environment']

/** Keys Trino Gateway renamed or dropped: refused with a pointer to the current name. */
const formerKeys: Readonly<Record<string, string>> = {
  'routing.addXForwardedHeaders': 'renamed to routing.forwardedHeadersEnabled in Trino Gateway 19',
  'monitor.taskDelaySeconds': 'replaced by monitor.taskDelay (a duration such as 1m) in Trino Gateway 16',
  'monitor.connectTimeoutSeconds':
    'no longer exists in Trino Gateway; its HTTP client settings live in serverConfig',
  'monitor.requestTimeoutSeconds':
    'no longer exists in Trino Gateway; its HTTP client settings live in serverConfig',
  'monitor.idleTimeoutSeconds':
    'no longer exists in Trino Gateway; its HTTP client settings live in serverConfig',
}

const durationExpected =
  'expected an Airlift duration: a number and a unit (ns, us, ms, s, m, h, d), e.g. 500ms or 1m'

/** Jackson turns "true" and "42" into a boolean and an int; so do we (`${ENV:X}` values are text). */
function booleanKey() {
  return z.preprocess(
    (value) => (value === 'true' ? true : value === 'false' ? false : value),
    z.boolean({ error: 'expected true or false' }),
  )
}

function integerKey(min: number, max: number) {
  return z.preprocess(
    (value) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value),
    z
      .number({ error: `expected an integer from ${min} to ${max}` })
      .int({ error: `expected an integer from ${min} to ${max}` })
      .min(min, { error: `expected an integer from ${min} to ${max}` })
      .max(max, { error: `expected an integer from ${min} to ${max}` }),
  )
}

function durationMsKey(minMs: number) {
  return z
    .string({ error: durationExpected })
    .refine(isDuration, { error: durationExpected })
    .transform(parseDurationMs)
    .refine((ms) => ms >= minMs, { error: `expected a duration of at least ${minMs}ms` })
}

const nonEmptyString = z
  .string({ error: 'expected a non-empty string' })
  .min(1, { error: 'expected a non-empty string' })
const optionalString = z.string({ error: 'expected a string' }).optional()

/** For a section given as something other than a mapping; unknown keys get their own message. */
const mappingExpected = {
  error: (issue: { code?: string }) =>
    issue.code === 'invalid_type' ? 'expected a mapping of keys' : undefined,
}

const serverConfigSchema = z
  .strictObject(
    {
      'http-server.http.port': integerKey(0, 65_535).default(8080),
      'node.environment': z
        .string({ error: 'expected a string' })
        .regex(/^[a-z0-9][_a-z0-9]*$/, {
          error:
            'expected lower-case letters, digits and underscores, starting with a letter or digit (Airlift rule)',
        })
        .optional(),
    },
    mappingExpected,
  )
  .transform((section) => ({
    /** 0 asks the system for an ephemeral port. */
    httpPort: section['http-server.http.port'],
    nodeEnvironment: section['node.environment'],
  }))

const dataStoreSchema = z.strictObject(
  {
    /** Absent: the embedded PostgreSQL. */
    jdbcUrl: nonEmptyString.optional(),
    user: optionalString,
    password: optionalString,
    /** Accepted and ignored, as Trino Gateway does (the URL picks the driver). */
    driver: optionalString,
    queryHistoryEnabled: booleanKey().default(true),
    queryHistoryHoursRetention: integerKey(1, 24 * 365 * 10).default(4),
    runMigrationsEnabled: booleanKey().default(true),
  },
  mappingExpected,
)

const routingTokenKeySchema = z.strictObject(
  {
    id: z.string({ error: 'expected a key id (string)' }).regex(routingKeyIdPattern, {
      error: `expected 1 to ${routingKeyIdCharsMax} characters of A-Z, a-z, 0-9, _ and -`,
    }),
    secret: z.string({ error: 'expected a secret (string)' }).min(routingKeySecretCharsMin, {
      error: `expected a secret of at least ${routingKeySecretCharsMin} characters`,
    }),
  },
  mappingExpected,
)

/** Our extension: the first key signs routing tokens, every key verifies them (rotation). */
const routingTokenKeysSchema = z
  .array(routingTokenKeySchema, { error: 'expected a list of {id, secret} mappings' })
  .superRefine((keys, context) => {
    const seen = new Set<string>()
    for (const [index, key] of keys.entries()) {
      if (seen.has(key.id))
        context.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate key id ${key.id}` })
      seen.add(key.id)
    }
  })

const routingSchema = z
  .strictObject(
    {
      defaultRoutingGroup: nonEmptyString.default('adhoc'),
      asyncTimeout: durationMsKey(1).prefault('2m'),
      forwardedHeadersEnabled: booleanKey().default(true),
      /** Our extension: rewrite `nextUri` / `infoUri` that point at the backend to the gateway. */
      rewriteNextUri: booleanKey().default(true),
      /** Our extension: how the query-count router breaks ties (`first` as Trino Gateway, or `random`). */
      tieBreak: z.enum(['first', 'random'], { error: 'expected first or random' }).default('first'),
      /** Our extension: keys of the routing tokens in rewritten URIs; none: one random key per process. */
      tokenKeys: routingTokenKeysSchema.default([]),
      /** Our extension: how a new query's query_history row is written (see store/history-writer.ts). */
      history: z.enum(historyModes, { error: 'expected write-behind or sync' }).default('write-behind'),
      /** Our extension: write-behind writes start at most this often (group commit); 0ms: back to back. */
      historyWriteInterval: durationMsKey(0)
        .refine((ms) => ms <= historyWriteIntervalMsMax, {
          error: `expected a duration of at most ${historyWriteIntervalMsMax}ms`,
        })
        .prefault(`${historyWriteIntervalMsDefault}ms`),
    },
    mappingExpected,
  )
  .transform(({ asyncTimeout, historyWriteInterval, ...rest }) => ({
    ...rest,
    asyncTimeoutMs: asyncTimeout,
    historyWriteIntervalMs: historyWriteInterval,
  }))

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

const metricBoundsSchema = z
  .record(
    z.string(),
    z.preprocess(
      (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
      z.number({ error: 'expected a number' }).refine(Number.isFinite, { error: 'expected a finite number' }),
    ),
    { error: 'expected a mapping of metric name to number' },
  )
  .superRefine((bounds, context) => {
    for (const name of Object.keys(bounds)) {
      if (!metricNamePattern.test(name)) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: 'expected a Prometheus metric name (letters, digits, _ and :) as the key',
        })
      }
    }
  })

const metricNameKey = z.string({ error: 'expected a metric name' }).regex(metricNamePattern, {
  error: 'expected a Prometheus metric name (letters, digits, _ and :)',
})

const monitorSchema = z
  .strictObject(
    {
      taskDelay: durationMsKey(monitorTaskDelayMsMin).prefault('1m'),
      retries: integerKey(0, monitorRetriesMax).default(0),
      /** JDBC: the whole runtime.queries query. */
      queryTimeout: durationMsKey(1).prefault('10s'),
      metricsEndpoint: z
        .string({ error: 'expected an absolute path such as /metrics' })
        .regex(/^\/[^?#\s]*$/, { error: 'expected an absolute path such as /metrics' })
        .default(defaultMetricsProbeConfig.metricsEndpoint),
      runningQueriesMetricName: metricNameKey.default(defaultMetricsProbeConfig.runningQueriesMetricName),
      queuedQueriesMetricName: metricNameKey.default(defaultMetricsProbeConfig.queuedQueriesMetricName),
      // Replaced, not merged, when set (as Trino Gateway does).
      metricMinimumValues: metricBoundsSchema.default({ ...defaultMetricsProbeConfig.metricMinimumValues }),
      metricMaximumValues: metricBoundsSchema.default({ ...defaultMetricsProbeConfig.metricMaximumValues }),
      /** Our extension (Trino Gateway #671): failed probes in a row before a HEALTHY cluster leaves. */
      failureThreshold: integerKey(1, healthThresholdMax).default(1),
      /** Our extension: successful probes in a row before a cluster taken out returns. */
      successThreshold: integerKey(1, healthThresholdMax).default(1),
    },
    mappingExpected,
  )
  .transform(({ taskDelay, queryTimeout, ...rest }) => ({
    taskDelayMs: taskDelay,
    queryTimeoutMs: queryTimeout,
    ...rest,
  }))

const clusterStatsConfigurationSchema = z.strictObject(
  {
    monitorType: z
      .enum(monitorTypes, { error: `expected one of ${monitorTypes.join(', ')}` })
      .default('INFO_API'),
  },
  mappingExpected,
)

const backendStateSchema = z.strictObject(
  {
    username: nonEmptyString,
    password: z.string({ error: 'expected a string' }).default(''),
    ssl: booleanKey().default(false),
    xForwardedProtoHeader: booleanKey().default(false),
  },
  mappingExpected,
)

const modulesSchema = z
  .array(z.string({ error: 'expected a fully qualified class name' }), {
    error: 'expected a list of fully qualified class names',
  })
  .superRefine((modules, context) => {
    modules.forEach((module, index) => {
      if (formerDefaultModules.includes(module)) {
        context.addIssue({
          code: 'custom',
          path: [index],
          message: `${module} was a default module of older Trino Gateway releases and must not be listed; remove it`,
        })
      } else if (module !== queryCountBasedRouterModule) {
        context.addIssue({
          code: 'custom',
          path: [index],
          message: `unknown module; expected ${queryCountBasedRouterModule}`,
        })
      }
    })
  })

const extraWhitelistPathsSchema = z
  .array(z.string({ error: 'expected a regular expression (string)' }), {
    error: 'expected a list of regular expressions',
  })
  .superRefine((patterns, context) => {
    patterns.forEach((pattern, index) => {
      const problem = regexProblem(pattern)
      if (problem !== undefined) {
        context.addIssue({
          code: 'custom',
          path: [index],
          message: `invalid regex pattern (${problem}); expected a regular expression matching whole paths, e.g. /api/v1/custom/.*`,
        })
      }
    })
  })

const additionalStatementPathsSchema = z
  .array(z.string({ error: 'expected an absolute path (string)' }), {
    error: 'expected a list of absolute paths',
  })
  .superRefine((paths, context) => {
    for (const { index, message } of statementPathProblems(paths)) {
      context.addIssue({ code: 'custom', path: [index], message })
    }
  })
  .transform((paths) => paths.map(stripTrailingSlashes))

/** One entry per top-level key: the schema of the section, whose output is its normalized shape. */
const sectionSchemas = {
  serverConfig: serverConfigSchema.prefault({}),
  dataStore: dataStoreSchema.prefault({}),
  routing: routingSchema.prefault({}),
  monitor: monitorSchema.prefault({}),
  clusterStatsConfiguration: clusterStatsConfigurationSchema.prefault({}),
  backendState: backendStateSchema.optional(),
  modules: modulesSchema.default([]),
  extraWhitelistPaths: extraWhitelistPathsSchema.default([]),
  additionalStatementPaths: additionalStatementPathsSchema.default([]),
  routingRules: routingRulesConfigSchema.prefault({}),
  requestAnalyzerConfig: requestAnalyzerConfigSchema,
  authentication: authenticationSchema.optional(),
  authorization: authorizationSchema.prefault({}),
  presetUsers: presetUsersSchema.default({}),
  pagePermissions: pagePermissionsSchema,
  uiConfiguration: uiConfigurationSchema,
  /**
   * Our extension: data-plane processes sharing the port (gateway/workers/); absent: one per core
   * (os.availableParallelism()) when started by gateway/main.ts. 1 is one process, as before.
   */
  workers: integerKey(1, workersMax).optional(),
}

const configSchema = z.strictObject(sectionSchemas)

type ParsedSections = z.output<typeof configSchema>

export interface GatewayConfig {
  /** Where the config came from (a file path, or a label for configs built in code). */
  source: string
  serverConfig: ParsedSections['serverConfig']
  dataStore: ParsedSections['dataStore']
  routing: ParsedSections['routing']
  monitor: ParsedSections['monitor']
  clusterStatsConfiguration: ParsedSections['clusterStatsConfiguration']
  /** Monitor credentials; required by every monitor type but INFO_API and NOOP. */
  backendState: ParsedSections['backendState']
  /** Guice modules as Trino Gateway names them; only the query-count router is known. */
  modules: string[]
  routingRules: ParsedSections['routingRules']
  requestAnalyzerConfig: ParsedSections['requestAnalyzerConfig']
  /** Regexes a whole request path must match to be proxied (validated; not anchored here). */
  extraWhitelistPaths: string[]
  /** `/v1/statement` followed by `additionalStatementPaths`, trailing slashes stripped. */
  statementPaths: string[]
  /** Admin authentication and roles; undefined when `authentication` is absent (security off). */
  security: SecurityConfig | undefined
  /** `uiConfiguration`: pages the web UI shows nobody. */
  uiConfiguration: { disablePages: UiPage[] }
  /** `workers`: data-plane processes; undefined: one per core (gateway/main.ts decides). */
  workers: number | undefined
}

/** Reads, substitutes `${ENV:NAME}`, parses and validates a config file. */
export async function loadGatewayConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GatewayConfig> {
  return parseGatewayConfigFile(await readConfigFile(path), path, env)
}

/** A config file's text; CONFIG_FILE_UNREADABLE names the path when it cannot be read. */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    throw gatewayError(
      'CONFIG_FILE_UNREADABLE',
      `cannot read config file ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { source: path },
    )
  }
}

/** What loadGatewayConfig does after reading: `${ENV:NAME}`, YAML, validation. */
export function parseGatewayConfigFile(text: string, path: string, env: NodeJS.ProcessEnv): GatewayConfig {
  return parseGatewayConfig(parseConfigText(substituteEnvironment(text, env, path), path), path)
}

/** Parses YAML text; an empty file is an empty config. */
export function parseConfigText(text: string, source: string): unknown {
  const document = parseDocument(text, { prettyErrors: true })
  const firstError = document.errors[0]
  if (firstError !== undefined) {
    throw gatewayError('CONFIG_YAML_INVALID', `${source}: not valid YAML: ${firstError.message}`, { source })
  }
  return document.toJS()
}

const environmentReference = /\$\{ENV:([a-zA-Z][a-zA-Z0-9_-]*)\}/g

/** Replaces every `${ENV:NAME}` with the variable's value, as Trino Gateway does before parsing. */
export function substituteEnvironment(text: string, env: NodeJS.ProcessEnv, source: string): string {
  return text.replace(environmentReference, (_reference, name: string, offset: number) => {
    const value = env[name]
    if (value === undefined) {
      const line = text.slice(0, offset).split('\n').length
      throw gatewayError(
        'CONFIG_ENV_UNSET',
        `Configuration references unset environment variable '${name}' (${source}, line ${line})`,
        { source, variable: name, line },
      )
    }
    return value
  })
}

/** Validates an already parsed config document and normalizes it. */
export function parseGatewayConfig(raw: unknown, source: string): GatewayConfig {
  const document = raw === null || raw === undefined ? {} : raw
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw gatewayError(
      'CONFIG_INVALID',
      `${source}: the config must be a mapping of keys (got ${JSON.stringify(document)})`,
      { source, problems: [] },
    )
  }
  const notSupported = findKeysNotYetSupported(document as Record<string, unknown>)
  if (notSupported.length > 0) {
    throw gatewayError(
      'CONFIG_KEY_NOT_SUPPORTED',
      `${source}: ${notSupported.length === 1 ? 'a key' : 'keys'} not yet supported by trino-gateway-lab:\n${bulletList(notSupported)}`,
      { source, problems: notSupported },
    )
  }

  const parsed = configSchema.safeParse(document)
  if (!parsed.success) {
    const problems = describeIssues(
      parsed.error.issues.flatMap(expandUnknownKeys),
      withSecretsHidden(document),
    )
    throw gatewayError('CONFIG_INVALID', `${source}: invalid configuration:\n${bulletList(problems)}`, {
      source,
      problems,
    })
  }
  const sections = parsed.data
  const { jdbcUrl } = sections.dataStore
  if (jdbcUrl !== undefined) checkJdbcUrl({ ...sections.dataStore, jdbcUrl }, source)
  const { monitorType } = sections.clusterStatsConfiguration
  if (monitorType !== 'INFO_API' && monitorType !== 'NOOP' && sections.backendState === undefined) {
    const problem = `backendState: BackendStateConfiguration is required for monitor type: ${monitorType}; expected backendState.username (and password, ssl, xForwardedProtoHeader as needed)`
    throw gatewayError('CONFIG_INVALID', `${source}: invalid configuration:\n${bulletList([problem])}`, {
      source,
      problems: [problem],
    })
  }
  return {
    source,
    serverConfig: sections.serverConfig,
    dataStore: sections.dataStore,
    routing: sections.routing,
    monitor: sections.monitor,
    clusterStatsConfiguration: sections.clusterStatsConfiguration,
    backendState: sections.backendState,
    modules: sections.modules,
    routingRules: sections.routingRules,
    requestAnalyzerConfig: sections.requestAnalyzerConfig,
    extraWhitelistPaths: sections.extraWhitelistPaths,
    statementPaths: [defaultStatementPath, ...sections.additionalStatementPaths],
    security:
      sections.authentication === undefined
        ? undefined
        : {
            authentication: sections.authentication,
            roleRegexes: sections.authorization,
            presetUsers: sections.presetUsers,
            pagePermissions: sections.pagePermissions as PagePermissions | undefined,
          },
    uiConfiguration: sections.uiConfiguration,
    workers: sections.workers,
  }
}

/** Every not-yet-supported Trino Gateway key, monitor type or Airlift property present, by path. */
function findKeysNotYetSupported(document: Record<string, unknown>): string[] {
  const found: string[] = []
  for (const key of keysNotYetSupported) {
    const [section, child] = key.split('.') as [string, string | undefined]
    const value = document[section]
    if (child === undefined ? section in document : isMapping(value) && child in value) {
      found.push(`${key}: a Trino Gateway key not yet supported by trino-gateway-lab; remove it to start`)
    }
  }
  const serverConfig = document.serverConfig
  if (isMapping(serverConfig)) {
    for (const key of Object.keys(serverConfig)) {
      if (!supportedServerConfigKeys.includes(key)) {
        found.push(
          `serverConfig.${key}: an Airlift property not yet supported by trino-gateway-lab (supported: ${supportedServerConfigKeys.join(', ')})`,
        )
      }
    }
  }
  const clusterStats = document.clusterStatsConfiguration
  const monitorType = isMapping(clusterStats) ? clusterStats.monitorType : undefined
  if (typeof monitorType === 'string' && monitorTypesNotYetSupported.includes(monitorType)) {
    found.push(
      `clusterStatsConfiguration.monitorType: ${monitorType} is a Trino Gateway monitor type not yet supported by trino-gateway-lab (supported: INFO_API, NOOP)`,
    )
  }
  return found
}

/** zod reports unknown keys once per object; we name each key path and what the object accepts. */
function expandUnknownKeys(issue: z.core.$ZodIssue): Array<{ path: PropertyKey[]; message: string }> {
  if (issue.code !== 'unrecognized_keys') return [{ path: issue.path, message: issue.message }]
  const accepted = acceptedKeysAt(issue.path)
  return issue.keys.map((key) => {
    const path = [...issue.path, key]
    const former = formerKeys[path.map(String).join('.')]
    const message =
      former !== undefined
        ? `unknown key: ${former}`
        : `unknown key${accepted.length > 0 ? `; expected one of ${accepted.join(', ')}` : ''}`
    return { path, message }
  })
}

/** The keys the object schema at `path` accepts, found by walking the schemas themselves. */
function acceptedKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = configSchema
  for (const key of path) {
    const shape = objectShapeOf(schema)
    schema = shape?.[String(key)]
    if (schema === undefined) return []
  }
  return Object.keys(objectShapeOf(schema) ?? {})
}

/** Unwraps defaults, optionals, transforms and refinements down to an object schema's shape. */
function objectShapeOf(schema: z.core.$ZodType | undefined): Record<string, z.core.$ZodType> | undefined {
  for (let depth = 0; schema !== undefined && depth < 10; depth++) {
    const def = schema._zod.def as z.core.$ZodTypeDef & {
      shape?: Record<string, z.core.$ZodType>
      innerType?: z.core.$ZodType
      in?: z.core.$ZodType
      out?: z.core.$ZodType
    }
    if (def.type === 'object') return def.shape
    // A preprocess is a pipe whose input is a transform: the object is on the output side.
    schema =
      def.innerType ??
      (def.type === 'pipe' ? (def.in?._zod.def.type === 'transform' ? def.out : def.in) : undefined)
  }
  return undefined
}

/** A bad jdbcUrl stops start-up here, with the store's own code, before anything starts. */
function checkJdbcUrl(dataStore: ParsedSections['dataStore'] & { jdbcUrl: string }, source: string): void {
  try {
    resolvePostgresUrl(dataStore)
  } catch (error) {
    if (!(error instanceof CodedError)) throw error
    throw new CodedError(error.code, `${source}: ${error.message}`, error.statusCode, {
      source,
      ...error.details,
    })
  }
}

/** The document as error messages may echo it: `dataStore.password` replaced by `***`. */
function withSecretsHidden(document: object): object {
  let hidden = document as Record<string, unknown>
  for (const section of ['dataStore', 'backendState']) {
    const value = hidden[section]
    if (isMapping(value) && 'password' in value)
      hidden = { ...hidden, [section]: { ...value, password: '***' } }
  }
  const users = hidden.presetUsers
  if (isMapping(users)) {
    const masked = Object.fromEntries(
      Object.entries(users).map(([name, user]) => [
        name,
        isMapping(user) && 'password' in user ? { ...user, password: '***' } : user,
      ]),
    )
    hidden = { ...hidden, presetUsers: masked }
  }
  const routing = hidden.routing
  if (isMapping(routing) && Array.isArray(routing.tokenKeys)) {
    const tokenKeys = routing.tokenKeys.map((key: unknown) =>
      isMapping(key) && 'secret' in key ? { ...key, secret: '***' } : key,
    )
    hidden = { ...hidden, routing: { ...routing, tokenKeys } }
  }
  return hidden
}

function regexProblem(pattern: string): string | undefined {
  try {
    // Anchored as the proxy uses it: the regex must match the whole path.
    new RegExp(`^(?:${pattern})$`)
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** Trino Gateway's two rules: every path absolute, and no path a prefix of another one. */
function statementPathProblems(additional: readonly string[]): Array<{ index: number; message: string }> {
  const problems: Array<{ index: number; message: string }> = []
  const all = [defaultStatementPath, ...additional.map(stripTrailingSlashes)]
  additional.forEach((_original, index) => {
    const path = all[index + 1] as string
    if (!path.startsWith('/')) {
      problems.push({
        index,
        message: 'Statement paths must be absolute; expected a path such as /custom/v1/statement',
      })
      return
    }
    const clash = all.find(
      (other, otherIndex) => otherIndex !== index + 1 && (path.startsWith(other) || other.startsWith(path)),
    )
    if (clash !== undefined) {
      problems.push({
        index,
        message: `Statement paths cannot be prefixes of other statement paths (clashes with ${clash})`,
      })
    }
  })
  return problems
}

function stripTrailingSlashes(path: string): string {
  return path.replace(/\/+$/, '')
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function bulletList(lines: readonly string[]): string {
  return lines.map((line) => `  - ${line}`).join('\n')
}
