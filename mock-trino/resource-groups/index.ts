/**
 * Trino's resource groups for mock-trino: `loadSchedulerFromEtc` reads
 * `<etc>/resource-groups.properties` as Trino does (`file` or `db` configuration manager) and
 * returns the scheduler the coordinator admits queries through.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { z } from 'zod'
import { isDuration, parseDurationMs } from '../../common/duration.ts'
import {
  compileConfig,
  parseResourceGroupsJson,
  type ResourceGroupsConfig,
} from '../../trino/resource-groups/config.ts'
import { configurationInvalid } from '../../trino/resource-groups/errors.ts'
import {
  createResourceGroupScheduler,
  type ResourceGroupScheduler,
  type ResourceGroupSchedulerOptions,
} from '../../trino/resource-groups/scheduler.ts'
import { parseProperties } from '../config.ts'
import {
  type DbSource,
  type DbSourceSettings,
  jdbcToPostgresUrl,
  type ResourceGroupsLogger,
  silentLogger,
  startDbSource,
} from './db-source.ts'

export type {
  ResourceGroupSpec,
  ResourceGroupsConfig,
  SchedulingPolicy,
  SelectorSpec,
} from '../../trino/resource-groups/config.ts'
export { compileConfig, parseResourceGroupsJson } from '../../trino/resource-groups/config.ts'
export { type ResourceGroupTables, rowsToConfig } from '../../trino/resource-groups/db-rows.ts'
export { resourceGroupErrorNames } from '../../trino/resource-groups/errors.ts'
export type {
  ResourceGroupScheduler,
  ResourceGroupSchedulerOptions,
  ResourceGroupSnapshot,
  ScheduledQueryInfo,
} from '../../trino/resource-groups/scheduler.ts'
export { createResourceGroupScheduler } from '../../trino/resource-groups/scheduler.ts'
export { parseClientTagsHeader, selectResourceGroup } from '../../trino/resource-groups/selectors.ts'
export {
  parseResourceGroupPath,
  type QueryStateDetails,
  type ResourceGroupInfoJson,
  resourceGroupStateJson,
} from '../../trino/resource-groups/state.ts'
export { jdbcToPostgresUrl, type ResourceGroupsLogger, readResourceGroupTables } from './db-source.ts'
export { isResourceGroupScheduler, type ResourceGroupStateApiOptions, resourceGroupStateApi } from './http.ts'

export const propertiesFileName = 'resource-groups.properties'
/** Trino's bounds on the db refresh: at least 1 s between loads; staleness allowed 10 s or more. */
export const refreshIntervalMsMin = 1_000
export const refreshIntervalMsDefault = 1_000
export const maxRefreshIntervalMsMin = 10_000
export const maxRefreshIntervalMsDefault = 3_600_000

const duration = z
  .string()
  .refine(isDuration, 'expected an Airlift duration such as 1s or 1h')
  .transform(parseDurationMs)
const booleanText = z.enum(['true', 'false']).transform((value) => value === 'true')

const propertiesSchema = z.discriminatedUnion('resource-groups.configuration-manager', [
  z.strictObject({
    'resource-groups.configuration-manager': z.literal('file'),
    'resource-groups.config-file': z.string().min(1),
  }),
  z
    .strictObject({
      'resource-groups.configuration-manager': z.literal('db'),
      'resource-groups.config-db-url': z.string().min(1),
      'resource-groups.config-db-user': z.string().optional(),
      'resource-groups.config-db-password': z.string().optional(),
      'resource-groups.refresh-interval': duration
        .pipe(z.number().min(refreshIntervalMsMin, 'must be at least 1s'))
        .optional(),
      'resource-groups.max-refresh-interval': duration
        .pipe(z.number().min(maxRefreshIntervalMsMin, 'must be at least 10s'))
        .optional(),
      'resource-groups.exact-match-selector-enabled': booleanText.optional(),
      /** Accepted for compatibility; the mock never migrates (the gateway's store owns the schema). */
      'resource-groups.db-migrations-enabled': booleanText.optional(),
    })
    .refine(
      (p) =>
        (p['resource-groups.max-refresh-interval'] ?? maxRefreshIntervalMsDefault) >
        (p['resource-groups.refresh-interval'] ?? refreshIntervalMsDefault),
      {
        message: 'maxRefreshInterval must be greater than refreshInterval',
        path: ['resource-groups.max-refresh-interval'],
      },
    ),
])

/** A scheduler loaded from an etc folder; `close()` stops a db source's refresh. */
export interface EtcResourceGroupScheduler extends ResourceGroupScheduler {
  readonly configurationManager: 'file' | 'db'
  /** Loads the db configuration now (a test hook; the timer does it every refresh interval). */
  refreshNow(): Promise<boolean>
  close(): Promise<void>
}

export type LoadSchedulerOptions = ResourceGroupSchedulerOptions

export async function loadSchedulerFromEtc(
  etcDir: string,
  environment: string,
  logger: ResourceGroupsLogger = silentLogger,
  options: LoadSchedulerOptions = {},
): Promise<EtcResourceGroupScheduler> {
  const path = join(etcDir, propertiesFileName)
  const raw = parseProperties(readFileSync(path, 'utf8'))
  const parsed = propertiesSchema.safeParse(raw)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.') || 'resource-groups.configuration-manager'
      const got = raw[key] === undefined ? '' : ` (got ${JSON.stringify(raw[key])})`
      return `${path}: ${key}: ${issue.message}${got}`
    })
    throw configurationInvalid(lines.join('\n'), { lines })
  }
  const properties = parsed.data
  if (properties['resource-groups.configuration-manager'] === 'file') {
    const configPath = resolveConfigFile(etcDir, properties['resource-groups.config-file'])
    const core = createResourceGroupScheduler(readConfigFile(configPath), options)
    logger.info({ configFile: configPath }, 'resource groups loaded from file')
    return {
      ...core,
      configurationManager: 'file',
      refreshNow: async () => true,
      close: async () => {},
    }
  }
  const url = jdbcToPostgresUrl(
    properties['resource-groups.config-db-url'],
    properties['resource-groups.config-db-user'],
    properties['resource-groups.config-db-password'],
  )
  return startDbBackedScheduler({
    url,
    environment,
    refreshIntervalMs: properties['resource-groups.refresh-interval'] ?? refreshIntervalMsDefault,
    maxRefreshIntervalMs: properties['resource-groups.max-refresh-interval'] ?? maxRefreshIntervalMsDefault,
    exactMatchEnabled: properties['resource-groups.exact-match-selector-enabled'] ?? false,
    logger,
    options,
  })
}

/**
 * Trino resolves a relative `config-file` against its installation directory, the parent of
 * `etc/` (`etc/resource-groups.json`); a path relative to the etc folder itself is accepted too.
 */
function resolveConfigFile(etcDir: string, configFile: string): string {
  if (isAbsolute(configFile)) return configFile
  const fromInstallation = resolve(dirname(resolve(etcDir)), configFile)
  if (existsSync(fromInstallation)) return fromInstallation
  return resolve(etcDir, configFile)
}

export function readConfigFile(path: string): ResourceGroupsConfig {
  if (!existsSync(path)) {
    throw configurationInvalid(`resource-groups.config-file: ${path} does not exist`)
  }
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw configurationInvalid(`${path}: not valid JSON: ${(error as Error).message}`)
  }
  const config = parseResourceGroupsJson(json, path)
  try {
    compileConfig(config)
  } catch (error) {
    throw configurationInvalid(`${path}: ${(error as Error).message}`)
  }
  return config
}

export interface DbBackedSchedulerOptions extends DbSourceSettings {
  options: ResourceGroupSchedulerOptions
}

/**
 * A scheduler fed by the db source. A loaded configuration is staged and applied on the next
 * `tick`, `release` or `updateUsage`, whose return values report the queries it lets start; the
 * coordinator ticks every 100 ms like Trino's scheduling loop, so a change applies within about
 * one refresh interval.
 */
export async function startDbBackedScheduler(
  settings: DbBackedSchedulerOptions,
): Promise<EtcResourceGroupScheduler> {
  const { logger } = settings
  const core = createResourceGroupScheduler({ rootGroups: [], selectors: [] }, settings.options)
  let pending: ResourceGroupsConfig | undefined
  let lastLoadedJson: string | undefined
  const source: DbSource = startDbSource({
    url: settings.url,
    environment: settings.environment,
    refreshIntervalMs: settings.refreshIntervalMs,
    maxRefreshIntervalMs: settings.maxRefreshIntervalMs,
    exactMatchEnabled: settings.exactMatchEnabled,
    logger,
    validate: (config) => {
      compileConfig(config)
    },
    onConfig: (config) => {
      const json = JSON.stringify(config)
      if (json === lastLoadedJson) return
      lastLoadedJson = json
      pending = config
      logger.info(
        { environment: settings.environment },
        'resource-group configuration changed in the database',
      )
    },
    onAvailability: (available) => {
      core.setAvailable(available)
      if (!available)
        logger.error(
          {},
          'resource-group configuration unavailable: Selectors cannot be fetched from database',
        )
    },
  })
  const applyPending = (nowMs: number): string[] => {
    if (pending === undefined) return []
    const next = pending
    pending = undefined
    try {
      return core.reconfigure(next, nowMs)
    } catch (error) {
      // Validated when loaded, so this only happens if validation and application disagree.
      logger.error({ err: (error as Error).message }, 'resource-group configuration not applied')
      return []
    }
  }
  // The first load happens before any query arrives, as Trino loads in its constructor.
  if (await source.refresh()) applyPending(Date.now())
  return {
    ...core,
    configurationManager: 'db',
    tick(nowMs) {
      return [...applyPending(nowMs), ...core.tick(nowMs)]
    },
    release(queryId, nowMs, usage) {
      return [...core.release(queryId, nowMs, usage), ...applyPending(nowMs)]
    },
    updateUsage(queryId, usage, nowMs) {
      return [...core.updateUsage(queryId, usage, nowMs), ...applyPending(nowMs)]
    },
    refreshNow: () => source.refresh(),
    close: () => source.close(),
  }
}
