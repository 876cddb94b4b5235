/**
 * A data-plane worker's side of the IPC protocol (`./messages.ts`): it takes the primary's registry
 * snapshots, cluster counts and other workers' least-loaded picks, reports its own picks, and
 * routes every change of shared state (backends, rules) through the primary, which answers once
 * every worker holds the change.
 */
import { CodedError } from '../../common/errors.ts'
import type { ApplyRegistryChange } from '../clusters/backend-service.ts'
import type { BackendRegistry } from '../clusters/registry.ts'
import { gatewayError } from '../errors.ts'
import type { QueryCountBasedRouter } from '../routing/query-count-router.ts'
import {
  type HistoryStats,
  isGatewayMessage,
  type ToPrimary,
  type ToWorker,
  toPrimary,
  toWorkerSchema,
  type WorkerRequest,
} from './messages.ts'

/** How long a worker waits for the primary to answer a request (the primary's own waits are shorter). */
export const primaryRequestTimeoutMs = 30_000
/** How long a starting worker waits for its `init`. */
export const primaryInitTimeoutMs = 30_000
/** Picks sent in one message at most; more wait for the next turn of the event loop. */
export const picksPerMessageMax = 1_000

export type WorkerInit = Extract<ToWorker, { type: 'init' }>
type Reply = Extract<ToWorker, { type: 'reply' }>

/** The IPC end a worker talks through: `process` in a cluster worker. */
export interface IpcChannel {
  send?: ((message: unknown) => boolean) | undefined
  readonly connected?: boolean
  on(event: 'message', listener: (message: unknown) => void): unknown
  on(event: 'disconnect', listener: () => void): unknown
}

export interface WorkerLinkLogger {
  warn(fields: Record<string, unknown>, message: string): void
}

/** What the worker's server hands the link once it is built. */
export interface WorkerLinkTargets {
  registry: BackendRegistry
  /** The least-loaded router in force, if any. */
  router: () => QueryCountBasedRouter | undefined
  /** Re-reads the routing-rules file (the file selector's reload), if rules come from one. */
  reloadRules: () => Promise<void>
  /** This worker's query_history writer counts, which the primary gathers for every `/metrics`. */
  historyStats: () => HistoryStats
  logger: WorkerLinkLogger
}

export interface WorkerLink {
  readonly init: WorkerInit
  readonly workerId: number
  /** Whether the primary's monitor has finished its first round (`/trino-gateway/readyz`). */
  readonly monitorReady: boolean
  /** Applies the init state to the server's registry and router, then every broadcast in order. */
  attach(targets: WorkerLinkTargets): void
  applyRegistryChange: ApplyRegistryChange
  reportPick(name: string, user: string | undefined): void
  /** Every worker's query_history writer counts by worker id (one that did not answer in time is absent). */
  historyStatsOfEveryWorker(): Promise<Array<[number, HistoryStats]>>
  /** Runs a rules-file update under the gateway-wide lock; the other workers reload after it. */
  updateRules<T>(update: () => Promise<T>): Promise<T>
  listening(port: number): void
  /** Called once when the primary says stop or the channel closes. */
  onStop(listener: (reason: 'stop' | 'disconnect') => void): void
}

/** Says hello to the primary and resolves with the link once the `init` arrived. */
export async function connectToPrimary(channel: IpcChannel = process): Promise<WorkerLink> {
  const send = (message: ToPrimary): void => {
    if (channel.connected !== false) channel.send?.(message)
  }
  const backlog: ToWorker[] = []
  let deliver: ((message: ToWorker) => void) | undefined
  let resolveInit: ((value: WorkerInit) => void) | undefined
  let stopListener: ((reason: 'stop' | 'disconnect') => void) | undefined
  let stoppedBy: 'stop' | 'disconnect' | undefined
  const pending = new Map<
    number,
    { resolve(reply: Reply): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >()
  let nextRequestId = 1
  let logger: WorkerLinkLogger | undefined
  let historyStatsOf: (() => HistoryStats) | undefined

  const stop = (reason: 'stop' | 'disconnect') => {
    if (stoppedBy !== undefined) return
    stoppedBy = reason
    for (const [id, waiter] of pending) {
      clearTimeout(waiter.timer)
      waiter.reject(
        gatewayError(
          'WORKERS_PRIMARY_UNREACHABLE',
          'the gateway primary process went away before putting the change in force in every worker',
        ),
      )
      pending.delete(id)
    }
    stopListener?.(reason)
  }

  channel.on('message', (raw) => {
    if (!isGatewayMessage(raw)) return
    const parsed = toWorkerSchema.safeParse(raw)
    if (!parsed.success) {
      logger?.warn(
        { problem: parsed.error.message.slice(0, 500) },
        'dropped a malformed message from the primary',
      )
      return
    }
    const message = parsed.data
    if (message.type === 'init') {
      resolveInit?.(message)
      return
    }
    if (message.type === 'reply') {
      const waiter = pending.get(message.requestId)
      if (waiter === undefined) return
      pending.delete(message.requestId)
      clearTimeout(waiter.timer)
      if (message.error === null) waiter.resolve(message)
      else waiter.reject(new CodedError(message.error.code, message.error.message, message.error.statusCode))
      return
    }
    if (message.type === 'report-history-stats') {
      // Answered at once, not behind the broadcasts being applied; before attach there are no counts.
      if (historyStatsOf !== undefined)
        send(toPrimary({ type: 'history-stats', collectId: message.collectId, stats: historyStatsOf() }))
      return
    }
    if (message.type === 'stop') {
      stop('stop')
      return
    }
    if (deliver === undefined) backlog.push(message)
    else deliver(message)
  })
  channel.on('disconnect', () => stop('disconnect'))

  const request = (body: WorkerRequest): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      if (stoppedBy !== undefined || channel.connected === false) {
        reject(gatewayError('WORKERS_PRIMARY_UNREACHABLE', 'the gateway primary process is not reachable'))
        return
      }
      const requestId = nextRequestId++
      const timer = setTimeout(() => {
        pending.delete(requestId)
        reject(
          gatewayError(
            'WORKERS_PRIMARY_UNREACHABLE',
            `the gateway primary process did not answer a ${body.kind} request within ${primaryRequestTimeoutMs} ms`,
          ),
        )
      }, primaryRequestTimeoutMs)
      pending.set(requestId, { resolve, reject, timer })
      send(toPrimary({ type: 'request', requestId, request: body }))
    })

  const initMessage = await new Promise<WorkerInit>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no init from the gateway primary within ${primaryInitTimeoutMs} ms`)),
      primaryInitTimeoutMs,
    )
    resolveInit = (value) => {
      clearTimeout(timer)
      resolve(value)
    }
    send(toPrimary({ type: 'hello' }))
  })
  resolveInit = undefined
  let monitorReady = initMessage.monitorReady

  let picks: Array<[string, string | null]> = []
  let picksScheduled = false
  const flushPicks = () => {
    picksScheduled = false
    while (picks.length > 0) {
      send(toPrimary({ type: 'picks', picks: picks.slice(0, picksPerMessageMax) }))
      picks = picks.slice(picksPerMessageMax)
    }
  }

  return {
    init: initMessage,
    workerId: initMessage.workerId,
    get monitorReady() {
      return monitorReady
    },
    attach(targets) {
      logger = targets.logger
      historyStatsOf = targets.historyStats
      const { registry } = targets
      registry.replaceWithSnapshot(initMessage.registry)
      const router = targets.router()
      for (const [name, stats] of initMessage.routerStats) router?.updateClusterStats(name, stats)
      // Broadcasts apply one at a time and in order, so `applied` acknowledgements only grow.
      let chain: Promise<void> = Promise.resolve()
      const handle = async (message: ToWorker): Promise<void> => {
        switch (message.type) {
          case 'registry':
            registry.replaceWithSnapshot(message.registry)
            monitorReady = message.monitorReady
            send(toPrimary({ type: 'applied', seq: message.seq }))
            return
          case 'reload-rules':
            try {
              await targets.reloadRules()
            } finally {
              send(toPrimary({ type: 'applied', seq: message.seq }))
            }
            return
          case 'cluster-stats':
            targets.router()?.updateClusterStats(message.name, message.stats)
            return
          case 'picks': {
            const current = targets.router()
            for (const [name, user] of message.picks) current?.recordPick(name, user ?? undefined)
            return
          }
          default:
            return
        }
      }
      deliver = (message) => {
        chain = chain.then(
          () => handle(message),
          () => handle(message),
        )
        chain.catch((error: unknown) =>
          logger?.warn({ err: (error as Error).message, type: message.type }, 'applying a broadcast failed'),
        )
      }
      for (const message of backlog.splice(0)) deliver(message)
      send(toPrimary({ type: 'applied', seq: initMessage.seq }))
    },
    async applyRegistryChange(change) {
      await request({ kind: 'registry-change', change })
    },
    async historyStatsOfEveryWorker() {
      return (await request({ kind: 'history-stats' })).historyStats ?? []
    },
    reportPick(name, user) {
      picks.push([name, user ?? null])
      if (!picksScheduled) {
        picksScheduled = true
        setImmediate(flushPicks)
      }
    },
    async updateRules(update) {
      await request({ kind: 'rules-lock' })
      let changed = false
      try {
        const result = await update()
        changed = true
        return result
      } finally {
        await request({ kind: 'rules-unlock', changed })
      }
    },
    listening(port) {
      send(toPrimary({ type: 'listening', port }))
    },
    onStop(listener) {
      stopListener = listener
      if (stoppedBy !== undefined) listener(stoppedBy)
    },
  }
}
