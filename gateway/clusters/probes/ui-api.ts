/**
 * UI_API monitor (reference §7), the legacy one that needs the web UI's form login:
 * `POST /ui/login`, then `GET /ui/api/stats` and `GET /ui/api/query?state=QUEUED`. HEALTHY when
 * `activeWorkers > 0` (else UNHEALTHY); no usable answer is UNKNOWN, as in Trino Gateway. It is the
 * only monitor that fills `userQueuedCount`, by the queued queries' `sessionUser`.
 */
import { z } from 'zod'
import { describeOutcome, exchange, type HttpOutcome, jsonOf, urlOf } from './http.ts'
import { type ClusterProbe, countOf, type ProbeContext, type ProbeResult, statusOnly } from './types.ts'

const uiStatsSchema = z.object({
  activeWorkers: z.unknown(),
  runningQueries: z.unknown(),
  queuedQueries: z.unknown(),
})
const queuedListSchema = z.array(z.object({ sessionUser: z.string().optional() }).loose())

/** Queued queries per session user. */
export function userQueuedCounts(
  queued: ReadonlyArray<{ sessionUser?: string | undefined }>,
): Record<string, number> {
  const counts: Record<string, number> = Object.create(null)
  for (const query of queued) {
    if (query.sessionUser === undefined) continue
    counts[query.sessionUser] = (counts[query.sessionUser] ?? 0) + 1
  }
  return { ...counts }
}

/** The pure decision over the `/ui/api/stats` and `/ui/api/query?state=QUEUED` JSON bodies. */
export function statsFromUiApi(stats: unknown, queued: unknown): ProbeResult {
  const parsedStats = uiStatsSchema.safeParse(stats)
  if (!parsedStats.success) return statusOnly('UNKNOWN', '/ui/api/stats: not a cluster stats object')
  const workers = countOf(parsedStats.data.activeWorkers)
  const running = countOf(parsedStats.data.runningQueries)
  const queuedCount = countOf(parsedStats.data.queuedQueries)
  if (workers === undefined || running === undefined || queuedCount === undefined) {
    return statusOnly(
      'UNKNOWN',
      '/ui/api/stats: activeWorkers, runningQueries or queuedQueries is not a count',
    )
  }
  if (workers === 0)
    return {
      ...statusOnly('UNHEALTHY', 'no active workers'),
      runningQueryCount: running,
      queuedQueryCount: queuedCount,
    }
  const parsedQueued = queuedListSchema.safeParse(queued)
  if (!parsedQueued.success) return statusOnly('UNKNOWN', '/ui/api/query?state=QUEUED: not a list of queries')
  return {
    trinoStatus: 'HEALTHY',
    runningQueryCount: running,
    queuedQueryCount: queuedCount,
    numWorkerNodes: workers,
    userQueuedCount: userQueuedCounts(parsedQueued.data),
  }
}

/** `name=value` pairs of the Set-Cookie headers, as a Cookie header (the probe's one-login jar). */
export function cookieHeaderFrom(outcome: HttpOutcome): string | undefined {
  if (outcome.kind !== 'response') return undefined
  const raw = outcome.headers['set-cookie']
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  const pairs = lines.map((line) => line.split(';', 1)[0]?.trim() ?? '').filter((pair) => pair.includes('='))
  return pairs.length === 0 ? undefined : pairs.join('; ')
}

export function createUiApiProbe(context: ProbeContext): ClusterProbe {
  const { username, password, xForwardedProtoHeader } = context.backendState
  const forwarded: Record<string, string> = xForwardedProtoHeader ? { 'x-forwarded-proto': 'https' } : {}
  return async (backend) => {
    const login = await exchange(
      context.dispatcher,
      {
        method: 'POST',
        url: urlOf(backend.proxyTo, '/ui/login'),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...forwarded },
        body: new URLSearchParams({ username, password, redirectPath: '' }).toString(),
      },
      context.requestTimeoutMs,
    )
    // Trino answers a login with a redirect, and a cookie only when it accepted the credentials.
    if (login.kind !== 'response' || login.statusCode >= 400) {
      return statusOnly('UNKNOWN', describeOutcome('POST /ui/login', login))
    }
    const cookie = cookieHeaderFrom(login)
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...forwarded,
      ...(cookie === undefined ? {} : { cookie }),
    }
    const get = async (path: string) =>
      jsonOf(
        `GET ${path}`,
        await exchange(
          context.dispatcher,
          { method: 'GET', url: urlOf(backend.proxyTo, path), headers },
          context.requestTimeoutMs,
        ),
      )
    const stats = await get('/ui/api/stats')
    if (!stats.ok) return statusOnly('UNKNOWN', stats.problem)
    const queued = await get('/ui/api/query?state=QUEUED')
    if (!queued.ok) return statusOnly('UNKNOWN', queued.problem)
    return statsFromUiApi(stats.value, queued.value)
  }
}
