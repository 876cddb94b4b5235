/**
 * `workers` > 1: the primary process. It opens the store (and serves the embedded database, if
 * there is one), runs the one health monitor and the one history-retention task, and forks the
 * data-plane workers, which share the listening port through node:cluster. It holds the shared
 * routing state and keeps every worker's copy in line:
 *
 * - registry snapshots (backends, health, measured counts) go to every worker after each change,
 *   coalesced per turn of the event loop;
 * - an admin change a worker received is applied here, sent to every worker, and answered only
 *   once every worker acknowledged it, so when the admin API answers no worker routes the old way;
 * - the least-loaded router's counts: the monitor's go to every worker, and each worker's picks
 *   go to every other worker, so all count every query;
 * - routing-rule updates take a gateway-wide lock, and every worker reloads the file before the
 *   update answers.
 *
 * A worker that exits unasked is restarted after a backoff (`workerRestartDelayMs*`). A graceful
 * stop asks every worker to stop (each drains and writes its query_history buffer), then closes.
 */
import cluster, { type Worker } from 'node:cluster'
import { hostname } from 'node:os'
import { pino } from 'pino'
import { Agent } from 'undici'
import { CodedError } from '../../common/errors.ts'
import { applyRegistryChangeLocally } from '../clusters/backend-service.ts'
import { infoProbeTimeoutMs } from '../clusters/monitor.ts'
import { createMonitorFromConfig } from '../clusters/monitor-from-config.ts'
import { BackendRegistry } from '../clusters/registry.ts'
import type { GatewayConfig } from '../config.ts'
import { gatewayError } from '../errors.ts'
import { processRoutingKey } from '../proxy/routing-token.ts'
import {
  localStatsOf,
  QueryCountBasedRouter,
  queryCountBasedRouterModule,
} from '../routing/query-count-router.ts'
import { openStore } from '../store/index.ts'
import { startHistoryRetention } from '../store/retention.ts'
import {
  type HistoryStats,
  isGatewayMessage,
  type ToPrimary,
  type ToWorker,
  toPrimarySchema,
  toWorker,
  type WorkerRequest,
} from './messages.ts'

/** Start-up fails when a worker has not listened within this. */
export const workerStartMsMax = 60_000
/** A graceful stop kills workers still running after this (each writes its history within 10 s). */
export const workerStopMsMax = 30_000
/** An admin change answers after this even if a worker has not acknowledged it (that one is logged). */
export const workerAckTimeoutMs = 5_000
/** A `/metrics` answer goes out after this without the counts of a worker that has not sent them. */
export const historyStatsCollectMsMax = 2_000
/** The first restart of a crashed worker waits this long; each quick crash after doubles it... */
export const workerRestartDelayMsMin = 100
/** ...up to this. */
export const workerRestartDelayMsMax = 10_000
/** A worker that ran this long before crashing is restarted after the shortest delay again. */
export const workerStableMsMin = 30_000

/**
 * node:cluster's scheduling: `none` (the kernel hands each new connection to a worker blocked in
 * accept on the shared socket) unless NODE_CLUSTER_SCHED_POLICY says otherwise. Round-robin has the
 * primary accept every connection and pass it to one worker at a time, one IPC round trip each;
 * under load a burst of new connections then waited 100 ms and more in capacity runs (docs/capacity.md).
 */
export function schedulingPolicyOf(env: NodeJS.ProcessEnv): 'none' | 'rr' {
  return env.NODE_CLUSTER_SCHED_POLICY === 'rr' ? 'rr' : 'none'
}

export interface StartPrimaryOptions {
  config: GatewayConfig
  /** The config file's text, which every worker parses (a restarted worker gets the same config). */
  configText: string
  workers: number
  seed: number
  dataDir?: string | undefined
  host: string
  logLevel: string
}

export interface RunningPrimary {
  url: string
  port: number
  seed: number
  databaseUrl: string
  /** Process ids of the workers now running, by worker id. */
  workerPids(): Map<number, number>
  close(): Promise<void>
}

interface Slot {
  readonly id: number
  worker: Worker | undefined
  /** Sent its init: broadcasts go to it and acknowledgements are awaited from it. */
  attached: boolean
  ackedSeq: number
  listeningPort: number | undefined
  startedAtMs: number
  restartDelayMs: number
  restartTimer: NodeJS.Timeout | undefined
}

type HistoryStatsByWorker = Array<[number, HistoryStats]>

interface StatsCollection {
  readonly awaited: Set<number>
  readonly collected: HistoryStatsByWorker
  done(): void
}

interface AckWaiter {
  seq: number
  resolve(laggards: number[]): void
  timer: NodeJS.Timeout
}

export async function startPrimary(options: StartPrimaryOptions): Promise<RunningPrimary> {
  const { config } = options
  const logger = pino({
    level: options.logLevel === 'silent' ? 'silent' : options.logLevel,
    base: { pid: process.pid, hostname: hostname(), role: 'primary' },
  })
  const store = await openStore({ dataStore: config.dataStore, dataDir: options.dataDir, logger })
  const dispatcher = new Agent({
    connections: 8,
    keepAliveTimeout: 30_000,
    headersTimeout: infoProbeTimeoutMs,
    bodyTimeout: infoProbeTimeoutMs,
  })
  const registry = new BackendRegistry()
  const router = config.modules.includes(queryCountBasedRouterModule)
    ? new QueryCountBasedRouter({ tieBreak: config.routing.tieBreak })
    : undefined
  // Without configured keys every worker signs with one key of this gateway's, so a token one
  // worker wrote is good on all of them.
  const sharedKey = config.routing.tokenKeys.length === 0 ? processRoutingKey() : undefined
  const slots: Slot[] = Array.from({ length: options.workers }, (_unused, index) => ({
    id: index + 1,
    worker: undefined,
    attached: false,
    ackedSeq: 0,
    listeningPort: undefined,
    startedAtMs: 0,
    restartDelayMs: workerRestartDelayMsMin,
    restartTimer: undefined,
  }))
  let seq = 0
  let monitorReady = false
  let dirty = false
  let broadcastScheduled = false
  let stopping = false
  let started = false
  const ackWaiters = new Set<AckWaiter>()
  const rulesLockQueue: Array<{ slot: Slot; requestId: number }> = []
  let rulesLockHolder: Slot | undefined
  const statsCollections = new Map<number, StatsCollection>()
  let nextCollectId = 1
  let startupFailed: ((error: Error) => void) | undefined
  let startupListening: (() => void) | undefined

  const send = (slot: Slot, message: ToWorker) => {
    const worker = slot.worker
    if (worker === undefined || !worker.isConnected()) return
    worker.send(message, (error: Error | null) => {
      if (error !== null && !stopping) logger.warn({ worker: slot.id, err: error.message }, 'IPC send failed')
    })
  }
  const attachedSlots = () => slots.filter((slot) => slot.attached && slot.worker !== undefined)

  const settleWaiters = () => {
    for (const waiter of ackWaiters) {
      const laggards = attachedSlots()
        .filter((slot) => slot.ackedSeq < waiter.seq)
        .map((slot) => slot.id)
      if (laggards.length === 0) {
        clearTimeout(waiter.timer)
        ackWaiters.delete(waiter)
        waiter.resolve([])
      }
    }
  }

  /** Resolves once every attached worker applied broadcast `target` (or the wait timed out). */
  const acknowledged = (target: number): Promise<number[]> =>
    new Promise((resolve) => {
      const waiter: AckWaiter = {
        seq: target,
        resolve,
        timer: setTimeout(() => {
          ackWaiters.delete(waiter)
          resolve(
            attachedSlots()
              .filter((slot) => slot.ackedSeq < target)
              .map((slot) => slot.id),
          )
        }, workerAckTimeoutMs),
      }
      ackWaiters.add(waiter)
      settleWaiters()
    })

  const broadcastRegistry = (): number => {
    dirty = false
    seq++
    const message = toWorker({ type: 'registry', seq, registry: registry.snapshot(), monitorReady })
    for (const slot of attachedSlots()) send(slot, message)
    return seq
  }
  registry.onChange(() => {
    dirty = true
    if (broadcastScheduled) return
    broadcastScheduled = true
    setImmediate(() => {
      broadcastScheduled = false
      if (dirty) broadcastRegistry()
    })
  })

  const monitor = createMonitorFromConfig({
    config,
    registry,
    backends: store.backends,
    dispatcher,
    logger,
    onStats: (name, stats) => {
      const local = localStatsOf(stats)
      router?.updateClusterStats(name, local)
      for (const slot of attachedSlots()) send(slot, toWorker({ type: 'cluster-stats', name, stats: local }))
    },
    onRound: () => {
      if (monitorReady) return
      monitorReady = true
      broadcastRegistry()
    },
  })
  const applyHere = applyRegistryChangeLocally(registry, monitor)
  const retention = startHistoryRetention({
    history: store.history,
    hoursRetention: config.dataStore.queryHistoryHoursRetention,
    logger,
  })

  const reply = (slot: Slot, requestId: number, error: unknown) => {
    const body =
      error === undefined
        ? null
        : error instanceof CodedError
          ? { code: error.code, message: error.message, statusCode: error.statusCode }
          : { code: 'INTERNAL_ERROR', message: (error as Error).message, statusCode: 500 }
    send(slot, toWorker({ type: 'reply', requestId, error: body }))
  }

  const warnLaggards = (laggards: number[], what: string) => {
    if (laggards.length > 0)
      logger.warn(
        { workers: laggards, waitedMs: workerAckTimeoutMs },
        `workers did not acknowledge ${what} in time; answering anyway`,
      )
  }

  const grantRulesLock = () => {
    if (rulesLockHolder !== undefined) return
    const next = rulesLockQueue.shift()
    if (next === undefined) return
    rulesLockHolder = next.slot
    reply(next.slot, next.requestId, undefined)
  }

  /** Asks every attached worker for its query_history counts; a worker that has not answered in time is left out. */
  const collectHistoryStats = (): Promise<HistoryStatsByWorker> =>
    new Promise((resolve) => {
      const collectId = nextCollectId++
      const targets = attachedSlots()
      const collected: HistoryStatsByWorker = []
      const finish = () => {
        clearTimeout(timer)
        statsCollections.delete(collectId)
        if (collection.awaited.size > 0)
          logger.warn(
            { workers: [...collection.awaited], waitedMs: historyStatsCollectMsMax },
            'workers did not send their query_history counts in time; /metrics answers without them',
          )
        resolve(collected.sort(([a], [b]) => a - b))
      }
      const timer = setTimeout(finish, historyStatsCollectMsMax)
      const collection: StatsCollection = {
        awaited: new Set(targets.map((each) => each.id)),
        collected,
        done: finish,
      }
      statsCollections.set(collectId, collection)
      if (targets.length === 0) finish()
      for (const target of targets) send(target, toWorker({ type: 'report-history-stats', collectId }))
    })

  const handleRequest = async (slot: Slot, requestId: number, request: WorkerRequest) => {
    switch (request.kind) {
      case 'history-stats': {
        const historyStats = await collectHistoryStats()
        send(slot, toWorker({ type: 'reply', requestId, error: null, historyStats }))
        return
      }
      case 'registry-change': {
        applyHere(request.change)
        warnLaggards(await acknowledged(broadcastRegistry()), 'a backend change')
        reply(slot, requestId, undefined)
        return
      }
      case 'rules-lock':
        rulesLockQueue.push({ slot, requestId })
        grantRulesLock()
        return
      case 'rules-unlock': {
        if (rulesLockHolder !== slot) {
          reply(slot, requestId, new Error('rules-unlock from a worker that does not hold the lock'))
          return
        }
        if (request.changed) {
          seq++
          const message = toWorker({ type: 'reload-rules', seq })
          for (const other of attachedSlots()) send(other, message)
          warnLaggards(await acknowledged(seq), 'a routing-rules update')
        }
        rulesLockHolder = undefined
        reply(slot, requestId, undefined)
        grantRulesLock()
        return
      }
    }
  }

  const handleMessage = (slot: Slot, message: ToPrimary) => {
    switch (message.type) {
      case 'hello':
        slot.attached = true
        slot.ackedSeq = 0
        send(
          slot,
          toWorker({
            type: 'init',
            workerId: slot.id,
            seed: options.seed,
            configText: options.configText,
            configSource: config.source,
            databaseUrl: store.embedded ? store.url : null,
            routingKey:
              sharedKey === undefined
                ? null
                : { id: sharedKey.id, secret: sharedKey.secret.toString('base64') },
            seq,
            registry: registry.snapshot(),
            monitorReady,
            routerStats: router?.allStats() ?? [],
          }),
        )
        return
      case 'listening':
        slot.listeningPort = message.port
        logger.info(
          { worker: slot.id, workerPid: slot.worker?.process.pid, port: message.port },
          'worker listening',
        )
        if (slots.every((each) => each.listeningPort !== undefined)) startupListening?.()
        return
      case 'applied':
        slot.ackedSeq = Math.max(slot.ackedSeq, message.seq)
        settleWaiters()
        return
      case 'picks': {
        for (const [name, user] of message.picks) router?.recordPick(name, user ?? undefined)
        const forward = toWorker({ type: 'picks', picks: message.picks })
        for (const other of attachedSlots()) if (other !== slot) send(other, forward)
        return
      }
      case 'history-stats': {
        const collection = statsCollections.get(message.collectId)
        if (collection === undefined || !collection.awaited.delete(slot.id)) return
        collection.collected.push([slot.id, message.stats])
        if (collection.awaited.size === 0) collection.done()
        return
      }
      case 'request':
        handleRequest(slot, message.requestId, message.request).catch((error: unknown) =>
          reply(slot, message.requestId, error),
        )
        return
    }
  }

  const fork = (slot: Slot) => {
    slot.restartTimer = undefined
    slot.attached = false
    slot.listeningPort = undefined
    slot.startedAtMs = Date.now()
    const worker = cluster.fork()
    slot.worker = worker
    logger.info({ worker: slot.id, workerPid: worker.process.pid }, 'worker started')
    worker.on('message', (raw: unknown) => {
      if (!isGatewayMessage(raw)) return
      const parsed = toPrimarySchema.safeParse(raw)
      if (!parsed.success) {
        logger.warn(
          { worker: slot.id, problem: parsed.error.message.slice(0, 500) },
          'dropped a malformed message from a worker',
        )
        return
      }
      handleMessage(slot, parsed.data)
    })
    worker.on('exit', (code: number | null, signal: string | null) => {
      if (slot.worker !== worker) return
      slot.worker = undefined
      slot.attached = false
      slot.listeningPort = undefined
      if (rulesLockHolder === slot) {
        rulesLockHolder = undefined
        grantRulesLock()
      }
      for (let index = rulesLockQueue.length - 1; index >= 0; index--)
        if (rulesLockQueue[index]?.slot === slot) rulesLockQueue.splice(index, 1)
      settleWaiters()
      if (stopping) return
      const ranMs = Date.now() - slot.startedAtMs
      if (!started) {
        startupFailed?.(
          gatewayError(
            'WORKER_START_FAILED',
            `worker ${slot.id} (pid ${worker.process.pid}) exited before listening (code ${code}, signal ${signal}); see its log above`,
            { worker: slot.id, code, signal },
          ),
        )
        return
      }
      const delayMs = ranMs >= workerStableMsMin ? workerRestartDelayMsMin : slot.restartDelayMs
      slot.restartDelayMs = Math.min(workerRestartDelayMsMax, delayMs * 2)
      logger.error(
        { worker: slot.id, workerPid: worker.process.pid, code, signal, ranMs, restartInMs: delayMs },
        'worker exited unexpectedly; restarting it',
      )
      slot.restartTimer = setTimeout(() => fork(slot), delayMs)
    })
  }

  const stopWorkers = async () => {
    stopping = true
    for (const slot of slots) if (slot.restartTimer !== undefined) clearTimeout(slot.restartTimer)
    const running = slots.flatMap((slot) => (slot.worker === undefined ? [] : [slot.worker]))
    const exits = running.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) resolve()
          else worker.once('exit', () => resolve())
        }),
    )
    for (const slot of slots) send(slot, toWorker({ type: 'stop' }))
    const killer = setTimeout(() => {
      for (const worker of running) {
        if (!worker.isDead()) {
          logger.error(
            { workerPid: worker.process.pid, waitedMs: workerStopMsMax },
            'worker did not stop; killing it',
          )
          worker.process.kill('SIGKILL')
        }
      }
    }, workerStopMsMax)
    await Promise.all(exits)
    clearTimeout(killer)
  }

  const closeShared = async () => {
    await monitor.close()
    await retention.stop()
    await dispatcher.close().catch(() => dispatcher.destroy())
    await store.close()
  }

  const scheduling = schedulingPolicyOf(process.env)
  cluster.schedulingPolicy = scheduling === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE
  monitor.start()
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            gatewayError('WORKER_START_FAILED', `not every worker listened within ${workerStartMsMax} ms`, {
              workers: options.workers,
            }),
          ),
        workerStartMsMax,
      )
      startupListening = () => {
        clearTimeout(timer)
        resolve()
      }
      startupFailed = (error) => {
        clearTimeout(timer)
        reject(error)
      }
      for (const slot of slots) fork(slot)
    })
  } catch (error) {
    await stopWorkers()
    await closeShared()
    throw error
  }
  started = true
  const port = slots[0]?.listeningPort as number
  const urlHost =
    options.host === '0.0.0.0' || options.host === '::'
      ? '127.0.0.1'
      : options.host.includes(':')
        ? `[${options.host}]`
        : options.host
  logger.info({ seed: options.seed, port, workers: options.workers, scheduling }, 'gateway started')
  let closing: Promise<void> | undefined
  return {
    url: `http://${urlHost}:${port}`,
    port,
    seed: options.seed,
    databaseUrl: store.url,
    workerPids: () =>
      new Map(
        slots.flatMap((slot) =>
          slot.worker?.process.pid === undefined
            ? []
            : [[slot.id, slot.worker.process.pid] as [number, number]],
        ),
      ),
    close() {
      closing ??= (async () => {
        try {
          await stopWorkers()
        } finally {
          await closeShared()
        }
      })()
      return closing
    },
  }
}
