import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { isDuration, parseDurationMs } from '../common/duration.ts'
import { describeIssues } from '../common/errors.ts'
import { parseDataSizeBytes } from '../trino/resource-groups/units.ts'
import { mockError } from './errors.ts'
import { workloadSchema } from './workload/model.ts'

/**
 * The mock's configuration: a Trino `etc/` folder for what Trino has files for (node and
 * coordinator properties, resource groups), and `mock.yaml` for what it has not (load model, faults,
 * retention). Both are validated; an error names the file, the key, the bad value and the expected form.
 */

/** Bounds on the injected faults, so a typo cannot stall a run for hours. */
export const faultLatencyMsMax = 60_000
export const faultDownMsMax = 10 * 60_000

const rate = z.number().min(0).max(1)

/** A partial update of the faults, from mock.yaml or `PUT /_mock/faults`. */
export const faultsPatchSchema = z.strictObject({
  starting: z.boolean().optional(),
  down: z.boolean().optional(),
  /** Down now, back up by itself after this many ms (the only way to end `down` over HTTP). */
  downForMs: z.number().int().min(1).max(faultDownMsMax).optional(),
  latencyMs: z.number().int().min(0).max(faultLatencyMsMax).optional(),
  httpErrorRate: rate.optional(),
  httpErrorStatus: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
  resetMidResponseRate: rate.optional(),
  stopAnsweringPolls: z.boolean().optional(),
})

export type FaultsPatch = z.output<typeof faultsPatchSchema>

/** The finished-query retention bound (Trino: `query.max-history`); counters survive pruning. */
export const finishedQueriesRetainedMaxLimit = 1_000_000

/** The largest cluster memory pool the mock accepts (1 PB). */
export const clusterMemoryBytesMax = 1024 ** 5

const clusterMemory = z
  .string()
  .transform((value, context) => {
    const bytes = parseDataSizeBytes(value)
    if (bytes === undefined || bytes < 1 || bytes > clusterMemoryBytesMax) {
      context.addIssue({
        code: 'custom',
        message: 'expected an Airlift data size from 1B to 1PB, such as 64GB',
      })
      return z.NEVER
    }
    return bytes
  })
  .describe(
    "The cluster's general memory pool (64GB): what percentage softMemoryLimits of resource groups mean",
  )

export const mockConfigSchema = z.strictObject({
  workload: workloadSchema.default(workloadSchema.parse({})),
  clusterMemory: clusterMemory.optional(),
  faults: faultsPatchSchema.default({}),
  retention: z
    .strictObject({
      finishedQueriesMax: z.number().int().min(0).max(finishedQueriesRetainedMaxLimit).optional(),
    })
    .default({}),
})

/** The parsed mock.yaml shape. */
export type MockConfig = z.output<typeof mockConfigSchema>
export type MockConfigInput = z.input<typeof mockConfigSchema>

export function parseMockConfig(input: unknown, where = 'mock.yaml'): MockConfig {
  const result = mockConfigSchema.safeParse(input ?? {})
  if (!result.success) {
    const lines = describeIssues(result.error.issues, input)
    throw mockError('MOCK_CONFIG_INVALID', `${where} is invalid:\n  ${lines.join('\n  ')}`, 400, { lines })
  }
  return result.data
}

export function loadMockConfig(path: string): MockConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw mockError('MOCK_CONFIG_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`)
  }
  let document: unknown
  try {
    document = parseYaml(text)
  } catch (error) {
    throw mockError('MOCK_CONFIG_INVALID', `${path} is not valid YAML: ${(error as Error).message}`)
  }
  return parseMockConfig(document, path)
}

/** Java properties as Trino reads them: `key=value` or `key: value`, `#`/`!` comments. */
export function parseProperties(text: string): Record<string, string> {
  const properties: Record<string, string> = {}
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const separator = line.search(/[=:]/)
    if (separator < 0) properties[line] = ''
    else properties[line.slice(0, separator).trim()] = line.slice(separator + 1).trim()
  }
  return properties
}

const integerProperty = z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number)
const durationProperty = z
  .string()
  .refine(isDuration, 'expected an Airlift duration such as 5m or 30s')
  .transform(parseDurationMs)
const booleanProperty = z.enum(['true', 'false']).transform((v) => v === 'true')

const configPropertiesSchema = z.looseObject({
  'query.max-concurrent-queries': integerProperty.optional(),
  'query.max-queued-queries': integerProperty.optional(),
  'query.client.timeout': durationProperty.optional(),
  'query.max-length': integerProperty.optional(),
  'http-server.process-forwarded': booleanProperty.optional(),
  'http-server.http.port': integerProperty.optional(),
})

const nodePropertiesSchema = z.looseObject({
  'node.environment': z
    .string()
    .regex(/^[a-z0-9][_a-z0-9]*$/, 'expected lower-case letters, digits and underscores (Trino rule)')
    .optional(),
})

export interface EtcConfig {
  environment?: string
  maxConcurrentQueries?: number
  maxQueuedQueries?: number
  clientTimeoutMs?: number
  queryLengthCharsMax?: number
  processForwarded?: boolean
  port?: number
  /** True when `resource-groups.properties` exists: the resource-group scheduler is wanted. */
  resourceGroups: boolean
}

function readPropertiesFile<T extends z.ZodType>(
  dir: string,
  file: string,
  schema: T,
): z.output<T> | undefined {
  const path = join(dir, file)
  if (!existsSync(path)) return undefined
  const properties = parseProperties(readFileSync(path, 'utf8'))
  const result = schema.safeParse(properties)
  if (!result.success) {
    // Property keys contain dots: name them whole rather than as a path.
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.')
      return `${path}: ${key}: ${issue.message} (got ${JSON.stringify(properties[key])})`
    })
    throw mockError('MOCK_ETC_INVALID', lines.join('\n'), 400, { lines })
  }
  return result.data
}

export function loadEtc(dir: string): EtcConfig {
  if (!existsSync(dir)) throw mockError('MOCK_ETC_INVALID', `etc directory ${dir} does not exist`)
  const config = readPropertiesFile(dir, 'config.properties', configPropertiesSchema)
  const node = readPropertiesFile(dir, 'node.properties', nodePropertiesSchema)
  const etc: EtcConfig = { resourceGroups: existsSync(join(dir, 'resource-groups.properties')) }
  if (node?.['node.environment'] !== undefined) etc.environment = node['node.environment']
  if (config !== undefined) {
    const set = <K extends keyof EtcConfig>(key: K, value: EtcConfig[K] | undefined): void => {
      if (value !== undefined) etc[key] = value
    }
    set('maxConcurrentQueries', config['query.max-concurrent-queries'])
    set('maxQueuedQueries', config['query.max-queued-queries'])
    set('clientTimeoutMs', config['query.client.timeout'])
    set('queryLengthCharsMax', config['query.max-length'])
    set('processForwarded', config['http-server.process-forwarded'])
    set('port', config['http-server.http.port'])
  }
  return etc
}
