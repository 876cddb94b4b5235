/**
 * JDBC monitor (reference §7): Trino Gateway opens `jdbc:trino://host:port/system` and runs one
 * query over `runtime.queries`. The JDBC driver speaks Trino's HTTP client protocol, so this probe
 * sends the same statement the driver sends (with `explicitPrepare=false`, an `EXECUTE IMMEDIATE`
 * binding the monitor's own user) and follows `nextUri` to the end. Running = rows in state
 * RUNNING, queued = QUEUED; any failure is UNKNOWN, as in Trino Gateway.
 */
import { z } from 'zod'
import type { BackendRecord } from '../../store/types.ts'
import { basicAuthorization, describeOutcome, exchange, urlOf } from './http.ts'
import { type ClusterProbe, countOf, type ProbeContext, type ProbeResult, statusOnly } from './types.ts'

/** Trino Gateway's monitor query; `?` is the monitor's user, so its own query is not counted. */
export const runtimeQueriesSql =
  "SELECT state, COUNT(*) AS count FROM runtime.queries WHERE user != ? AND date_diff('hour', created, now()) <= 1 GROUP BY state"

/** Responses followed per probe at most: the answer is a handful of rows. */
export const jdbcProbePagesMax = 1000

/** `source` the monitor's queries carry, so a cluster's operators can tell them apart. */
export const jdbcProbeSource = 'trino-gateway-lab-monitor'

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** The statement the JDBC driver sends for the monitor query with `explicitPrepare=false`. */
export function monitorStatement(monitorUser: string): string {
  return `EXECUTE IMMEDIATE ${sqlString(runtimeQueriesSql)} USING ${sqlString(monitorUser)}`
}

const resultsSchema = z
  .object({
    nextUri: z.string().optional(),
    columns: z.array(z.object({ name: z.string() }).loose()).optional(),
    data: z.array(z.array(z.unknown())).optional(),
    error: z.object({ message: z.string().optional(), errorName: z.string().optional() }).loose().optional(),
  })
  .loose()

/** The pure decision over the result set: counts of the RUNNING and QUEUED rows. */
export function statsFromRuntimeQueries(columns: readonly string[], rows: readonly unknown[][]): ProbeResult {
  const stateAt = columns.indexOf('state')
  const countAt = columns.indexOf('count')
  if (stateAt === -1 || countAt === -1) {
    return statusOnly(
      'UNKNOWN',
      `runtime.queries answer lacks the state or count column (got ${columns.join(', ')})`,
    )
  }
  let running = 0
  let queued = 0
  for (const row of rows) {
    const count = countOf(row[countAt])
    if (count === undefined)
      return statusOnly('UNKNOWN', `runtime.queries: count ${JSON.stringify(row[countAt])} is not a count`)
    if (row[stateAt] === 'RUNNING') running += count
    else if (row[stateAt] === 'QUEUED') queued += count
  }
  return {
    trinoStatus: 'HEALTHY',
    runningQueryCount: running,
    queuedQueryCount: queued,
    numWorkerNodes: 0,
    userQueuedCount: null,
  }
}

export interface JdbcProbeOptions {
  /** `monitor.queryTimeout`: the whole query, submission to last page. */
  queryTimeoutMs: number
}

export function createJdbcProbe(context: ProbeContext, options: JdbcProbeOptions): ClusterProbe {
  const { username, password } = context.backendState
  const headers: Record<string, string> = {
    'x-trino-user': username,
    'x-trino-catalog': 'system',
    'x-trino-source': jdbcProbeSource,
    ...(password === '' ? {} : { authorization: basicAuthorization(username, password) }),
  }
  return async (backend: BackendRecord) => {
    const deadlineMs = Date.now() + options.queryTimeoutMs
    const origin = new URL(backend.proxyTo).origin
    let request: { method: 'GET' | 'POST'; url: string; body?: string } = {
      method: 'POST',
      url: urlOf(backend.proxyTo, '/v1/statement'),
      body: monitorStatement(username),
    }
    let columns: string[] = []
    const rows: unknown[][] = []
    let pendingUri: string | undefined
    const cancel = async () => {
      if (pendingUri !== undefined)
        await exchange(
          context.dispatcher,
          { method: 'DELETE', url: pendingUri, headers },
          context.requestTimeoutMs,
        )
    }
    for (let page = 0; page < jdbcProbePagesMax; page++) {
      const remainingMs = deadlineMs - Date.now()
      if (remainingMs <= 0) {
        await cancel()
        return statusOnly(
          'UNKNOWN',
          `runtime.queries did not finish within monitor.queryTimeout (${options.queryTimeoutMs} ms)`,
        )
      }
      const outcome = await exchange(
        context.dispatcher,
        { ...request, headers },
        Math.min(remainingMs, context.requestTimeoutMs),
      )
      if (outcome.kind !== 'response' || outcome.statusCode !== 200) {
        await cancel()
        return statusOnly(
          'UNKNOWN',
          describeOutcome(`${request.method} ${new URL(request.url).pathname}`, outcome),
        )
      }
      let body: z.output<typeof resultsSchema>
      try {
        body = resultsSchema.parse(JSON.parse(outcome.text))
      } catch {
        await cancel()
        return statusOnly('UNKNOWN', 'the statement response is not Trino query results JSON')
      }
      if (body.error !== undefined) {
        return statusOnly(
          'UNKNOWN',
          `runtime.queries failed: ${body.error.errorName ?? 'error'}: ${body.error.message ?? ''}`,
        )
      }
      if (body.columns !== undefined) columns = body.columns.map((column) => column.name)
      if (body.data !== undefined) rows.push(...body.data)
      if (body.nextUri === undefined) return statsFromRuntimeQueries(columns, rows)
      // Credentials go only to the cluster being probed.
      if (new URL(body.nextUri).origin !== origin) {
        return statusOnly('UNKNOWN', `nextUri ${body.nextUri} leaves the cluster ${origin}`)
      }
      pendingUri = body.nextUri
      request = { method: 'GET', url: body.nextUri }
    }
    await cancel()
    return statusOnly('UNKNOWN', `runtime.queries answer took more than ${jdbcProbePagesMax} responses`)
  }
}
