import autocannon from 'autocannon'
import { sleepMs } from '../../common/wait.ts'
import { correctForCoordinatedOmission, summarizeLatency } from './latency.ts'
import { expectedIntervalMs } from './plan.ts'
import type { LatencyMs } from './report-schema.ts'

/**
 * Drives a Trino coordinator (a mock directly, or the gateway) with autocannon request sequences:
 * POST /v1/statement, then GET each nextUri, `requestsPerQuery` requests in all. The sequence length
 * is probed beforehand (`probeRequestsPerQuery`), so a query ends exactly with its sequence; one that
 * ends early restarts the sequence (counted in `resets`), one that would need more polls is counted
 * in `unfinishedQueries`.
 */

export interface TrinoLoad {
  /** Origin of the target: `http://127.0.0.1:<port>`. */
  baseUrl: string
  sql: string
  headers: Readonly<Record<string, string>>
  requestsPerQuery: number
}

/** Any response slower than this counts as a timeout (autocannon's unit is seconds). */
export const requestTimeoutS = 10
/** Protocol probes give up after this many requests: a query that long is a misconfiguration. */
export const probeRequestsMax = 64
/** Open-loop steps are split into this many autocannon instances started evenly within a second. */
export const openLoopInstancesMax = 100

/** The path of a response's nextUri (autocannon sends on its own connection to the same origin). */
export function nextPathOf(body: string): string | undefined {
  const uri = /"nextUri"\s*:\s*"([^"]+)"/.exec(body)?.[1]
  if (uri === undefined) return undefined
  const schemeEnd = uri.indexOf('//')
  const pathStart = schemeEnd < 0 ? 0 : uri.indexOf('/', schemeEnd + 2)
  return pathStart < 0 ? '/' : uri.slice(pathStart)
}

/** Runs one query with plain fetch and counts its HTTP requests; fails on any non-200 or error. */
export async function probeRequestsPerQuery(load: Omit<TrinoLoad, 'requestsPerQuery'>): Promise<number> {
  let response = await fetch(`${load.baseUrl}/v1/statement`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', ...load.headers },
    body: load.sql,
    signal: AbortSignal.timeout(requestTimeoutS * 1000),
  })
  for (let requests = 1; requests <= probeRequestsMax; requests++) {
    const body = await response.text()
    if (response.status !== 200)
      throw new Error(`HTTP ${response.status} at request ${requests}: ${body.slice(0, 300)}`)
    if (body.includes('"error"')) throw new Error(`the query failed: ${body.slice(0, 300)}`)
    const next = nextPathOf(body)
    if (next === undefined) return requests
    response = await fetch(`${load.baseUrl}${next}`, { signal: AbortSignal.timeout(requestTimeoutS * 1000) })
  }
  throw new Error(`the query needed more than ${probeRequestsMax} requests`)
}

interface SequenceCounters {
  posts: number
  unfinished: number
}

function trinoSequence(load: TrinoLoad, counters: SequenceCounters): autocannon.Request[] {
  type Context = { nextPath?: string | undefined }
  const remember = (body: string, context: Context) => {
    context.nextPath = nextPathOf(body)
  }
  const requests: autocannon.Request[] = [
    {
      method: 'POST',
      path: '/v1/statement',
      headers: { 'content-type': 'text/plain', ...load.headers },
      body: load.sql,
      onResponse: (status: number, body: string, context: Context) => {
        if (status >= 200 && status < 300) counters.posts++
        remember(body, context)
      },
    },
  ]
  for (let step = 1; step < load.requestsPerQuery; step++) {
    const last = step === load.requestsPerQuery - 1
    requests.push({
      method: 'GET',
      // No nextUri: the query ended early, and returning nothing restarts the sequence.
      setupRequest: (request: autocannon.Request, context: Context) =>
        context.nextPath === undefined ? undefined : { ...request, path: context.nextPath },
      onResponse: (_status: number, body: string, context: Context) => {
        remember(body, context)
        if (last && context.nextPath !== undefined) counters.unfinished++
      },
    } as autocannon.Request)
  }
  return requests
}

export interface StepMeasurement {
  durationS: number
  requests: number
  requestsPerSecond: number
  queriesPerSecond: number
  latencyMs: LatencyMs
  errors: number
  non2xx: number
  timeouts: number
  resets: number
  unfinishedQueries: number
  droppedRequests: number
  loadGeneratorCpuSecondsPerSecond: number
  /**
   * The same latencies split by request kind (corrected the same way): statement submissions
   * (the first request of a sequence) and follow-ups (every nextUri). Null when autocannon did not
   * say which request of the sequence answered.
   */
  latencyMsByKind: { submission: LatencyMs; followUp: LatencyMs } | null
}

/** 2xx response times of one instance, all of them and split by request kind. */
interface Samples {
  all: number[]
  submission: number[]
  followUp: number[]
  /** False once a response came without the index of its request in the sequence. */
  kindKnown: boolean
}

interface InstanceRun {
  result: autocannon.Result
  samples: Samples
}

/** Which request of its sequence a client's answer belongs to (0: the POST), from autocannon's iterator. */
function sequenceIndexOf(client: unknown): number | undefined {
  const index = (client as { requestIterator?: { currentRequestIndex?: unknown } } | null)?.requestIterator
    ?.currentRequestIndex
  return typeof index === 'number' ? index : undefined
}

/** When the last response of a step arrived (performance.now()), shared by its instances. */
interface ResponseClock {
  lastResponseAt: number
}

function runInstance(
  options: autocannon.Options,
  samples: Samples,
  clock: ResponseClock,
  stop: AbortSignal | undefined,
): Promise<InstanceRun> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      if (error) reject(error)
      else resolve({ result, samples })
    })
    if (stop?.aborted) instance.stop()
    else stop?.addEventListener('abort', () => instance.stop(), { once: true })
    instance.on('response', (client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      clock.lastResponseAt = performance.now()
      if (statusCode < 200 || statusCode >= 300) return
      samples.all.push(responseTime)
      const index = sequenceIndexOf(client)
      if (index === undefined) samples.kindKnown = false
      else (index === 0 ? samples.submission : samples.followUp).push(responseTime)
    })
  })
}

export interface StepOptions {
  connections: number
  durationS: number
  /** Open loop when set: HTTP requests per second over all connections. */
  offeredRequestsPerSecond?: number | undefined
  /** Ends the step before its duration (the in-flight phase stops once its target is reached). */
  stop?: AbortSignal | undefined
}

/** One measured step against one target. */
export async function runStep(load: TrinoLoad, options: StepOptions): Promise<StepMeasurement> {
  const counters: SequenceCounters = { posts: 0, unfinished: 0 }
  const cpuBefore = process.cpuUsage()
  const startedAt = performance.now()
  const offered = options.offeredRequestsPerSecond
  const clock: ResponseClock = { lastResponseAt: startedAt }
  const base: autocannon.Options = {
    url: load.baseUrl,
    duration: options.durationS,
    timeout: requestTimeoutS,
    requests: trinoSequence(load, counters),
  }
  let runs: InstanceRun[]
  if (offered === undefined) {
    runs = [
      await runInstance({ ...base, connections: options.connections }, newSamples(), clock, options.stop),
    ]
  } else {
    // autocannon's rate limit releases each connection's quota at the start of every second, and
    // every connection of one instance ticks together; instances started evenly across the second
    // spread those bursts out, closer to a steady arrival rate.
    const instances = Math.max(1, Math.min(openLoopInstancesMax, options.connections, offered))
    const share = (total: number, i: number) =>
      Math.floor(total / instances) + (i < total % instances ? 1 : 0)
    runs = await Promise.all(
      Array.from({ length: instances }, async (_, i) => {
        await sleepMs((1000 * i) / instances)
        return runInstance(
          {
            ...base,
            requests: trinoSequence(load, counters),
            connections: share(options.connections, i),
            overallRate: share(offered, i),
            // autocannon refills every connection's quota once more as the duration ends; capping
            // the count keeps the achieved rate at the offered one when the target keeps up.
            maxOverallRequests: Math.max(1, Math.round(share(offered, i) * options.durationS)),
            ignoreCoordinatedOmission: true,
          },
          newSamples(),
          clock,
          options.stop,
        )
      }),
    )
  }
  const wallS = (performance.now() - startedAt) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  // Closed loop: autocannon stops on its one-second tick after the duration, so the rate divides
  // by the time until the last response. Open loop: the instances were capped at the planned
  // count, so the achieved rate is measured against the planned duration.
  const durationS =
    offered === undefined ? Math.max(0.001, (clock.lastResponseAt - startedAt) / 1000) : options.durationS
  const interval = offered === undefined ? undefined : expectedIntervalMs(offered, options.connections)
  const summarize = (pick: (samples: Samples) => number[]) =>
    summarizeLatency(
      correctForCoordinatedOmission(
        runs.flatMap((run) => pick(run.samples)),
        interval,
      ),
    )
  const kindKnown = runs.every((run) => run.samples.kindKnown)
  const sum = (pick: (result: autocannon.Result) => number) =>
    runs.reduce((total, run) => total + pick(run.result), 0)
  const completed = sum((r) => r.requests.total)
  const sent = sum((r) => r.requests.sent)
  return {
    durationS: Math.round(durationS * 100) / 100,
    requests: completed,
    requestsPerSecond: Math.round((completed / durationS) * 10) / 10,
    queriesPerSecond: Math.round((counters.posts / durationS) * 10) / 10,
    latencyMs: summarize((samples) => samples.all),
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
    timeouts: sum((r) => r.timeouts),
    resets: sum((r) => r.resets),
    unfinishedQueries: counters.unfinished,
    // Against the planned count, which is also the cap the instances were given.
    droppedRequests: offered === undefined ? 0 : Math.max(0, Math.round(offered * options.durationS) - sent),
    loadGeneratorCpuSecondsPerSecond: Math.round(((cpu.user + cpu.system) / 1e6 / wallS) * 100) / 100,
    latencyMsByKind: kindKnown
      ? {
          submission: summarize((samples) => samples.submission),
          followUp: summarize((samples) => samples.followUp),
        }
      : null,
  }
}

function newSamples(): Samples {
  return { all: [], submission: [], followUp: [], kindKnown: true }
}
