/**
 * Trino Gateway's backend-management and public APIs (reference §1.2–1.4): `/gateway/*`,
 * `/entity`, `/api/public/backends`, `/trino-gateway/livez|readyz`.
 */
import type { FastifyInstance } from 'fastify'
import type { BackendService } from '../clusters/backend-service.ts'
import type { BackendRegistry } from '../clusters/registry.ts'
import { gatewayError } from '../errors.ts'
import type { LocalStats } from '../routing/query-count-router.ts'
import type { RulesStatus } from '../routing/rules/file-selector.ts'
import { backendBodySchema, backendJson, backendRecordOf, parseJsonBody } from './bodies.ts'

export interface BackendsApiOptions {
  backends: BackendService
  registry: BackendRegistry
  isReady: () => boolean
  /**
   * The counts the query-count router compares for a backend (monitor counts plus its local
   * increments since the last round); undefined when that router is not in use.
   */
  routerStatsOf?: ((name: string) => LocalStats | undefined) | undefined
  /** The rules file's status when routing is by a rules file (readyz detail); undefined otherwise. */
  rulesStatus?: (() => RulesStatus | undefined) | undefined
}

/** Set on readyz answers while a rules file failed to load and the last good rules are in force. */
export const routingRulesStaleHeader = 'x-trino-gateway-routing-rules'

export async function backendsApi(app: FastifyInstance, options: BackendsApiOptions): Promise<void> {
  const { backends, registry } = options

  app.get('/trino-gateway/livez', async (_request, reply) => reply.type('text/plain').send('ok'))
  app.get('/trino-gateway/readyz', async (request, reply) => {
    const ready = options.isReady()
    const rules = options.rulesStatus?.()
    // Stale rules still route (the last good ones), so readiness stays 200: a probe that pulled the
    // gateway out of rotation would turn a bad edit into an outage. The header and ?detail say so.
    if (rules?.stale === true) reply.header(routingRulesStaleHeader, 'stale')
    reply.code(ready ? 200 : 503)
    if (Object.hasOwn(request.query as object, 'detail')) {
      return reply.send({ ready, routingRules: rules ?? null })
    }
    return reply.type('text/plain').send(ready ? 'ok' : 'Trino Gateway is still initializing')
  })

  app.get('/gateway', async (_request, reply) => reply.type('text/plain').send('ok'))
  app.get('/gateway/backend/all', async () => (await backends.list()).map(backendJson))
  app.get('/gateway/backend/active', async () =>
    (await backends.list()).filter((backend) => backend.active).map(backendJson),
  )

  app.post<{ Params: { name: string } }>('/gateway/backend/activate/:name', async (request, reply) => {
    await backends.setActive(request.params.name, true)
    return reply.code(200).send()
  })
  app.post<{ Params: { name: string } }>('/gateway/backend/deactivate/:name', async (request, reply) => {
    await backends.setActive(request.params.name, false)
    return reply.code(200).send()
  })

  app.post('/gateway/backend/modify/add', async (request) => {
    const body = parseJsonBody(backendBodySchema, request.body as string, 'POST /gateway/backend/modify/add')
    await backends.add(backendRecordOf(body), 'modify')
    return backendJson(backendRecordOf(body))
  })
  app.post('/gateway/backend/modify/update', async (request) => {
    const body = parseJsonBody(
      backendBodySchema,
      request.body as string,
      'POST /gateway/backend/modify/update',
    )
    await backends.upsert(backendRecordOf(body), 'modify')
    return backendJson(backendRecordOf(body))
  })
  app.post('/gateway/backend/modify/delete', async (request, reply) => {
    const name = rawName(request.body as string | undefined)
    await backends.remove(name)
    return reply.code(200).send()
  })

  app.get('/entity', async () => ['GATEWAY_BACKEND'])
  app.get<{ Params: { entityType: string } }>('/entity/:entityType', async (request) => {
    requireBackendEntity(request.params.entityType)
    return (await backends.list()).map(backendJson)
  })
  app.post<{ Querystring: { entityType?: string } }>('/entity', async (request, reply) => {
    requireBackendEntity(request.query.entityType)
    const body = parseJsonBody(
      backendBodySchema,
      request.body as string,
      'POST /entity?entityType=GATEWAY_BACKEND',
    )
    await backends.upsert(backendRecordOf(body), 'entity')
    return reply.code(200).send()
  })

  app.get('/api/public/backends', async () => (await backends.list()).map(backendJson))
  app.get<{ Params: { name: string } }>('/api/public/backends/:name', async (request) => {
    const backend = await backends.get(request.params.name)
    if (backend === undefined) throw unknownBackend(request.params.name)
    return backendJson(backend)
  })
  app.get<{ Params: { name: string } }>('/api/public/backends/:name/state', async (request) => {
    const backend = await backends.get(request.params.name)
    if (backend === undefined) throw unknownBackend(request.params.name)
    const routerStats = options.routerStatsOf?.(backend.name)
    return {
      ...registry.statsOf(backend.name),
      ...(routerStats === undefined
        ? {}
        : {
            runningQueryCount: routerStats.runningQueryCount,
            queuedQueryCount: routerStats.queuedQueryCount,
            userQueuedCount: routerStats.userQueuedCount,
          }),
      proxyTo: backend.proxyTo,
      externalUrl: backend.externalUrl ?? backend.proxyTo,
      routingGroup: backend.routingGroup,
    }
  })
}

function unknownBackend(name: string) {
  return gatewayError('BACKEND_NOT_FOUND', `No cluster found with name: ${name}`, { name })
}

function requireBackendEntity(entityType: string | undefined): void {
  if (entityType === undefined || entityType === '') {
    throw gatewayError('ENTITY_TYPE_INVALID', 'EntryType can not be null: pass ?entityType=GATEWAY_BACKEND')
  }
  if (entityType !== 'GATEWAY_BACKEND') {
    throw gatewayError(
      'ENTITY_TYPE_INVALID',
      `entityType ${JSON.stringify(entityType)} is not supported; expected GATEWAY_BACKEND`,
      {
        entityType,
      },
    )
  }
}

/** The delete body is the bare name (`curl -d trino3`); a JSON string is accepted too. */
function rawName(body: string | undefined): string {
  let name = (body ?? '').trim()
  if (name.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(name)
      if (typeof parsed === 'string') name = parsed.trim()
    } catch {
      // Not JSON: the quotes are part of the raw text, and no backend has such a name.
    }
  }
  if (name === '') {
    throw gatewayError(
      'REQUEST_BODY_INVALID',
      'POST /gateway/backend/modify/delete: the body must be the backend name (got an empty body)',
      {
        problems: ['(root): expected the backend name as the raw body (got "")'],
      },
    )
  }
  return name
}
