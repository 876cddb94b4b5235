import { z } from 'zod'
import { isDuration } from '../../common/duration.ts'
import { faultsPatchSchema, mockConfigSchema } from '../../mock-trino/config.ts'

/**
 * The scenario file format: one YAML file per behaviour in `scenarios/`. This zod schema is the
 * source of truth; `scenarios/scenario.schema.json` is generated from it (see `json-schema.ts`)
 * so editors complete and check scenario files. Every field is documented by example in
 * `docs/scenarios.md`.
 */

/** Bounds the harness never exceeds, whatever a scenario asks for. */
export const queriesPerClientMax = 10_000
export const concurrencyMax = 256
export const arrivalRatePerSecondMax = 1000
export const clustersMax = 32
export const gatewayInstancesMax = 4

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const name = (what: string) =>
  z
    .string()
    .regex(namePattern, `expected a ${what} name of letters, digits, '_', '.', '-' (for example trino-a)`)
    .max(64)

const duration = z
  .string()
  .refine(isDuration, { message: 'expected an Airlift duration: a number and a unit, such as 500ms, 2s, 1m' })
  .describe('An Airlift duration: 500ms, 2s, 1.5m')

const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' })
const postgresUrl = z
  .string()
  .regex(
    /^(jdbc:postgresql|postgres|postgresql):\/\//,
    'expected a PostgreSQL URL: postgres://user@host:port/db or jdbc:postgresql://host:port/db',
  )

const share = z.number().min(0).max(1)
const bounds = z
  .strictObject({ min: share.optional(), max: share.optional() })
  .refine((b) => b.min === undefined || b.max === undefined || b.min <= b.max, {
    message: 'expected min <= max',
  })
  .describe('A share between 0 and 1: {min, max}, either optional')

const countBounds = z.union([
  z.number().int().min(0),
  z
    .strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
    .refine((b) => b.min === undefined || b.max === undefined || b.min <= b.max, {
      message: 'expected min <= max',
    }),
])

export const databaseSchema = z
  .union([
    z.literal('embedded'),
    z.strictObject({
      url: postgresUrl.describe('An existing PostgreSQL database the gateways share'),
    }),
  ])
  .describe("'embedded' (PGlite, started by the harness and shared by every gateway) or {url}")

/** A Trino Gateway routing-rule document (the format of a `rulesConfigPath` file). */
export const routingRuleSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  priority: z.number().int().optional(),
  condition: z.string().min(1),
  actions: z.array(z.string().min(1)).min(1),
})

export const gatewaySchema = z
  .strictObject({
    url: httpUrl
      .optional()
      .describe('A gateway already running, tested as a black box; the harness starts none'),
    instances: z
      .number()
      .int()
      .min(1)
      .max(gatewayInstancesMax)
      .default(1)
      .describe('How many gateways to start on the one database (sticky-ha uses 2)'),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Trino Gateway config.yaml keys inline (serverConfig, routing, monitor, ...)'),
    configPath: z.string().min(1).optional().describe('A config.yaml, relative to the scenario file'),
    rules: z
      .array(routingRuleSchema)
      .optional()
      .describe('Routing rules inline; written to a file that routingRules.rulesConfigPath names'),
    rulesPath: z.string().min(1).optional().describe('A routing-rules file, relative to the scenario file'),
  })
  .superRefine((gateway, ctx) => {
    if (gateway.config !== undefined && gateway.configPath !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['configPath'],
        message: 'expected config or configPath, not both',
      })
    }
    if (gateway.rules !== undefined && gateway.rulesPath !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['rulesPath'], message: 'expected rules or rulesPath, not both' })
    }
    if (gateway.url !== undefined) {
      for (const key of ['config', 'configPath', 'rules', 'rulesPath'] as const) {
        if (gateway[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'expected nothing but url for a gateway already running (it has its own configuration)',
          })
        }
      }
      if (gateway.instances !== 1) {
        ctx.addIssue({ code: 'custom', path: ['instances'], message: 'expected 1 with url' })
      }
    }
  })

/**
 * Resource groups, selectors and global properties the runner creates through the gateway's
 * resource-group API (`/trino/resourcegroup/create`, ...) before any cluster starts, in the
 * article's JSON. Groups and selectors name groups by their dot-joined path (`adhoc.default`),
 * so a file never carries the database's serial ids.
 */
const groupPath = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a dot-joined resource group path such as adhoc.default')
const schedulingPolicy = z.enum(['fair', 'weighted', 'weighted_fair', 'query_priority'])

/** The limits of a group, as the article's JSON names them; the gateway validates the values. */
export const resourceGroupLimitsSchema = z.strictObject({
  softMemoryLimit: z.string().min(1).optional().describe('A share (70%) or a data size (10GB); default 100%'),
  maxQueued: z.number().int().min(0).optional(),
  softConcurrencyLimit: z.number().int().min(0).optional(),
  hardConcurrencyLimit: z.number().int().min(0).optional(),
  schedulingPolicy: schedulingPolicy.optional(),
  schedulingWeight: z.number().int().min(1).optional(),
  jmxExport: z.boolean().optional(),
  softCpuLimit: duration.optional(),
  hardCpuLimit: duration.optional(),
})

export const resourceGroupSetupSchema = z.strictObject({
  name: z.string().regex(/^[^.\s]+$/, 'expected a group name without dots or spaces'),
  parent: groupPath.optional().describe('Path of a group declared earlier in the list'),
  ...resourceGroupLimitsSchema.shape,
  maxQueued: z.number().int().min(0),
  hardConcurrencyLimit: z.number().int().min(0),
})

export const selectorSetupSchema = z.strictObject({
  group: groupPath.describe('Path of a declared group: the selector resourceGroupId'),
  priority: z.number().int(),
  userRegex: z.string().optional(),
  sourceRegex: z.string().optional(),
  queryType: z.string().min(1).optional(),
  clientTags: z.array(z.string().min(1)).optional().describe('Every tag must be present'),
  selectorResourceEstimate: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('As Trino: {executionTime: {max: 5m}, peakMemory: {min: 1GB}, ...}'),
})

export const resourceGroupsSetupSchema = z.strictObject({
  environment: z
    .string()
    .min(1)
    .default('test')
    .describe("The rows' environment: the node.environment of the clusters that read them"),
  groups: z.array(resourceGroupSetupSchema).min(1),
  selectors: z.array(selectorSetupSchema).min(1),
  globalProperties: z
    .strictObject({ cpu_quota_period: duration.optional() })
    .optional()
    .describe('resource_groups_global_properties (POST /trino/globalproperty/create)'),
})

export const clusterSchema = z.strictObject({
  name: name('cluster').describe('The backend name registered in the gateway'),
  routingGroup: z.string().min(1).default('adhoc'),
  active: z.boolean().default(true).describe('Registered as active (true) or inactive (false)'),
  register: z
    .boolean()
    .default(true)
    .describe('Register through the admin API before clients start; false leaves it to an action'),
  waitHealthy: z
    .boolean()
    .default(true)
    .describe(
      'Wait until the gateway reports it HEALTHY before clients start; false for a cluster meant to be unhealthy',
    ),
  coordinator: z
    .strictObject({
      environment: z.string().min(1).optional().describe('node.environment'),
      maxConcurrentQueries: z.number().int().min(0).optional().describe('query.max-concurrent-queries'),
      maxQueuedQueries: z.number().int().min(0).optional().describe('query.max-queued-queries'),
      clientTimeout: duration.optional().describe('query.client.timeout'),
    })
    .optional(),
  etcDir: z
    .string()
    .min(1)
    .optional()
    .describe(
      'A coordinator etc/ directory (resource-groups.properties, ...), relative to the scenario file',
    ),
  mock: mockConfigSchema
    .optional()
    .describe(
      "The mock's mock.yaml inline: load model (workload), faults from the start, retention; see docs/mock-trino.md",
    ),
  resourceGroupSource: z
    .literal('db')
    .optional()
    .describe(
      "db: the coordinator reads resource groups from the run's database (configuration-manager=db, node.environment from coordinator.environment, default test)",
    ),
})

export const clientHeadersSchema = z.strictObject({
  user: z.string().min(1).default('harness').describe('X-Trino-User'),
  source: z.string().min(1).optional().describe('X-Trino-Source'),
  clientTags: z.array(z.string().min(1)).optional().describe('X-Trino-Client-Tags'),
  routingGroup: z.string().min(1).optional().describe('X-Trino-Routing-Group'),
  session: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe('X-Trino-Session'),
  catalog: z.string().min(1).optional().describe('X-Trino-Catalog'),
  schema: z.string().min(1).optional().describe('X-Trino-Schema'),
  extra: z.record(z.string(), z.string()).optional().describe('Any other request headers, verbatim'),
})

export const clientSchema = z
  .strictObject({
    name: name('client'),
    headers: clientHeadersSchema.default({ user: 'harness' }),
    sql: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('One statement, or a list from which each query draws one (seeded by its trace token)'),
    queries: z.number().int().min(1).max(queriesPerClientMax).default(1),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(concurrencyMax)
      .optional()
      .describe('Closed loop: this many queries in flight, the next starts when one ends (default 1)'),
    arrivalRatePerSecond: z
      .number()
      .positive()
      .max(arrivalRatePerSecondMax)
      .optional()
      .describe('Open loop: queries start at this mean rate whatever is in flight'),
    arrivalProcess: z
      .enum(['uniform', 'poisson'])
      .default('poisson')
      .describe('Open loop: evenly spaced or seeded exponential gaps'),
    thinkTime: duration.optional().describe('Closed loop: pause between a query ending and the next'),
    waves: z
      .strictObject({ size: z.number().int().min(1).max(concurrencyMax) })
      .optional()
      .describe(
        'Waves: before each wave of `size` queries every gateway runs one monitor round, then the POSTs go one after another and every query of the wave reaches its coordinator before the next round; the router so decides on counts the scenario determines (docs/scenarios.md)',
      ),
    start: z
      .strictObject({ at: duration.optional(), after: name('action').optional() })
      .refine((start) => (start.at === undefined) !== (start.after === undefined), {
        message: 'expected exactly one of at, after',
      })
      .default({ at: '0ms' })
      .describe('When the client starts: {at: 1s} after the run starts, or {after: <action name>}'),
    gateway: z
      .union([z.number().int().min(0), z.literal('alternate')])
      .default(0)
      .describe("Which gateway instance the client talks to, or 'alternate' to switch on every poll"),
    queryTimeout: duration.default('60s').describe('A query still running after this is canceled'),
  })
  .superRefine((client, ctx) => {
    if (
      client.waves !== undefined &&
      (client.concurrency !== undefined ||
        client.arrivalRatePerSecond !== undefined ||
        client.thinkTime !== undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['waves'],
        message: 'expected waves alone: not with concurrency, arrivalRatePerSecond or thinkTime',
      })
    }
    if (client.concurrency !== undefined && client.arrivalRatePerSecond !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['arrivalRatePerSecond'],
        message: 'expected concurrency (closed loop) or arrivalRatePerSecond (open loop), not both',
      })
    }
  })

/** The keys that name what an action does; each action has exactly one. */
export const actionKinds = [
  'deactivate',
  'activate',
  'addBackend',
  'removeBackend',
  'faults',
  'restartGateway',
  'updateResourceGroup',
] as const
export type ActionKind = (typeof actionKinds)[number]

export const actionSchema = z
  .strictObject({
    name: name('action').optional().describe('Lets a client start {after: <name>}'),
    at: duration.default('0ms').describe('When the action runs, from the start of the run'),
    after: z
      .strictObject({ client: name('client'), queriesStarted: z.number().int().min(1).default(1) })
      .optional()
      .describe('Also wait until this client has this many queries past QUEUED'),
    deactivate: name('cluster').optional().describe('POST /gateway/backend/deactivate/{name}'),
    activate: name('cluster').optional().describe('POST /gateway/backend/activate/{name}'),
    addBackend: name('cluster')
      .optional()
      .describe('POST /gateway/backend/modify/add with the cluster as declared, then wait until HEALTHY'),
    removeBackend: name('cluster').optional().describe('POST /gateway/backend/modify/delete'),
    faults: z
      .strictObject({ cluster: name('cluster'), set: faultsPatchSchema })
      .optional()
      .describe("Changes a mock's faults (PUT /_mock/faults)"),
    restartGateway: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Closes gateway instance N and starts it again on the same port and database'),
    updateResourceGroup: z
      .strictObject({
        group: groupPath,
        environment: z.string().min(1).default('test'),
        set: resourceGroupLimitsSchema,
      })
      .optional()
      .describe("POST /trino/resourcegroup/update: the group's row with these fields changed"),
  })
  .superRefine((action, ctx) => {
    const present = actionKinds.filter((kind) => action[kind] !== undefined)
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: present.length > 1 ? [present[1] as string] : [],
        message: `expected exactly one of ${actionKinds.join(', ')}${present.length > 1 ? ` (got ${present.join(' and ')})` : ''}`,
      })
    }
  })

/** Routes the external router of a scenario may hold at most. */
export const externalRouterRoutesMax = 100

/**
 * One row of the scenario's external routing service: a request whose header equals the value is
 * answered with this group, headers and errors, or fails the way `fail` says.
 */
export const externalRouterRouteSchema = z.strictObject({
  header: z.string().min(1).describe('Request header the route reads (names are case-insensitive)'),
  equals: z.string().describe('The header value that selects this route'),
  routingGroup: z
    .string()
    .optional()
    .describe('The routingGroup answered; absent answers null, so the default group applies'),
  externalHeaders: z
    .record(z.string().min(1), z.string())
    .optional()
    .describe('externalHeaders answered (over the top-level ones): added to the forwarded request'),
  errors: z
    .array(z.string().min(1))
    .optional()
    .describe('errors answered: with propagateErrors the gateway refuses the query with 400'),
  fail: z
    .enum(['timeout', 'disconnect', 'status500'])
    .optional()
    .describe(
      "Instead of answering: timeout holds the request past the gateway's requestTimeout, disconnect drops the connection, status500 answers HTTP 500",
    ),
})

export const externalRouterSchema = z.strictObject({
  routes: z
    .array(externalRouterRouteSchema)
    .min(1)
    .max(externalRouterRoutesMax)
    .describe('Checked in order, the first whose header equals its value answers'),
  routingGroup: z
    .string()
    .optional()
    .describe('The routingGroup answered when no route matches; absent answers null'),
  externalHeaders: z
    .record(z.string().min(1), z.string())
    .optional()
    .describe('externalHeaders added to every answer'),
  errors: z.array(z.string().min(1)).optional().describe('errors added to every answer'),
})

const clientFilter = {
  client: name('client').optional().describe('Only this client (default: every client)'),
}

export const expectationSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ranOn'),
    name: z.string().optional(),
    ...clientFilter,
    clusters: z.array(name('cluster')).min(1),
  }),
  z.strictObject({
    kind: z.literal('clusterShares'),
    name: z.string().optional(),
    ...clientFilter,
    shares: z.record(name('cluster'), bounds),
  }),
  z.strictObject({
    kind: z.literal('balance'),
    name: z.string().optional(),
    ...clientFilter,
    clusters: z.array(name('cluster')).min(2),
    measure: z.enum(['total', 'inFlightPeak']).default('total'),
    ratioMax: z.number().min(1),
  }),
  z.strictObject({
    kind: z.literal('routingGroup'),
    name: z.string().optional(),
    ...clientFilter,
    group: z.string().min(1),
  }),
  z.strictObject({
    kind: z.literal('resourceGroup'),
    name: z.string().optional(),
    ...clientFilter,
    group: z.string().min(1).describe('Dot-joined resource group id, e.g. global.adhoc.large_customer'),
  }),
  z
    .strictObject({
      kind: z.literal('latency'),
      name: z.string().optional(),
      ...clientFilter,
      routingGroup: z.string().min(1).optional(),
      metric: z
        .enum(['queuedMs', 'runMs', 'totalMs', 'clusterQueuedMs'])
        .describe(
          "queuedMs, runMs, totalMs as the client saw them; clusterQueuedMs as the cluster's scheduler recorded it",
        ),
      percentile: z.number().min(0).max(100),
      maxMs: z.number().min(0),
    })
    .refine((e) => e.client === undefined || e.routingGroup === undefined, {
      message: 'expected client or routingGroup, not both',
      path: ['routingGroup'],
    }),
  z.strictObject({
    kind: z.literal('startShares'),
    name: z.string().optional(),
    cluster: name('cluster').optional().describe('Only queries this cluster ran (default: all)'),
    groups: z.record(z.string().min(1), bounds),
  }),
  z.strictObject({
    kind: z.literal('errors'),
    name: z.string().optional(),
    ...clientFilter,
    counts: z
      .record(z.string().min(1), countBounds)
      .default({})
      .describe('Error name -> exact count or {min,max}; names not listed must not occur'),
  }),
  z.strictObject({
    kind: z.literal('noGatewayErrors'),
    name: z.string().optional(),
    ...clientFilter,
    allowStatuses: z.array(z.number().int().min(100).max(599)).default([]),
  }),
  z.strictObject({
    kind: z.literal('backendHeader'),
    name: z.string().optional(),
    ...clientFilter,
    header: z.string().min(1).describe('A request header of the statement POST as the cluster received it'),
    value: z.string().nullable().describe('The value every query arrived with; null: the header was absent'),
  }),
])

const scenarioObjectSchema = z.strictObject({
  $schema: z.string().optional(),
  name: name('scenario'),
  description: z.string().min(1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  database: databaseSchema.default('embedded'),
  gateway: gatewaySchema.default({ instances: 1 }),
  clusters: z.array(clusterSchema).min(1).max(clustersMax),
  clients: z.array(clientSchema).min(1),
  resourceGroups: resourceGroupsSetupSchema
    .optional()
    .describe("Created through the gateway's resource-group API before the clusters start"),
  actions: z.array(actionSchema).default([]),
  externalRouter: externalRouterSchema
    .optional()
    .describe(
      'An external routing service the runner starts on loopback; routingRules.rulesExternalConfiguration.urlPath points at it',
    ),
  expectations: z.array(expectationSchema).min(1),
})

/**
 * Cross-references run even when other parts of the file are invalid (`when`), so a reader gets
 * every error at once; they read the data defensively for that reason.
 */
export const scenarioSchema = scenarioObjectSchema.check(
  z.superRefine((scenario, ctx) => crossReferences(scenario, ctx), { when: () => true }),
)

export type Scenario = z.output<typeof scenarioSchema>
export type ScenarioInput = z.input<typeof scenarioSchema>
export type ClusterSpec = z.output<typeof clusterSchema>
export type ClientSpec = z.output<typeof clientSchema>
export type ActionSpec = z.output<typeof actionSchema>
export type ExpectationSpec = z.output<typeof expectationSchema>
export type GatewaySpec = z.output<typeof gatewaySchema>
export type ExternalRouterSpec = z.output<typeof externalRouterSchema>
export type ResourceGroupsSetup = z.output<typeof resourceGroupsSetupSchema>
export type ResourceGroupLimits = z.output<typeof resourceGroupLimitsSchema>

/** Names a scenario uses must name something it declares. */
type Loose = Record<string, unknown>
const records = (value: unknown): Loose[] =>
  Array.isArray(value)
    ? value.map((item) => (item !== null && typeof item === 'object' ? (item as Loose) : {}))
    : []
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** Names a scenario uses must name something it declares. */
function crossReferences(input: unknown, ctx: z.RefinementCtx): void {
  const scenario = (input !== null && typeof input === 'object' ? input : {}) as Loose
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message })

  const declared = (list: string, what: string): Set<string> => {
    const names = new Set<string>()
    records(scenario[list]).forEach((item, index) => {
      const itemName = text(item.name)
      if (itemName === undefined) return
      if (names.has(itemName)) issue([list, index, 'name'], `expected a unique ${what} name`)
      names.add(itemName)
    })
    return names
  }
  const clusters = declared('clusters', 'cluster')
  const clients = declared('clients', 'client')
  const actions = records(scenario.actions)
  const actionNames = new Set(actions.flatMap((action) => text(action.name) ?? []))
  const gateway = (scenario.gateway ?? {}) as Loose
  const instances = gateway.url === undefined && typeof gateway.instances === 'number' ? gateway.instances : 1

  const needName = (names: Set<string>, what: string, value: unknown, path: (string | number)[]) => {
    if (typeof value === 'string' && !names.has(value)) {
      issue(path, `expected one of the declared ${what} (${[...names].join(', ') || 'none'})`)
    }
  }
  const needInstance = (value: unknown, path: (string | number)[]) => {
    if (typeof value === 'number' && value >= instances) {
      issue(path, `expected a gateway instance below ${instances} (gateway.instances)`)
    }
  }

  const rgSetup = (scenario.resourceGroups ?? {}) as Loose
  const groupPaths = new Set<string>()
  records(rgSetup.groups).forEach((group, index) => {
    const groupName = text(group.name)
    const parent = text(group.parent)
    if (parent !== undefined && !groupPaths.has(parent)) {
      issue(
        ['resourceGroups', 'groups', index, 'parent'],
        `expected a group declared above (${[...groupPaths].join(', ') || 'none'})`,
      )
    }
    if (groupName === undefined) return
    const groupPath = parent === undefined ? groupName : `${parent}.${groupName}`
    if (groupPaths.has(groupPath))
      issue(['resourceGroups', 'groups', index, 'name'], `expected a unique group path (${groupPath} twice)`)
    groupPaths.add(groupPath)
  })
  records(rgSetup.selectors).forEach((selector, index) => {
    needName(groupPaths, 'resource groups', selector.group, ['resourceGroups', 'selectors', index, 'group'])
  })
  actions.forEach((action, index) => {
    const update = (action.updateResourceGroup ?? {}) as Loose
    if (scenario.resourceGroups !== undefined) {
      needName(groupPaths, 'resource groups', update.group, [
        'actions',
        index,
        'updateResourceGroup',
        'group',
      ])
    }
  })
  records(scenario.clusters).forEach((cluster, index) => {
    if (cluster.resourceGroupSource !== undefined && cluster.etcDir !== undefined) {
      issue(
        ['clusters', index, 'resourceGroupSource'],
        'expected resourceGroupSource or etcDir, not both (the runner writes the etc/ folder of a db source)',
      )
    }
  })

  records(scenario.clients).forEach((client, index) => {
    const start = (client.start ?? {}) as Loose
    needName(actionNames, 'action names', start.after, ['clients', index, 'start', 'after'])
    needInstance(client.gateway, ['clients', index, 'gateway'])
  })

  actions.forEach((action, index) => {
    for (const kind of ['deactivate', 'activate', 'addBackend', 'removeBackend'] as const) {
      needName(clusters, 'clusters', action[kind], ['actions', index, kind])
    }
    const faults = (action.faults ?? {}) as Loose
    needName(clusters, 'clusters', faults.cluster, ['actions', index, 'faults', 'cluster'])
    if (action.restartGateway !== undefined && gateway.url !== undefined) {
      issue(
        ['actions', index, 'restartGateway'],
        'expected no restart of a gateway the harness did not start (gateway.url is set)',
      )
    } else {
      needInstance(action.restartGateway, ['actions', index, 'restartGateway'])
    }
    const after = (action.after ?? {}) as Loose
    needName(clients, 'clients', after.client, ['actions', index, 'after', 'client'])
  })

  if (scenario.externalRouter !== undefined) {
    for (const key of ['url', 'rules', 'rulesPath'] as const) {
      if (gateway[key] !== undefined) {
        issue(
          ['gateway', key],
          `expected no gateway.${key} with externalRouter (the external router chooses the routing group)`,
        )
      }
    }
  }

  records(scenario.expectations).forEach((expectation, index) => {
    needName(clients, 'clients', expectation.client, ['expectations', index, 'client'])
    needName(clusters, 'clusters', expectation.cluster, ['expectations', index, 'cluster'])
    if (Array.isArray(expectation.clusters)) {
      expectation.clusters.forEach((cluster, i) => {
        needName(clusters, 'clusters', cluster, ['expectations', index, 'clusters', i])
      })
    }
    if (
      expectation.kind === 'clusterShares' &&
      expectation.shares !== null &&
      typeof expectation.shares === 'object'
    ) {
      for (const cluster of Object.keys(expectation.shares)) {
        needName(clusters, 'clusters', cluster, ['expectations', index, 'shares', cluster])
      }
    }
  })
}
