import { z } from 'zod'

/**
 * The shape of `report.json`, the one result of a capacity run. It is a zod schema because a report
 * is also an input: `--compare FILE` reads a committed baseline, and a hand-edited or older file must
 * fail with the field it got wrong rather than compare garbage.
 */

export const reportSchemaVersion = 1

export const latencyMsSchema = z.strictObject({
  p50: z.number().min(0),
  p90: z.number().min(0),
  p99: z.number().min(0),
  p999: z.number().min(0),
  max: z.number().min(0),
  mean: z.number().min(0),
})
export type LatencyMs = z.infer<typeof latencyMsSchema>

/** What /proc said about the gateway process during one step. */
export const processUsageSchema = z.strictObject({
  cpuSeconds: z.number().min(0),
  cpuSecondsPerSecond: z.number().min(0),
  /** CPU seconds per 1,000 requests, which is also cores busy per 1,000 requests per second. */
  cpuSecondsPer1000Requests: z.number().min(0).nullable(),
  rssMbPeak: z.number().min(0),
  rssMbPer1000RequestsPerSecond: z.number().min(0).nullable(),
})
export type ProcessUsage = z.infer<typeof processUsageSchema>

/** A step's latencies split by request kind; absent in reports from before the split. */
export const latencyByKindSchema = z.strictObject({
  /** POST /v1/statement: routing, the query_history insert, the first answer. */
  submission: latencyMsSchema,
  /** The GET of each nextUri: the sticky lookup and the proxying. */
  followUp: latencyMsSchema,
})

export const stepResultSchema = z.strictObject({
  mode: z.enum(['closed', 'open']),
  connections: z.number().int().min(1),
  /** HTTP requests per second asked for (open loop); null in closed loop. */
  offeredRequestsPerSecond: z.number().min(0).nullable(),
  durationS: z.number().min(0),
  requests: z.number().int().min(0),
  requestsPerSecond: z.number().min(0),
  /** Statement submissions (POST /v1/statement) answered per second. */
  queriesPerSecond: z.number().min(0),
  latencyMs: latencyMsSchema,
  coordinatedOmissionCorrected: z.boolean(),
  errors: z.number().int().min(0),
  non2xx: z.number().int().min(0),
  timeouts: z.number().int().min(0),
  /** Sequences that ended before their last step (a query that finished early). */
  resets: z.number().int().min(0),
  /** Sequences whose last response still carried a nextUri (a query left unfinished). */
  unfinishedQueries: z.number().int().min(0),
  /** Open loop: requests the schedule asked for that were never sent because the target lagged. */
  droppedRequests: z.number().int().min(0),
  loadGeneratorCpuSecondsPerSecond: z.number().min(0),
  latencyMsByKind: latencyByKindSchema.nullable().optional(),
  gatewayProcess: processUsageSchema.nullable(),
  /** The mock coordinator the direct runs target, measured in every step: the cost of serving. */
  mockProcess: processUsageSchema.nullable(),
  /** Steps of the `minimalProxy` series only: the minimal proxy's process. Absent in older reports. */
  minimalProxyProcess: processUsageSchema.nullable().optional(),
})
export type StepResult = z.infer<typeof stepResultSchema>

export const targetSeriesSchema = z.strictObject({
  closedLoop: z.array(stepResultSchema),
  openLoop: z.array(stepResultSchema),
})
export type TargetSeries = z.infer<typeof targetSeriesSchema>

/** The floor: a minimal Node.js proxy (no routing, no history) in front of the direct target. */
export const minimalProxySeriesSchema = z.strictObject({
  closedLoop: z.array(stepResultSchema),
  /** At the gateway's open-loop rates, for latency over the floor; absent in older reports. */
  openLoop: z.array(stepResultSchema).optional(),
})
export type MinimalProxySeries = z.infer<typeof minimalProxySeriesSchema>

export const inFlightResultSchema = z.strictObject({
  queriesInFlightTarget: z.number().int().min(0),
  /** Highest running + queued count the mock coordinators reported while the phase ran. */
  queriesInFlightPeak: z.number().int().min(0),
  connections: z.number().int().min(0),
  durationS: z.number().min(0),
  rssMbBefore: z.number().min(0),
  rssMbPeak: z.number().min(0),
  errors: z.number().int().min(0),
  non2xx: z.number().int().min(0),
  timeouts: z.number().int().min(0),
})
export type InFlightResult = z.infer<typeof inFlightResultSchema>

export const targetCheckSchema = z.strictObject({
  name: z.string(),
  expected: z.string(),
  measured: z.number().nullable(),
  unit: z.string(),
  met: z.boolean().nullable(),
})
export type TargetCheck = z.infer<typeof targetCheckSchema>

export const overheadAtRateSchema = z.strictObject({
  offeredRequestsPerSecond: z.number().min(0),
  addedLatencyMsP50: z.number(),
  addedLatencyMsP90: z.number(),
  addedLatencyMsP99: z.number(),
  /** The same for statement submissions and for follow-ups alone (absent before the split). */
  addedSubmissionLatencyMsP50: z.number().nullable().optional(),
  addedSubmissionLatencyMsP99: z.number().nullable().optional(),
  addedFollowUpLatencyMsP50: z.number().nullable().optional(),
  addedFollowUpLatencyMsP99: z.number().nullable().optional(),
  /** Gateway minus the minimal proxy at the same offered rate (absent when the floor ran no open loop). */
  addedOverFloorLatencyMsP50: z.number().nullable().optional(),
  addedOverFloorSubmissionLatencyMsP50: z.number().nullable().optional(),
  addedOverFloorFollowUpLatencyMsP50: z.number().nullable().optional(),
})

/** One request kind through the gateway against the minimal proxy, closed loop, same connections. */
export const kindAgainstFloorSchema = z.strictObject({
  gatewayLatencyMsMean: z.number().min(0),
  minimalProxyLatencyMsMean: z.number().min(0),
  /**
   * Minimal-proxy mean latency over the gateway's: by Little's law, the share of the floor's
   * throughput the gateway would reach on this kind of request alone at these connections.
   */
  ratio: z.number().min(0),
})

export const summarySchema = z.strictObject({
  direct: z.strictObject({
    saturationRequestsPerSecond: z.number().min(0),
    saturationQueriesPerSecond: z.number().min(0),
    saturationConnections: z.number().int().min(0),
    /** The mock coordinator's own cost, for scale: what serving a request costs on this machine. */
    mockCpuSecondsPer1000RequestsAtSaturation: z.number().min(0).nullable(),
  }),
  gateway: z.strictObject({
    saturationRequestsPerSecond: z.number().min(0),
    saturationQueriesPerSecond: z.number().min(0),
    saturationConnections: z.number().int().min(0),
    cpuSecondsPer1000RequestsAtSaturation: z.number().min(0).nullable(),
    rssMbAtSaturation: z.number().min(0).nullable(),
  }),
  /** Gateway statement submissions per second over direct, both at saturation. */
  submissionRatio: z.number().min(0).nullable(),
  /** The open-loop step closest to half the gateway's saturation rate. */
  halfSaturation: overheadAtRateSchema.nullable(),
  overheadByRate: z.array(overheadAtRateSchema),
  rssMbWithQueriesInFlight: z.number().min(0).nullable(),
  queriesInFlightPeak: z.number().int().min(0).nullable(),
  // The floor; absent in reports from before the minimal proxy was measured.
  /** The minimal proxy's best closed-loop statement submissions per second. */
  minimalProxySaturationQueriesPerSecond: z.number().min(0).optional(),
  /** Minimal proxy saturation over direct saturation (queries/s): the price of any Node.js proxy. */
  minimalProxyRatio: z.number().min(0).nullable().optional(),
  /** Gateway saturation over minimal proxy saturation (queries/s): the price of the gateway's own work. */
  gatewayToMinimalProxyRatio: z.number().min(0).nullable().optional(),
  /**
   * The gateway against the floor by request kind, at the gateway's saturation step (closed loop,
   * the same connections through both); null when a kind was not split. Absent in older reports.
   */
  floorByKind: z
    .strictObject({
      connections: z.number().int().min(1),
      submission: kindAgainstFloorSchema,
      followUp: kindAgainstFloorSchema,
    })
    .nullable()
    .optional(),
})
export type Summary = z.infer<typeof summarySchema>

export const capacityReportSchema = z.strictObject({
  schemaVersion: z.literal(reportSchemaVersion),
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  mode: z.enum(['quick', 'full']),
  scenario: z.string().nullable(),
  seed: z.number().int(),
  codeVersion: z.string(),
  machine: z.strictObject({
    cpus: z.number().int().min(0),
    cpuModel: z.string(),
    node: z.string(),
    platform: z.string(),
    memoryTotalMb: z.number().min(0),
    loadAverage1mStart: z.number().min(0),
    loadAverage1mEnd: z.number().min(0),
  }),
  topology: z.strictObject({
    clusters: z.array(z.strictObject({ name: z.string(), routingGroup: z.string() })),
    directTarget: z.string(),
    database: z.string(),
    processes: z.string(),
    /** The gateway's `workers` (data-plane processes); absent in reports from before the setting. */
    workers: z.number().int().min(1).optional(),
  }),
  protocol: z.strictObject({
    sql: z.string(),
    requestsPerQuery: z.number().int().min(1),
    headers: z.record(z.string(), z.string()),
  }),
  direct: targetSeriesSchema,
  gateway: targetSeriesSchema.extend({ inFlight: inFlightResultSchema.nullable() }),
  /** Absent in reports from before the minimal proxy was measured. */
  minimalProxy: minimalProxySeriesSchema.optional(),
  summary: summarySchema,
  targets: z.array(targetCheckSchema),
  verdict: z.string(),
})
export type CapacityReport = z.infer<typeof capacityReportSchema>
