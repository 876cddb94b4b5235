/**
 * The web-app API (reference §1.5): `/webapp/*`, every answer wrapped as
 * `{"code":200,"msg":"Successful.","data":...}`.
 */
import type { FastifyInstance } from 'fastify'
import type { Principal } from '../auth/principal.ts'
import type { BackendService } from '../clusters/backend-service.ts'
import type { BackendRegistry } from '../clusters/registry.ts'
import type { GatewayStore, QueryHistoryRecord } from '../store/types.ts'
import {
  backendBodySchema,
  backendJson,
  backendRecordOf,
  distributionBodySchema,
  parseJsonBody,
  queryHistoryBodySchema,
} from './bodies.ts'

export interface WebappApiOptions {
  backends: BackendService
  registry: BackendRegistry
  store: GatewayStore
  startedAtMs: number
  /** `uiConfiguration.disablePages`. */
  disablePages: readonly string[]
}

/** Rows `getDistribution` reads at most; older rows in the window are left out. */
export const distributionRowsMax = 100_000

export function ok<T>(data: T): { code: 200; msg: 'Successful.'; data: T } {
  return { code: 200, msg: 'Successful.', data }
}

export async function webappApi(app: FastifyInstance, options: WebappApiOptions): Promise<void> {
  const { backends, registry, store } = options

  app.post('/webapp/getAllBackends', async () => {
    const rows = await backends.list()
    return ok(
      rows.map((backend) => {
        const stats = registry.statsOf(backend.name)
        return {
          ...backendJson(backend),
          queued: stats.queuedQueryCount,
          running: stats.runningQueryCount,
          status: stats.trinoStatus,
        }
      }),
    )
  })

  app.get('/webapp/getUIConfiguration', async () => ok({ disablePages: options.disablePages }))

  app.post('/webapp/findQueryHistory', async (request) => {
    const filter = parseJsonBody(
      queryHistoryBodySchema,
      request.body as string,
      'POST /webapp/findQueryHistory',
      true,
    )
    // As in Trino Gateway: a caller without role admin sees only their own queries.
    const principal: Principal = request.principal
    const own = principal.roles.has('admin') ? filter : { ...filter, user: principal.name }
    const result = await store.history.search(own)
    return ok({ total: result.total, rows: result.rows.map(queryDetail) })
  })

  app.post('/webapp/saveBackend', async (request) => {
    const body = parseJsonBody(backendBodySchema, request.body as string, 'POST /webapp/saveBackend')
    await backends.add(backendRecordOf(body), 'webapp-save')
    return ok(backendJson(backendRecordOf(body)))
  })
  app.post('/webapp/updateBackend', async (request) => {
    const body = parseJsonBody(backendBodySchema, request.body as string, 'POST /webapp/updateBackend')
    await backends.upsert(backendRecordOf(body), 'webapp-save')
    return ok(backendJson(backendRecordOf(body)))
  })
  app.post('/webapp/deleteBackend', async (request) => {
    const body = parseJsonBody(
      backendBodySchema.pick({ name: true }),
      request.body as string,
      'POST /webapp/deleteBackend',
    )
    await backends.remove(body.name)
    return ok(true)
  })

  app.post('/webapp/getDistribution', async (request) => {
    const { latestHour } = parseJsonBody(
      distributionBodySchema,
      request.body as string,
      'POST /webapp/getDistribution',
      true,
    )
    const rows = await backends.list()
    const sinceMs = Date.now() - latestHour * 3_600_000
    const counts = await store.query<{ backend_url: string; minute: string; count: string }>(
      `SELECT backend_url, (created / 60000) * 60000 AS minute, count(*) AS count
         FROM query_history WHERE created >= $1 GROUP BY backend_url, minute ORDER BY minute LIMIT $2`,
      [sinceMs, distributionRowsMax],
    )
    const nameOf = (url: string) => rows.find((backend) => backend.proxyTo === url)?.name ?? url
    const perBackend = new Map<string, number>()
    const lineChart: Record<
      string,
      { epochMillis: number; backendUrl: string; queryCount: number; name: string }[]
    > = {}
    for (const row of counts) {
      const count = Number(row.count)
      perBackend.set(row.backend_url, (perBackend.get(row.backend_url) ?? 0) + count)
      const name = nameOf(row.backend_url)
      lineChart[name] ??= []
      lineChart[name].push({
        epochMillis: Number(row.minute),
        backendUrl: row.backend_url,
        queryCount: count,
        name,
      })
    }
    const totalQueryCount = [...perBackend.values()].reduce((sum, count) => sum + count, 0)
    const healthy = rows.filter((backend) => registry.statusOf(backend.name) === 'HEALTHY').length
    return ok({
      totalBackendCount: rows.length,
      offlineBackendCount: rows.filter((backend) => !backend.active).length,
      onlineBackendCount: rows.filter((backend) => backend.active).length,
      healthyBackendCount: healthy,
      unhealthyBackendCount: rows.length - healthy,
      totalQueryCount,
      averageQueryCountMinute: totalQueryCount / (latestHour * 60),
      averageQueryCountSecond: totalQueryCount / (latestHour * 3600),
      distributionChart: [...perBackend.entries()].map(([backendUrl, queryCount]) => ({
        backendUrl,
        queryCount,
        name: nameOf(backendUrl),
      })),
      lineChart,
      startTime: new Date(options.startedAtMs).toISOString(),
    })
  })
}

/** Trino Gateway's QueryDetail JSON. */
function queryDetail(row: QueryHistoryRecord) {
  return {
    queryId: row.queryId,
    queryText: row.queryText,
    user: row.userName,
    source: row.source,
    backendUrl: row.backendUrl,
    captureTime: row.created,
    routingGroup: row.routingGroup,
    externalUrl: row.externalUrl,
  }
}
