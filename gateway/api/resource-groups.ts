/**
 * The resource-group API of Trino Gateway before v19 (reference §1.7), over the tables of Trino's
 * `db` resource-group manager, so coordinators configured with `configuration-manager=db` read what
 * operators write here: `/trino/resourcegroup/*`, `/trino/selector/*`, `/trino/globalproperty/*`
 * and the exact-match source selectors under `/webapp`. Bodies use the article's camelCase JSON.
 *
 * Each body is validated per field (400 REQUEST_BODY_INVALID naming it): names and templates,
 * limits, policies, durations, data sizes, regexes, client-tag lists, the parent (exists, same
 * environment, no cycle) and the selector's group. Rules that span several rows (weights on all
 * siblings or none, a weight only under a weighted parent) are left to the coordinator, which
 * keeps its last good configuration: the article's own sequence of calls passes through such states.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { isDuration, parseDurationMs } from '../../common/duration.ts'
import { CodedError } from '../../common/errors.ts'
import {
  compileFullMatch,
  parseSchedulingPolicy,
  selectorQueryTypes,
  selectorResourceEstimateSchema,
} from '../../trino/resource-groups/config.ts'
import { parseDataSizeBytes } from '../../trino/resource-groups/units.ts'
import { gatewayError } from '../errors.ts'
import type { GatewayStore } from '../store/types.ts'
import { parseJsonBody } from './bodies.ts'
import { ok } from './webapp.ts'

export interface ResourceGroupsApiOptions {
  store: GatewayStore
}

type Query = GatewayStore['query']

// ------------------------------------------------------------------------------------------------
// Field schemas

const templateNamePattern = /^(?:[^${}.]|\$\{[a-zA-Z][a-zA-Z0-9]*\})+$/
const percentPattern = /^(\d{1,3}(\.\d+)?)%$/

const nullableString = (max: number, what: string) =>
  z
    .string({ error: `expected ${what} or null` })
    .max(max, { error: `expected at most ${max} characters` })
    .nullish()
    .transform((value) => value ?? null)
const count = (what: string) =>
  z
    .number({ error: `expected ${what}, an integer >= 0` })
    .int({ error: `expected ${what}, an integer >= 0` })
    .min(0, {
      error: `expected ${what}, an integer >= 0`,
    })
const durationField = z
  .string({ error: 'expected an Airlift duration such as 1h or 30m, or null' })
  .refine(isDuration, { error: 'expected an Airlift duration such as 1h or 30m' })
  .nullish()
  .transform((value) => value ?? null)
const id = (what: string) =>
  z
    .number({ error: `expected the ${what}, a positive integer` })
    .int({ error: `expected the ${what}, a positive integer` })
    .min(1, {
      error: `expected the ${what}, a positive integer`,
    })

export const resourceGroupBody = z
  .object({
    resourceGroupId: id('resource group id').nullish(),
    name: z
      .string({ error: 'expected a group name' })
      .max(250, { error: 'expected at most 250 characters' })
      .regex(templateNamePattern, {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: names Trino's template syntax
        error: "expected a non-empty name without '.', using '$', '{', '}' only in ${VARIABLE} templates",
      }),
    softMemoryLimit: z
      .string({ error: 'expected a data size such as 1GB or a percentage such as 70%, or null' })
      .refine(
        (value) => {
          const percent = percentPattern.exec(value)
          if (percent) return Number(percent[1]) <= 100
          return parseDataSizeBytes(value) !== undefined
        },
        { error: 'expected a data size such as 1GB or a percentage from 0% to 100%' },
      )
      .nullish()
      .transform((value) => value ?? null),
    maxQueued: count('maxQueued'),
    softConcurrencyLimit: count('softConcurrencyLimit')
      .nullish()
      .transform((value) => value ?? null),
    hardConcurrencyLimit: count('hardConcurrencyLimit'),
    schedulingPolicy: z
      .string({ error: 'expected fair, weighted, weighted_fair, query_priority or null' })
      .refine((value) => parseSchedulingPolicy(value) !== undefined, {
        error: 'expected fair, weighted, weighted_fair or query_priority',
      })
      .nullish()
      .transform((value) =>
        value === null || value === undefined ? null : (parseSchedulingPolicy(value) as string),
      ),
    schedulingWeight: z
      .number({ error: 'expected a positive integer or null' })
      .int({ error: 'expected a positive integer or null' })
      .min(1, { error: 'expected a positive integer (weight must be positive)' })
      .nullish()
      .transform((value) => value ?? null),
    jmxExport: z
      .boolean({ error: 'expected true, false or null' })
      .nullish()
      .transform((value) => value ?? null),
    softCpuLimit: durationField,
    hardCpuLimit: durationField,
    parent: id('parent resource group id')
      .nullish()
      .transform((value) => value ?? null),
    environment: nullableString(128, 'an environment name'),
  })
  .superRefine((body, context) => {
    if (body.softConcurrencyLimit !== null && body.softConcurrencyLimit > body.hardConcurrencyLimit) {
      context.addIssue({
        code: 'custom',
        path: ['softConcurrencyLimit'],
        message: `hardConcurrencyLimit must be greater than or equal to softConcurrencyLimit (hard is ${body.hardConcurrencyLimit})`,
      })
    }
    if (body.softCpuLimit !== null && body.hardCpuLimit === null) {
      context.addIssue({
        code: 'custom',
        path: ['softCpuLimit'],
        message: 'Must specify hard CPU limit in addition to soft limit',
      })
    }
    if (
      body.softCpuLimit !== null &&
      body.hardCpuLimit !== null &&
      parseDurationMs(body.softCpuLimit) > parseDurationMs(body.hardCpuLimit)
    ) {
      context.addIssue({
        code: 'custom',
        path: ['softCpuLimit'],
        message: 'Soft CPU limit cannot be greater than hard CPU limit',
      })
    }
  })
type ResourceGroupBody = z.output<typeof resourceGroupBody>

const regexField = z
  .string({ error: 'expected a regular expression or null' })
  .max(512, { error: 'expected at most 512 characters' })
  .superRefine((value, context) => {
    try {
      compileFullMatch(value, 'regex')
    } catch (error) {
      context.addIssue({
        code: 'custom',
        message: `expected a valid regular expression: ${(error as Error).message.replace(/^regex: /, '')}`,
      })
    }
  })
  .nullish()
  .transform((value) => value ?? null)

/** A JSON document held in a VARCHAR column; the article sends it as a string, an object or array is accepted too. */
const jsonColumn = <T extends z.ZodType>(schema: T, expected: string, max: number) =>
  z
    .union([z.string(), z.array(z.unknown()), z.record(z.string(), z.unknown())], {
      error: `expected ${expected} or null`,
    })
    .nullish()
    .transform((value, context) => {
      if (value === null || value === undefined) return null
      let document: unknown = value
      if (typeof value === 'string') {
        try {
          document = JSON.parse(value)
        } catch {
          context.addIssue({ code: 'custom', message: `expected ${expected} (not JSON)` })
          return z.NEVER
        }
      }
      const parsed = schema.safeParse(document)
      if (!parsed.success) {
        const problem = parsed.error.issues[0]
        const where =
          problem === undefined || problem.path.length === 0
            ? ''
            : ` at ${problem.path.map(String).join('.')}`
        context.addIssue({
          code: 'custom',
          message: `expected ${expected}${where}: ${problem?.message ?? 'invalid'}`,
        })
        return z.NEVER
      }
      const text = JSON.stringify(parsed.data)
      if (text.length > max) {
        context.addIssue({ code: 'custom', message: `expected at most ${max} characters of JSON` })
        return z.NEVER
      }
      return text
    })

/** A selector's query type (any case, stored upper-case), or null for every type. */
const queryTypeField = z
  .string({ error: `expected one of ${selectorQueryTypes.join(', ')} or null` })
  .transform((value) => value.toUpperCase())
  .refine((value) => (selectorQueryTypes as readonly string[]).includes(value), {
    error: `expected one of ${selectorQueryTypes.join(', ')}`,
  })
  .nullish()
  .transform((value) => value ?? null)

export const selectorBody = z.object({
  resourceGroupId: id('resource group id'),
  priority: z.number({ error: 'expected an integer' }).int({ error: 'expected an integer' }),
  userRegex: regexField,
  sourceRegex: regexField,
  queryType: queryTypeField,
  clientTags: jsonColumn(z.array(z.string()), 'a JSON array of tag strings such as ["LargeCustomer"]', 512),
  selectorResourceEstimate: jsonColumn(
    selectorResourceEstimateSchema,
    'a resource estimate such as {"executionTime":{"max":"5m"}}',
    1024,
  ),
})
type SelectorBody = z.output<typeof selectorBody>

const selectorUpdateBody = z.object({ current: selectorBody, update: selectorBody })

/** The names Trino's `resource_groups_global_properties` CHECK constraint allows. */
const globalPropertyNames = ['cpu_quota_period', 'physical_data_scan_quota_period'] as const
const globalPropertyBody = z.object({
  name: z.enum(globalPropertyNames, { error: `expected ${globalPropertyNames.join(' or ')}` }),
  value: z
    .string({ error: 'expected an Airlift duration such as 1h' })
    .refine(isDuration, { error: 'expected an Airlift duration such as 1h' }),
})

const segments = z.array(
  z
    .string()
    .min(1)
    .refine((segment) => !segment.includes('${'), {
      error: 'templates are not allowed in exact-match selectors',
    }),
)
const exactMatchBody = z.object({
  resourceGroupId: z
    .union([z.string(), z.array(z.string())], {
      error: 'expected a group id such as "global.pipeline" or ["global","pipeline"]',
    })
    .transform((value, context) => {
      const parts = Array.isArray(value)
        ? value
        : value.trim().startsWith('[')
          ? safeJson(value)
          : value.split('.')
      const parsed = segments.min(1).safeParse(parts)
      if (!parsed.success) {
        context.addIssue({
          code: 'custom',
          message: `expected a group id such as "global.pipeline" or ["global","pipeline"]: ${parsed.error.issues[0]?.message ?? ''}`,
        })
        return z.NEVER
      }
      return JSON.stringify(parsed.data)
    }),
  updateTime: z
    .union([z.string(), z.number()], { error: 'expected an ISO-8601 time or epoch milliseconds, or null' })
    .nullish()
    .transform((value, context) => {
      if (value === null || value === undefined) return new Date()
      const time = new Date(value)
      if (Number.isNaN(time.getTime())) {
        context.addIssue({ code: 'custom', message: 'expected an ISO-8601 time or epoch milliseconds' })
        return z.NEVER
      }
      return time
    }),
  source: z.string({ error: 'expected the exact source string' }).min(1).max(512),
  environment: nullableString(128, 'an environment name'),
  queryType: queryTypeField,
})
const exactMatchFindBody = z.object({
  source: z.string({ error: 'expected a source string' }).nullish(),
  environment: z.string({ error: 'expected an environment name' }).nullish(),
  queryType: z.string({ error: 'expected a query type' }).nullish(),
})

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

// ------------------------------------------------------------------------------------------------
// Rows ↔ JSON

const resourceGroupColumns =
  'resource_group_id, name, soft_memory_limit, max_queued, soft_concurrency_limit, hard_concurrency_limit, scheduling_policy, scheduling_weight, jmx_export, soft_cpu_limit, hard_cpu_limit, parent, environment'

interface ResourceGroupRow extends Record<string, unknown> {
  resource_group_id: string | number
  name: string
  soft_memory_limit: string | null
  max_queued: number
  soft_concurrency_limit: number | null
  hard_concurrency_limit: number
  scheduling_policy: string | null
  scheduling_weight: number | null
  jmx_export: boolean | null
  soft_cpu_limit: string | null
  hard_cpu_limit: string | null
  parent: string | number | null
  environment: string | null
}

function resourceGroupJson(row: ResourceGroupRow) {
  return {
    resourceGroupId: Number(row.resource_group_id),
    name: row.name,
    softMemoryLimit: row.soft_memory_limit,
    maxQueued: row.max_queued,
    softConcurrencyLimit: row.soft_concurrency_limit,
    hardConcurrencyLimit: row.hard_concurrency_limit,
    schedulingPolicy: row.scheduling_policy,
    schedulingWeight: row.scheduling_weight,
    jmxExport: row.jmx_export,
    softCpuLimit: row.soft_cpu_limit,
    hardCpuLimit: row.hard_cpu_limit,
    parent: row.parent === null ? null : Number(row.parent),
    environment: row.environment,
  }
}

function resourceGroupValues(body: ResourceGroupBody): unknown[] {
  return [
    body.name,
    body.softMemoryLimit,
    body.maxQueued,
    body.softConcurrencyLimit,
    body.hardConcurrencyLimit,
    body.schedulingPolicy,
    body.schedulingWeight,
    body.jmxExport,
    body.softCpuLimit,
    body.hardCpuLimit,
    body.parent,
    body.environment,
  ]
}

const selectorColumns =
  'resource_group_id, priority, user_regex, source_regex, query_type, client_tags, selector_resource_estimate'

interface SelectorRow extends Record<string, unknown> {
  resource_group_id: string | number
  priority: string | number
  user_regex: string | null
  source_regex: string | null
  query_type: string | null
  client_tags: string | null
  selector_resource_estimate: string | null
}

function selectorJson(row: SelectorRow) {
  return {
    resourceGroupId: Number(row.resource_group_id),
    priority: Number(row.priority),
    userRegex: row.user_regex,
    sourceRegex: row.source_regex,
    queryType: row.query_type,
    clientTags: row.client_tags,
    selectorResourceEstimate: row.selector_resource_estimate,
  }
}

function selectorValues(body: SelectorBody): unknown[] {
  return [
    body.resourceGroupId,
    body.priority,
    body.userRegex,
    body.sourceRegex,
    body.queryType,
    body.clientTags,
    body.selectorResourceEstimate,
  ]
}

/** Matches every selector column with IS NOT DISTINCT FROM, as Trino Gateway's update and delete did. */
const selectorMatch = selectorColumns
  .split(', ')
  .map((column, index) => `${column} IS NOT DISTINCT FROM $${index + 1}`)
  .join(' AND ')

function invalid(what: string, field: string, message: string, value: unknown): CodedError {
  const problem = `${field}: ${message} (got ${JSON.stringify(value)})`
  return gatewayError('REQUEST_BODY_INVALID', `${what}: invalid body: ${problem}`, { problems: [problem] })
}

/** The parent must exist, belong to the same environment (or to all), and not lead back to the group. */
async function checkParent(
  query: Query,
  what: string,
  body: ResourceGroupBody,
  selfId: number | undefined,
): Promise<void> {
  if (body.parent === null) return
  if (selfId !== undefined && body.parent === selfId)
    throw invalid(what, 'parent', 'a group cannot be its own parent', body.parent)
  const chain = await query<{
    resource_group_id: string
    parent: string | null
    environment: string | null
    depth: number
  }>(
    `WITH RECURSIVE chain AS (
       SELECT resource_group_id, parent, environment, 1 AS depth FROM resource_groups WHERE resource_group_id = $1
       UNION ALL
       SELECT g.resource_group_id, g.parent, g.environment, c.depth + 1 FROM resource_groups g
       JOIN chain c ON g.resource_group_id = c.parent WHERE c.depth < $2
     ) SELECT * FROM chain`,
    [body.parent, parentChainDepthMax],
  )
  const parent = chain[0]
  if (parent === undefined) throw invalid(what, 'parent', 'no resource group has this id', body.parent)
  if (parent.environment !== null && parent.environment !== body.environment) {
    throw invalid(
      what,
      'parent',
      `the parent belongs to environment ${JSON.stringify(parent.environment)}, not ${JSON.stringify(body.environment)}`,
      body.parent,
    )
  }
  if (selfId !== undefined && chain.some((row) => Number(row.resource_group_id) === selfId)) {
    throw invalid(
      what,
      'parent',
      `the group ${selfId} is an ancestor of this parent, which would make a cycle`,
      body.parent,
    )
  }
}

/** Bounds the parent-chain walk; Trino trees are a few levels deep. */
export const parentChainDepthMax = 100

async function checkGroupExists(query: Query, what: string, groupId: number, field: string): Promise<void> {
  const rows = await query('SELECT 1 FROM resource_groups WHERE resource_group_id = $1', [groupId])
  if (rows.length === 0) throw invalid(what, field, 'no resource group has this id', groupId)
}

// ------------------------------------------------------------------------------------------------
// Routes

export async function resourceGroupsApi(
  app: FastifyInstance,
  options: ResourceGroupsApiOptions,
): Promise<void> {
  const { store } = options

  // Bodies are parsed per route so a malformed one gets the same named 400 as an invalid one.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof CodedError) {
      if (error.statusCode >= 500)
        request.log.error({ err: error.message, code: error.code }, 'resource-group API failure')
      return reply.code(error.statusCode).send(error.toJSON())
    }
    request.log.error({ err: (error as Error).message }, 'resource-group API failure')
    const statusCode = (error as { statusCode?: number }).statusCode ?? 500
    return reply.code(statusCode).send({
      code: (error as { code?: string }).code ?? 'INTERNAL_ERROR',
      message: (error as Error).message,
    })
  })
  app.addHook('onRequest', async (request) => {
    if ((request.query as Record<string, unknown>).useSchema !== undefined) {
      throw gatewayError(
        'REQUEST_BODY_INVALID',
        'useSchema is not supported: the resource-group API always uses the gateway database (dataStore.jdbcUrl)',
        { problems: ['useSchema: not supported'] },
      )
    }
  })
  const body = (request: { body?: unknown }) => (typeof request.body === 'string' ? request.body : undefined)

  // --- resource groups
  const readGroups = async (groupId?: number) =>
    (
      await store.query<ResourceGroupRow>(
        `SELECT ${resourceGroupColumns} FROM resource_groups ${groupId === undefined ? '' : 'WHERE resource_group_id = $1'} ORDER BY resource_group_id`,
        groupId === undefined ? [] : [groupId],
      )
    ).map(resourceGroupJson)

  app.post('/trino/resourcegroup/create', async (request) => {
    const what = 'POST /trino/resourcegroup/create'
    const group = parseJsonBody(resourceGroupBody, body(request), what)
    const row = await store.transaction(async (query) => {
      await checkParent(query, what, group, undefined)
      const rows = await query<ResourceGroupRow>(
        `INSERT INTO resource_groups (name, soft_memory_limit, max_queued, soft_concurrency_limit, hard_concurrency_limit, scheduling_policy, scheduling_weight, jmx_export, soft_cpu_limit, hard_cpu_limit, parent, environment)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${resourceGroupColumns}`,
        resourceGroupValues(group),
      )
      return rows[0] as ResourceGroupRow
    })
    return resourceGroupJson(row)
  })
  app.get('/trino/resourcegroup/read', async () => readGroups())
  app.get('/trino/resourcegroup/read/', async () => readGroups())
  app.get<{ Params: { id: string } }>('/trino/resourcegroup/read/:id', async (request) =>
    readGroups(pathId(request.params.id, 'GET /trino/resourcegroup/read/{id}')),
  )
  app.post('/trino/resourcegroup/update', async (request) => {
    const what = 'POST /trino/resourcegroup/update'
    const group = parseJsonBody(resourceGroupBody, body(request), what)
    if (group.resourceGroupId === null || group.resourceGroupId === undefined) {
      throw invalid(what, 'resourceGroupId', 'expected the id of the group to update', group.resourceGroupId)
    }
    const groupId = group.resourceGroupId
    const row = await store.transaction(async (query) => {
      await checkParent(query, what, group, groupId)
      const values = resourceGroupValues(group)
      const updated = await query<ResourceGroupRow>(
        `UPDATE resource_groups SET name = $2, soft_memory_limit = $3, max_queued = $4, soft_concurrency_limit = $5, hard_concurrency_limit = $6, scheduling_policy = $7, scheduling_weight = $8, jmx_export = $9, soft_cpu_limit = $10, hard_cpu_limit = $11, parent = $12, environment = $13
         WHERE resource_group_id = $1 RETURNING ${resourceGroupColumns}`,
        [groupId, ...values],
      )
      if (updated[0] !== undefined) return updated[0]
      // Trino Gateway's update inserts an unknown id (upsert); the serial then moves past it.
      const inserted = await query<ResourceGroupRow>(
        `INSERT INTO resource_groups (resource_group_id, name, soft_memory_limit, max_queued, soft_concurrency_limit, hard_concurrency_limit, scheduling_policy, scheduling_weight, jmx_export, soft_cpu_limit, hard_cpu_limit, parent, environment)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${resourceGroupColumns}`,
        [groupId, ...values],
      )
      await query(
        `SELECT setval(pg_get_serial_sequence('resource_groups', 'resource_group_id'), (SELECT MAX(resource_group_id) FROM resource_groups))`,
      )
      return inserted[0] as ResourceGroupRow
    })
    return resourceGroupJson(row)
  })
  app.post<{ Params: { id: string } }>('/trino/resourcegroup/delete/:id', async (request, reply) => {
    // `/delete/` with no id is a 404, as the path did not match in Trino Gateway.
    if (request.params.id === '') return reply.callNotFound()
    const groupId = pathId(request.params.id, 'POST /trino/resourcegroup/delete/{id}')
    // Sub-groups and their selectors go too (ON DELETE CASCADE), as in Trino's schema.
    await store.query('DELETE FROM resource_groups WHERE resource_group_id = $1', [groupId])
    return reply.code(200).send()
  })

  // --- selectors
  const readSelectors = async (groupId?: number) =>
    (
      await store.query<SelectorRow>(
        `SELECT ${selectorColumns} FROM selectors ${groupId === undefined ? '' : 'WHERE resource_group_id = $1'} ORDER BY priority DESC, id`,
        groupId === undefined ? [] : [groupId],
      )
    ).map(selectorJson)

  app.post('/trino/selector/create', async (request) => {
    const what = 'POST /trino/selector/create'
    const selector = parseJsonBody(selectorBody, body(request), what)
    await store.transaction(async (query) => {
      await checkGroupExists(query, what, selector.resourceGroupId, 'resourceGroupId')
      await query(
        `INSERT INTO selectors (${selectorColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        selectorValues(selector),
      )
    })
    return selectorJsonOf(selector)
  })
  app.get('/trino/selector/read', async () => readSelectors())
  app.get('/trino/selector/read/', async () => readSelectors())
  app.get<{ Params: { id: string } }>('/trino/selector/read/:id', async (request) =>
    readSelectors(pathId(request.params.id, 'GET /trino/selector/read/{resourceGroupId}')),
  )
  app.post('/trino/selector/update', async (request) => {
    const what = 'POST /trino/selector/update'
    const { current, update } = parseJsonBody(selectorUpdateBody, body(request), what)
    await store.transaction(async (query) => {
      await checkGroupExists(query, what, update.resourceGroupId, 'update.resourceGroupId')
      const values = selectorValues(update)
      const changed = await query(
        `UPDATE selectors SET resource_group_id = $8, priority = $9, user_regex = $10, source_regex = $11, query_type = $12, client_tags = $13, selector_resource_estimate = $14
         WHERE id = (SELECT id FROM selectors WHERE ${selectorMatch} ORDER BY id LIMIT 1) RETURNING id`,
        [...selectorValues(current), ...values],
      )
      // As Trino Gateway: no selector equal to `current` means `update` is inserted.
      if (changed.length === 0) {
        await query(`INSERT INTO selectors (${selectorColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, values)
      }
    })
    return selectorJsonOf(update)
  })
  app.post('/trino/selector/delete', async (request, reply) => {
    const what = 'POST /trino/selector/delete'
    const text = body(request)
    if (text === undefined || text.trim() === '') {
      throw gatewayError(
        'REQUEST_BODY_INVALID',
        `${what}: the body is empty; expected the selector to delete, all fields`,
        {
          problems: ['(root): expected the selector JSON'],
        },
      )
    }
    const selector = parseJsonBody(selectorBody, text, what)
    await store.query(`DELETE FROM selectors WHERE ${selectorMatch}`, selectorValues(selector))
    return reply.code(200).send()
  })

  // --- global properties
  const readProperties = async (name?: string) =>
    store.query<{ name: string; value: string | null }>(
      `SELECT name, value FROM resource_groups_global_properties ${name === undefined ? '' : 'WHERE name = $1'} ORDER BY name`,
      name === undefined ? [] : [name],
    )
  const upsertProperty = async (what: string, text: string | undefined) => {
    const property = parseJsonBody(globalPropertyBody, text, what)
    await store.query(
      'INSERT INTO resource_groups_global_properties (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value',
      [property.name, property.value],
    )
    return property
  }
  app.post('/trino/globalproperty/create', async (request) =>
    upsertProperty('POST /trino/globalproperty/create', body(request)),
  )
  app.post('/trino/globalproperty/update', async (request) =>
    upsertProperty('POST /trino/globalproperty/update', body(request)),
  )
  app.get('/trino/globalproperty/read', async () => readProperties())
  app.get('/trino/globalproperty/read/', async () => readProperties())
  app.get<{ Params: { name: string } }>('/trino/globalproperty/read/:name', async (request) =>
    readProperties(request.params.name),
  )
  app.post<{ Params: { name: string } }>('/trino/globalproperty/delete/:name', async (request, reply) => {
    if (request.params.name === '') return reply.callNotFound()
    await store.query('DELETE FROM resource_groups_global_properties WHERE name = $1', [request.params.name])
    return reply.code(200).send()
  })

  // --- exact-match source selectors (web-app API: Result envelope)
  app.post('/webapp/saveExactMatchSourceSelector', async (request) => {
    const what = 'POST /webapp/saveExactMatchSourceSelector'
    const selector = parseJsonBody(exactMatchBody, body(request), what)
    const rows = await store.query<ExactMatchRow>(
      `INSERT INTO exact_match_source_selectors (resource_group_id, update_time, source, environment, query_type)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (source, environment, query_type, resource_group_id) DO UPDATE SET update_time = EXCLUDED.update_time
       RETURNING resource_group_id, update_time, source, environment, query_type`,
      [
        selector.resourceGroupId,
        selector.updateTime,
        selector.source,
        selector.environment,
        selector.queryType,
      ],
    )
    return ok(exactMatchJson(rows[0] as ExactMatchRow))
  })
  app.post('/webapp/findExactMatchSourceSelector', async (request) => {
    const filter = parseJsonBody(
      exactMatchFindBody,
      body(request),
      'POST /webapp/findExactMatchSourceSelector',
      true,
    )
    const rows = await store.query<ExactMatchRow>(
      `SELECT resource_group_id, update_time, source, environment, query_type FROM exact_match_source_selectors
       WHERE ($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR environment = $2) AND ($3::text IS NULL OR query_type = $3)
       ORDER BY source, environment NULLS LAST, query_type NULLS LAST`,
      [filter.source ?? null, filter.environment ?? null, filter.queryType?.toUpperCase() ?? null],
    )
    return ok(rows.map(exactMatchJson))
  })
}

interface ExactMatchRow extends Record<string, unknown> {
  resource_group_id: string
  update_time: Date | string
  source: string
  environment: string | null
  query_type: string | null
}

function exactMatchJson(row: ExactMatchRow) {
  return {
    resourceGroupId: row.resource_group_id,
    updateTime: new Date(row.update_time).toISOString(),
    source: row.source,
    environment: row.environment,
    queryType: row.query_type,
  }
}

function selectorJsonOf(selector: SelectorBody) {
  return {
    resourceGroupId: selector.resourceGroupId,
    priority: selector.priority,
    userRegex: selector.userRegex,
    sourceRegex: selector.sourceRegex,
    queryType: selector.queryType,
    clientTags: selector.clientTags,
    selectorResourceEstimate: selector.selectorResourceEstimate,
  }
}

function pathId(text: string, what: string): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw gatewayError(
      'REQUEST_BODY_INVALID',
      `${what}: expected a positive integer id in the path (got ${JSON.stringify(text)})`,
      {
        problems: [`id: expected a positive integer (got ${JSON.stringify(text)})`],
      },
    )
  }
  return value
}
