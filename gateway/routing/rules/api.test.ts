import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rulesApi } from './api.ts'
import { createFileRoutingGroupSelector, type FileRoutingGroupSelector } from './file-selector.ts'

let dir: string
let file: string
let app: FastifyInstance
let selector: FileRoutingGroupSelector

const airflow = { 'x-trino-source': 'airflow' }
const select = (headers: Record<string, string>) =>
  selector.select({
    method: 'POST',
    path: '/v1/statement',
    queryString: '',
    headers,
    body: '',
    remoteAddress: '127.0.0.1',
  })

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rules-api-'))
  file = join(dir, 'rules.yml')
  await copyFile(join(import.meta.dirname, 'fixtures', 'routing_rules_priorities.yml'), file)
  selector = createFileRoutingGroupSelector({ rulesConfigPath: file, rulesRefreshPeriodMs: 0 })
  app = Fastify({ logger: false })
  await app.register(rulesApi, {
    rulesConfigPath: file,
    rulesEngineEnabled: true,
    rulesType: 'FILE',
    analyzeRequest: false,
    selector,
  })
})
afterEach(async () => {
  await app.close()
  await selector.close()
  await rm(dir, { recursive: true, force: true })
})

const jdbcRule = {
  name: 'airflow',
  description: 'if query from airflow, route to adhoc group',
  priority: 0,
  actions: ['result.put("routingGroup", "adhoc")'],
  condition: 'request.getHeader("X-Trino-Source") == "JDBC"',
}

describe('routing rules API', () => {
  it('lists the rules in file order with defaults in the Result envelope', async () => {
    const response = await app.inject({ method: 'GET', url: '/webapp/getRoutingRules' })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body).toMatchObject({ code: 200, msg: 'Successful.' })
    expect(body.data.map((rule: { name: string }) => rule.name)).toEqual(['airflow', 'airflow special'])
    expect(body.data[0]).toEqual({
      name: 'airflow',
      description: 'airflow queries go to etl',
      priority: 0,
      condition: 'request.getHeader("X-Trino-Source") == "airflow"',
      actions: ['result.put(FileBasedRoutingGroupSelector.RESULTS_ROUTING_GROUP_KEY, "etl")'],
    })
  })

  it('updates a rule by name, writes the file atomically and routes by it at once, then reverts', async () => {
    const original = (await app.inject({ method: 'GET', url: '/webapp/getRoutingRules' })).json().data[0]
    const updated = await app.inject({ method: 'POST', url: '/webapp/updateRoutingRules', payload: jdbcRule })
    expect(updated.statusCode).toBe(200)
    expect(updated.json().data[0]).toEqual(jdbcRule)
    expect(select({ 'x-trino-source': 'JDBC' }).routingGroup).toBe('adhoc')
    expect(select(airflow).routingGroup).toBeUndefined()
    expect(await readFile(file, 'utf8')).toMatch(
      /^---\nname: airflow\ndescription: .*\npriority: 0\nactions:\n/,
    )
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([])

    await app.inject({ method: 'POST', url: '/webapp/updateRoutingRules', payload: original })
    expect(select(airflow).routingGroup).toBe('etl')
  })

  it('changes nothing for an unknown rule name', async () => {
    const before = await readFile(file, 'utf8')
    const response = await app.inject({
      method: 'POST',
      url: '/webapp/updateRoutingRules',
      payload: { ...jdbcRule, name: 'nosuch' },
    })
    expect(response.statusCode).toBe(200)
    expect(response.json().data).toHaveLength(2)
    expect(await readFile(file, 'utf8')).toBe(before)
  })

  it('refuses a rule that does not compile and leaves the file unchanged', async () => {
    const before = await readFile(file, 'utf8')
    const response = await app.inject({
      method: 'POST',
      url: '/webapp/updateRoutingRules',
      payload: { ...jdbcRule, condition: 'request.getHeader("a") ==' },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ code: 'ROUTING_RULE_UPDATE_INVALID' })
    expect(response.json().message).toMatch(/rule "airflow" condition: expected a value/)
    expect(await readFile(file, 'utf8')).toBe(before)
  })

  it('accepts the body as text, as the gateway server hands it over', async () => {
    const textApp = Fastify({ logger: false })
    textApp.removeAllContentTypeParsers()
    textApp.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
    await textApp.register(rulesApi, {
      rulesConfigPath: file,
      rulesEngineEnabled: true,
      rulesType: 'FILE',
      analyzeRequest: false,
    })
    const ok = await textApp.inject({
      method: 'POST',
      url: '/webapp/updateRoutingRules',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(jdbcRule),
    })
    expect(ok.json().data[0]).toEqual(jdbcRule)
    const bad = await textApp.inject({
      method: 'POST',
      url: '/webapp/updateRoutingRules',
      payload: '{not json',
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('ROUTING_RULE_UPDATE_BODY_INVALID')
    await textApp.close()
  })

  it('refuses a malformed body naming the field', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/webapp/updateRoutingRules',
      payload: { name: 'airflow', condition: 'true', actions: 'not a list' },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().message).toMatch(/actions/)
  })

  it('answers 204 when rules are managed by an external service', async () => {
    const externalApp = Fastify({ logger: false })
    await externalApp.register(rulesApi, {
      rulesConfigPath: undefined,
      rulesEngineEnabled: true,
      rulesType: 'EXTERNAL',
      analyzeRequest: false,
    })
    expect((await externalApp.inject({ method: 'GET', url: '/webapp/getRoutingRules' })).statusCode).toBe(204)
    await externalApp.close()
  })
})
