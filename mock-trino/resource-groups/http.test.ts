// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Trino resource-group templates are written ${USER}
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { LegacyScheduler } from '../../trino/legacy-scheduler.ts'
import { createResourceGroupScheduler } from '../../trino/resource-groups/scheduler.ts'
import { query } from '../../trino/resource-groups/test-helpers.ts'
import type { QueryScheduler } from '../../trino/scheduler.ts'
import { resourceGroupStateApi } from './http.ts'

const groups = createResourceGroupScheduler({
  rootGroups: [
    {
      name: 'global',
      maxQueued: 10,
      hardConcurrencyLimit: 10,
      subGroups: [{ name: '${USER}', maxQueued: 5, hardConcurrencyLimit: 1 }],
    },
  ],
  selectors: [{ group: 'global.${USER}' }],
})
let current: QueryScheduler = groups
const app = Fastify({ logger: false })
await app.register(resourceGroupStateApi, {
  scheduler: () => current,
  details: () => ({ query: 'SELECT 1' }),
})
afterAll(() => app.close())

describe('GET /v1/resourceGroupState/{segments}', () => {
  it('answers a group instance by its URL-decoded segments', async () => {
    groups.submit(query('q1', { user: 'ann.lee' }), 0)
    const response = await app.inject({ method: 'GET', url: '/v1/resourceGroupState/global/ann%2Elee' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      id: ['global', 'ann.lee'],
      state: 'CAN_QUEUE',
      numRunningQueries: 1,
      runningQueries: [{ queryId: 'q1', query: 'SELECT 1', user: 'ann.lee' }],
    })
  })

  it('answers an empty 404 for a group without an instance, and under the legacy scheduler', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/resourceGroupState/global/bob' })).statusCode).toBe(
      404,
    )
    current = new LegacyScheduler({})
    const legacy = await app.inject({ method: 'GET', url: '/v1/resourceGroupState/global' })
    expect(legacy.statusCode).toBe(404)
    expect(legacy.body).toBe('')
    current = groups
  })
})
