/**
 * The IPC protocol between the primary and its data-plane workers (`workers` > 1). Every message
 * is parsed by these schemas on arrival: a message that fails is logged and dropped, never half
 * applied. Each carries `tgl` so the gateway's messages are told apart from anything else on the
 * channel.
 */
import { z } from 'zod'
import { historyModes } from '../store/history-writer.ts'

export const workerProtocol = 'workers/1'

const trinoStatusSchema = z.enum(['PENDING', 'HEALTHY', 'UNHEALTHY', 'UNKNOWN'])

const backendRecordSchema = z.strictObject({
  name: z.string(),
  routingGroup: z.string(),
  proxyTo: z.string(),
  externalUrl: z.string().nullable(),
  active: z.boolean(),
})

const countSchema = z.number().int().min(0)

const clusterStatsSchema = z.strictObject({
  clusterId: z.string(),
  runningQueryCount: countSchema,
  queuedQueryCount: countSchema,
  numWorkerNodes: countSchema,
  trinoStatus: trinoStatusSchema,
  proxyTo: z.string(),
  externalUrl: z.string(),
  routingGroup: z.string(),
  userQueuedCount: z.record(z.string(), countSchema).nullable(),
})

export const registrySnapshotSchema = z.strictObject({
  backends: z.array(backendRecordSchema),
  stats: z.array(z.tuple([z.string(), clusterStatsSchema])),
})

const localStatsSchema = z.strictObject({
  runningQueryCount: countSchema,
  queuedQueryCount: countSchema,
  userQueuedCount: z.record(z.string(), countSchema),
})

/** One least-loaded pick: the backend and the `X-Trino-User` (null: none). */
const pickSchema = z.tuple([z.string(), z.string().nullable()])

const registryChangeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('upsert'), backend: backendRecordSchema, status: trinoStatusSchema }),
  z.strictObject({ kind: z.literal('remove'), name: z.string() }),
])

/** A worker's query_history writer counts (`HistoryWriterStats`), for the gateway-wide `/metrics`. */
export const historyStatsSchema = z.strictObject({
  mode: z.enum(historyModes),
  pendingItems: countSchema,
  writtenItems: countSchema,
  writeFailures: countSchema,
  rejectedItems: countSchema,
  submitWaits: countSchema,
})

export type HistoryStats = z.infer<typeof historyStatsSchema>

/** Each worker's counts by worker id, as the primary gathered them for one `/metrics` answer. */
const historyStatsByWorkerSchema = z.array(z.tuple([z.number().int().min(1), historyStatsSchema]))

/** What a worker asks of the primary and waits for (answered by a `reply`). */
export const workerRequestSchema = z.discriminatedUnion('kind', [
  /** Every worker's query_history writer counts (the reply's `historyStats`). */
  z.strictObject({ kind: z.literal('history-stats') }),
  /** Put a backend change (already in the database) in force in every process. */
  z.strictObject({ kind: z.literal('registry-change'), change: registryChangeSchema }),
  /** Hold the gateway-wide lock of the routing-rules file (one update at a time). */
  z.strictObject({ kind: z.literal('rules-lock') }),
  /** Release it, after every other worker has reloaded the rules (`changed`) or not. */
  z.strictObject({ kind: z.literal('rules-unlock'), changed: z.boolean() }),
])
export type WorkerRequest = z.infer<typeof workerRequestSchema>

const errorSchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  statusCode: z.number().int().min(400).max(599),
})

export const toWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('init'),
    workerId: z.number().int().min(1),
    seed: z.number().int(),
    /** The config file as the primary read it at start-up, and where it came from. */
    configText: z.string(),
    configSource: z.string(),
    /** The embedded database the primary serves; null: the configured dataStore. */
    databaseUrl: z.string().nullable(),
    /** The gateway's routing key when routing.tokenKeys is empty (base64 secret). */
    routingKey: z.strictObject({ id: z.string(), secret: z.string() }).nullable(),
    /** The sequence number of the last broadcast this state includes. */
    seq: z.number().int().min(0),
    registry: registrySnapshotSchema,
    monitorReady: z.boolean(),
    routerStats: z.array(z.tuple([z.string(), localStatsSchema])),
  }),
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('registry'),
    seq: z.number().int().min(1),
    registry: registrySnapshotSchema,
    monitorReady: z.boolean(),
  }),
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('reload-rules'),
    seq: z.number().int().min(1),
  }),
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('cluster-stats'),
    name: z.string(),
    stats: localStatsSchema,
  }),
  z.strictObject({ tgl: z.literal(workerProtocol), type: z.literal('picks'), picks: z.array(pickSchema) }),
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('reply'),
    requestId: z.number().int().min(1),
    error: errorSchema.nullable(),
    /** The answer to a `history-stats` request. */
    historyStats: historyStatsByWorkerSchema.optional(),
  }),
  /** Send this worker's query_history writer counts (`history-stats`) for collection `collectId`. */
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('report-history-stats'),
    collectId: z.number().int().min(1),
  }),
  z.strictObject({ tgl: z.literal(workerProtocol), type: z.literal('stop') }),
])
export type ToWorker = z.infer<typeof toWorkerSchema>

export const toPrimarySchema = z.discriminatedUnion('type', [
  z.strictObject({ tgl: z.literal(workerProtocol), type: z.literal('hello') }),
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('listening'),
    port: z.number().int().min(1).max(65_535),
  }),
  /** Every broadcast up to `seq` is in force in this worker. */
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('applied'),
    seq: z.number().int().min(0),
  }),
  z.strictObject({ tgl: z.literal(workerProtocol), type: z.literal('picks'), picks: z.array(pickSchema) }),
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('history-stats'),
    collectId: z.number().int().min(1),
    stats: historyStatsSchema,
  }),
  z.strictObject({
    tgl: z.literal(workerProtocol),
    type: z.literal('request'),
    requestId: z.number().int().min(1),
    request: workerRequestSchema,
  }),
])
export type ToPrimary = z.infer<typeof toPrimarySchema>

/** Distributes `Omit` over a union, so each message keeps its own fields. */
type WithoutProtocol<T> = T extends unknown ? Omit<T, 'tgl'> : never

export function toWorker(message: WithoutProtocol<ToWorker>): ToWorker {
  return { tgl: workerProtocol, ...message } as ToWorker
}

export function toPrimary(message: WithoutProtocol<ToPrimary>): ToPrimary {
  return { tgl: workerProtocol, ...message } as ToPrimary
}

/** Whether an IPC message is one of ours at all (others are ignored, not reported). */
export function isGatewayMessage(message: unknown): boolean {
  return (
    typeof message === 'object' && message !== null && (message as { tgl?: unknown }).tgl === workerProtocol
  )
}
