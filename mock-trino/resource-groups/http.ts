/**
 * `GET /v1/resourceGroupState/{segments}` as a fastify plugin, for the coordinator's server:
 * `app.register(resourceGroupStateApi, { scheduler: () => scheduler, details })`.
 */
import type { FastifyInstance } from 'fastify'
import type { ResourceGroupScheduler } from '../../trino/resource-groups/scheduler.ts'
import {
  parseResourceGroupPath,
  type QueryStateDetails,
  resourceGroupStateJson,
} from '../../trino/resource-groups/state.ts'
import type { QueryScheduler } from '../../trino/scheduler.ts'

export interface ResourceGroupStateApiOptions {
  /** The coordinator's scheduler; one without resource groups (the legacy `global`) answers 404. */
  scheduler: () => QueryScheduler
  /** The coordinator's view of a running query (text, engine state) for `runningQueries`. */
  details?: (queryId: string) => QueryStateDetails
}

export function isResourceGroupScheduler(scheduler: QueryScheduler): scheduler is ResourceGroupScheduler {
  return typeof (scheduler as Partial<ResourceGroupScheduler>).groupSnapshot === 'function'
}

export async function resourceGroupStateApi(
  app: FastifyInstance,
  options: ResourceGroupStateApiOptions,
): Promise<void> {
  app.get<{ Params: { '*': string } }>('/v1/resourceGroupState/*', async (request, reply) => {
    const scheduler = options.scheduler()
    const id = parseResourceGroupPath(request.params['*'])
    const info =
      id !== undefined && isResourceGroupScheduler(scheduler)
        ? resourceGroupStateJson(scheduler, id, options.details)
        : undefined
    // Trino answers an unknown group with an empty 404.
    if (info === undefined) return reply.code(404).send()
    return reply.type('application/json').send(info)
  })
}
