import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { externalRouterSchema } from '../scenario/schema.ts'
import {
  externalRouterReply,
  type RunningExternalRouter,
  startExternalRouter,
  withExternalRouterUrl,
} from './external-router.ts'

const spec = externalRouterSchema.parse({
  externalHeaders: { 'X-Routed-By': 'router', 'X-Both': 'top' },
  errors: ['always'],
  routes: [
    { header: 'X-Trino-Source', equals: 'etl', routingGroup: 'etl', externalHeaders: { 'X-Both': 'route' } },
    { header: 'X-Trino-Source', equals: 'bad', errors: ['bad source'] },
    { header: 'X-Trino-Source', equals: 'slow', fail: 'timeout' },
    { header: 'x-trino-tag', equals: 'etl', routingGroup: 'tagged' },
  ],
})

describe('the external router route table', () => {
  it.each([
    [
      { 'x-trino-source': 'etl' },
      {
        routingGroup: 'etl',
        errors: ['always'],
        externalHeaders: { 'X-Routed-By': 'router', 'X-Both': 'route' },
      },
    ],
    [
      { 'x-trino-source': 'bad' },
      {
        routingGroup: null,
        errors: ['always', 'bad source'],
        externalHeaders: { 'X-Routed-By': 'router', 'X-Both': 'top' },
      },
    ],
    [
      { 'x-trino-tag': 'etl' },
      {
        routingGroup: 'tagged',
        errors: ['always'],
        externalHeaders: { 'X-Routed-By': 'router', 'X-Both': 'top' },
      },
    ],
    [
      {},
      {
        routingGroup: null,
        errors: ['always'],
        externalHeaders: { 'X-Routed-By': 'router', 'X-Both': 'top' },
      },
    ],
  ])('answers %j with the first matching route', (headers, body) => {
    expect(externalRouterReply(spec, headers)).toEqual({ kind: 'answer', body })
  })

  it('fails as the route says', () => {
    expect(externalRouterReply(spec, { 'x-trino-source': 'slow' })).toEqual({ kind: 'timeout' })
  })

  it('answers nulls when nothing is configured', () => {
    const bare = externalRouterSchema.parse({ routes: [{ header: 'a', equals: 'b' }] })
    expect(externalRouterReply(bare, {})).toEqual({
      kind: 'answer',
      body: { routingGroup: null, errors: null, externalHeaders: null },
    })
  })

  it('points the gateway config at the router and keeps the other external settings', () => {
    expect(
      withExternalRouterUrl(
        {
          routing: { defaultRoutingGroup: 'adhoc' },
          routingRules: { rulesExternalConfiguration: { propagateErrors: true } },
        },
        'http://127.0.0.1:9/route',
      ),
    ).toEqual({
      routing: { defaultRoutingGroup: 'adhoc' },
      routingRules: {
        rulesEngineEnabled: true,
        rulesType: 'EXTERNAL',
        rulesExternalConfiguration: { propagateErrors: true, urlPath: 'http://127.0.0.1:9/route' },
      },
    })
  })
})

describe('the external router on a socket', () => {
  let router: RunningExternalRouter
  beforeAll(async () => {
    router = await startExternalRouter(spec)
  })
  afterAll(async () => {
    await router?.close()
  })

  it('answers a POST with JSON and counts it', async () => {
    const response = await fetch(router.url, {
      method: 'POST',
      headers: { 'X-Trino-Source': 'etl', 'content-type': 'application/json' },
      body: '{}',
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ routingGroup: 'etl' })
    expect(router.requests().answer).toBe(1)
  })

  it('holds a timeout route until the caller gives up, and closes with it held', async () => {
    const abort = AbortSignal.timeout(200)
    await expect(
      fetch(router.url, { method: 'POST', headers: { 'X-Trino-Source': 'slow' }, body: '{}', signal: abort }),
    ).rejects.toThrow()
    expect(router.requests().timeout).toBe(1)
  })

  it('refuses other methods', async () => {
    expect((await fetch(router.url)).status).toBe(405)
  })
})
