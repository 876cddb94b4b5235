/**
 * Routing rules inside a running gateway, on real sockets: the rules file's health in readyz and
 * /metrics, and an external router's propagated errors reaching the client unchanged.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../../../test-support/database.ts'
import { openMetricsContentType } from '../../api/metrics.ts'
import { type RunningGateway, startGateway } from '../../index.ts'
import { testGatewayConfig } from '../../test-support/gateway.ts'

let database: TestDatabase
let dir: string

beforeAll(async () => {
  database = await openTestDatabase()
  dir = await mkdtemp(join(tmpdir(), 'rules-gateway-'))
})
afterAll(async () => {
  await database?.close()
  await rm(dir, { recursive: true, force: true })
})

/**
 * Replaces the rules file the way an operator's deploy should (write aside, then rename): a plain
 * writeFile truncates first, and a reload landing in between reads an empty file, which is a valid
 * file with no rules.
 */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text)
  await rename(`${path}.tmp`, path)
}

const goodRules = `---
name: "airflow"
condition: 'request.getHeader("X-Trino-Source") == "airflow"'
actions:
  - 'result.put("routingGroup", "etl")'
---
name: "throws"
condition: 'request.getHeader("X-Missing").startsWith("x")'
actions:
  - 'result.put("routingGroup", "never")'
`

describe('a gateway routing by a rules file', () => {
  let gateway: RunningGateway
  let file: string

  beforeAll(async () => {
    file = join(dir, 'rules.yml')
    await writeFile(file, goodRules)
    gateway = await startGateway({
      config: testGatewayConfig(database.url, {
        routingRules: { rulesEngineEnabled: true, rulesConfigPath: file, rulesRefreshPeriod: '20ms' },
      }),
      seed: 1,
      logLevel: 'silent',
    })
  })
  afterAll(async () => {
    await gateway?.close()
  })

  const readyzDetail = async () => {
    const response = await fetch(`${gateway.url}/trino-gateway/readyz?detail`)
    return {
      status: response.status,
      staleHeader: response.headers.get('x-trino-gateway-routing-rules'),
      body: (await response.json()) as {
        ready: boolean
        routingRules: { ruleCount: number; stale: boolean; lastError: { code: string } | null } | null
      },
    }
  }
  const metricsText = async () => {
    const response = await fetch(`${gateway.url}/metrics`)
    expect(response.headers.get('content-type')).toBe(openMetricsContentType)
    return response.text()
  }

  it('shows the rules in force in readyz detail, keeps the plain ok body, and exposes metrics', async () => {
    await waitFor(async () => (await readyzDetail()).body.ready, { timeoutMs: 10_000, what: 'ready' })
    const plain = await fetch(`${gateway.url}/trino-gateway/readyz`)
    expect(plain.status).toBe(200)
    expect(await plain.text()).toBe('ok')
    const detail = await readyzDetail()
    expect(detail).toMatchObject({ status: 200, staleHeader: null })
    expect(detail.body.routingRules).toMatchObject({ ruleCount: 2, stale: false, lastError: null })

    // A rule that throws is skipped and counted; the request is not failed by it.
    await fetch(`${gateway.url}/v1/statement`, { method: 'POST', body: 'SELECT 1' })
    const text = await metricsText()
    expect(text).toContain('trino_gateway_routing_rule_evaluation_errors_total{rule="throws"} 1\n')
    expect(text).toContain('trino_gateway_routing_rules_stale 0\n')
    expect(text).toContain('trino_gateway_routing_rules 2\n')
    expect(text.endsWith('# EOF\n')).toBe(true)
  })

  it('stays ready with the last good rules when the file breaks, and says so', async () => {
    await replaceFile(file, 'name: "broken"\ncondition: "request.getHeader(" \nactions: []\n')
    await waitFor(async () => (await readyzDetail()).body.routingRules?.stale === true, {
      timeoutMs: 10_000,
      what: 'the broken file reported as stale',
    })
    const detail = await readyzDetail()
    expect(detail).toMatchObject({ status: 200, staleHeader: 'stale' })
    expect(detail.body.routingRules).toMatchObject({
      ruleCount: 2,
      lastError: { code: 'ROUTING_RULE_SYNTAX' },
    })
    const plain = await fetch(`${gateway.url}/trino-gateway/readyz`)
    expect(plain.status).toBe(200)
    expect(plain.headers.get('x-trino-gateway-routing-rules')).toBe('stale')
    expect(await plain.text()).toBe('ok')
    const text = await metricsText()
    expect(text).toContain('trino_gateway_routing_rules_stale 1\n')
    expect(text).toMatch(/trino_gateway_routing_rules_reload_failures_total [1-9]/)

    await replaceFile(file, goodRules)
    await waitFor(async () => (await readyzDetail()).body.routingRules?.stale === false, {
      timeoutMs: 10_000,
      what: 'the repaired file in force again',
    })
  })
})

describe('a gateway routing by an external service with propagateErrors', () => {
  let gateway: RunningGateway
  let router: Server

  beforeAll(async () => {
    router = createServer((request, response) => {
      request.resume()
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ routingGroup: 'etl', errors: ['user not allowed', 'try later'] }))
      })
    })
    await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', resolve))
    const port = (router.address() as AddressInfo).port
    gateway = await startGateway({
      config: testGatewayConfig(database.url, {
        routingRules: {
          rulesEngineEnabled: true,
          rulesType: 'EXTERNAL',
          rulesExternalConfiguration: { urlPath: `http://127.0.0.1:${port}/route`, propagateErrors: true },
        },
      }),
      seed: 1,
      logLevel: 'silent',
    })
  })
  afterAll(async () => {
    await gateway?.close()
    router?.closeAllConnections()
    await new Promise((resolve) => router?.close(resolve))
  })

  it('answers 400 EXTERNAL_ROUTING_ERRORS with the errors, not a selector failure', async () => {
    const response = await fetch(`${gateway.url}/v1/statement`, { method: 'POST', body: 'SELECT 1' })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      code: 'EXTERNAL_ROUTING_ERRORS',
      details: { errors: ['user not allowed', 'try later'] },
    })
  })

  it('has no rules-file health to show', async () => {
    const detail = await fetch(`${gateway.url}/trino-gateway/readyz?detail`)
    expect((await detail.json()) as unknown).toMatchObject({ routingRules: null })
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(metrics).not.toContain('trino_gateway_routing_rule')
    expect(metrics).toContain('trino_gateway_query_history_rows_pending')
  })
})
