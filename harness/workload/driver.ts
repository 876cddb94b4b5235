import type { Dispatcher } from 'undici'
import { parseDurationMs } from '../../common/duration.ts'
import { pickIndex, type Rng, rngFor } from '../../common/random.ts'
import { sleepMs } from '../../common/wait.ts'
import type { ClientSpec } from '../scenario/schema.ts'
import { type QueryOutcome, runQuery } from './trino-client.ts'

/**
 * Drives one scenario client: closed loop (`concurrency` queries in flight, the next starts when one
 * ends) or open loop (queries start at `arrivalRatePerSecond` whatever is in flight). Both are
 * bounded by the client's `queries` count and each query by `queryTimeout`. Every query carries
 * `X-Trino-Trace-Token: <scenario>/<client>/<n>`, and every seeded draw (which SQL, when it
 * arrives) comes from (seed, that token), so a query's behaviour does not depend on arrival order.
 */

export interface ClientQuery {
  client: string
  /** 1-based position of the query in its client. */
  seq: number
  traceToken: string
  sql: string
  /** The gateway instance the POST went to. */
  gateway: number
  outcome: QueryOutcome
}

export interface ClientRun {
  spec: ClientSpec
  scenario: string
  seed: number
  gatewayUrls: readonly string[]
  dispatcher: Dispatcher
  signal?: AbortSignal | undefined
  onQueryRunning?: ((traceToken: string) => void) | undefined
  onQueryDone?: ((query: ClientQuery) => void) | undefined
  /** Has every gateway run one monitor round; a client with `waves` needs it. */
  monitorRound?: (() => Promise<void>) | undefined
}

export function traceTokenFor(scenario: string, client: string, seq: number): string {
  return `${scenario}/${client}/${seq}`
}

/** The SQL of the n-th query: the one statement, or a seeded draw from the list. */
export function sqlFor(spec: ClientSpec, seed: number, traceToken: string): string {
  if (typeof spec.sql === 'string') return spec.sql
  return spec.sql[pickIndex(rngFor(seed, `${traceToken}/sql`), spec.sql.length)] as string
}

/** Offsets (ms from the client's start) at which an open-loop client submits its queries. */
export function arrivalOffsetsMs(spec: ClientSpec, scenario: string, seed: number): number[] {
  const rate = spec.arrivalRatePerSecond
  if (rate === undefined) return []
  const gapMs = 1000 / rate
  if (spec.arrivalProcess === 'uniform') return Array.from({ length: spec.queries }, (_, i) => i * gapMs)
  const rng: Rng = rngFor(seed, `${scenario}/${spec.name}/arrivals`)
  const offsets: number[] = []
  let at = 0
  for (let i = 0; i < spec.queries; i++) {
    offsets.push(at)
    // Exponential gaps: a Poisson arrival process; 1 - u keeps the logarithm finite.
    at += -Math.log(1 - rng()) * gapMs
  }
  return offsets
}

/** HTTP headers of a query's POST, from the client's declared headers. */
export function headersFor(spec: ClientSpec, traceToken: string): Record<string, string> {
  const h = spec.headers
  const headers: Record<string, string> = { 'X-Trino-User': h.user, 'X-Trino-Trace-Token': traceToken }
  if (h.source !== undefined) headers['X-Trino-Source'] = h.source
  if (h.clientTags !== undefined && h.clientTags.length > 0)
    headers['X-Trino-Client-Tags'] = h.clientTags.join(',')
  if (h.routingGroup !== undefined) headers['X-Trino-Routing-Group'] = h.routingGroup
  if (h.catalog !== undefined) headers['X-Trino-Catalog'] = h.catalog
  if (h.schema !== undefined) headers['X-Trino-Schema'] = h.schema
  if (h.session !== undefined && Object.keys(h.session).length > 0) {
    headers['X-Trino-Session'] = Object.entries(h.session)
      .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
      .join(',')
  }
  for (const [name, value] of Object.entries(h.extra ?? {})) headers[name] = value
  return headers
}

export async function driveClient(run: ClientRun): Promise<ClientQuery[]> {
  const { spec } = run
  const instances = run.gatewayUrls.length
  const submitGateway = spec.gateway === 'alternate' ? 0 : spec.gateway
  // Alternating clients poll the other gateway first, then take turns.
  const pollGateway =
    spec.gateway === 'alternate' && instances > 1
      ? (poll: number) => (submitGateway + 1 + poll) % instances
      : undefined
  const queryTimeoutMs = parseDurationMs(spec.queryTimeout)
  const results: ClientQuery[] = []

  const one = async (seq: number, wave?: { posted: () => void; submitted: () => void }): Promise<void> => {
    const traceToken = traceTokenFor(run.scenario, spec.name, seq)
    const sql = sqlFor(spec, run.seed, traceToken)
    const outcome = await runQuery({
      gatewayUrls: run.gatewayUrls,
      submitGateway,
      pollGateway,
      sql,
      headers: headersFor(spec, traceToken),
      queryTimeoutMs,
      dispatcher: run.dispatcher,
      signal: run.signal,
      onRunning: () => run.onQueryRunning?.(traceToken),
      onPosted: wave?.posted,
      onSubmitted: wave?.submitted,
    })
    const query: ClientQuery = { client: spec.name, seq, traceToken, sql, gateway: submitGateway, outcome }
    results.push(query)
    run.onQueryDone?.(query)
  }

  if (spec.waves !== undefined) {
    // Each wave: a monitor round, then the POSTs one at a time (each once the gateway answered the
    // previous one, so it routes them in this order), then, before the next round, every query of
    // the wave in its coordinator's scheduler. The queries run to their end concurrently.
    const monitorRound = run.monitorRound
    if (monitorRound === undefined)
      throw new Error(`client ${spec.name}: waves need the gateway's monitor rounds`)
    const inFlight: Promise<void>[] = []
    for (let first = 1; first <= spec.queries && !run.signal?.aborted; first += spec.waves.size) {
      await monitorRound()
      const last = Math.min(spec.queries, first + spec.waves.size - 1)
      const submissions: Promise<void>[] = []
      for (let seq = first; seq <= last && !run.signal?.aborted; seq++) {
        await new Promise<void>((posted) => {
          let submitted = () => {}
          submissions.push(
            new Promise<void>((resolve) => {
              submitted = resolve
            }),
          )
          // A query that fails before it calls back must not hold the wave.
          const done = one(seq, { posted, submitted }).finally(() => {
            posted()
            submitted()
          })
          inFlight.push(done)
        })
      }
      await Promise.all(submissions)
    }
    await Promise.all(inFlight)
  } else if (spec.arrivalRatePerSecond !== undefined) {
    const startedAtMs = Date.now()
    const inFlight: Promise<void>[] = []
    const offsets = arrivalOffsetsMs(spec, run.scenario, run.seed)
    for (const [index, offsetMs] of offsets.entries()) {
      if (run.signal?.aborted) break
      const waitMs = startedAtMs + offsetMs - Date.now()
      if (waitMs > 0) await sleepMs(waitMs)
      inFlight.push(one(index + 1))
    }
    await Promise.all(inFlight)
  } else {
    const thinkTimeMs = spec.thinkTime === undefined ? 0 : parseDurationMs(spec.thinkTime)
    let next = 1
    const worker = async (): Promise<void> => {
      while (next <= spec.queries && !run.signal?.aborted) {
        const seq = next++
        await one(seq)
        if (thinkTimeMs > 0 && next <= spec.queries) await sleepMs(thinkTimeMs)
      }
    }
    const workers = Math.min(spec.concurrency ?? 1, spec.queries)
    await Promise.all(Array.from({ length: workers }, () => worker()))
  }
  return results.sort((a, b) => a.seq - b.seq)
}
