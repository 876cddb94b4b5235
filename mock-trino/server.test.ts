import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BasicAuth, type QueryResult, Trino } from 'trino-client'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { parseMockConfig } from './config.ts'
import { type MockTrinoOptions, type RunningMockTrino, startMockTrino } from './index.ts'
import { queryIdPattern } from './protocol/query-id.ts'

const running: RunningMockTrino[] = []

async function start(options: MockTrinoOptions = {}): Promise<RunningMockTrino> {
  const mock = await startMockTrino({ seed: 11, ...options })
  running.push(mock)
  return mock
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.close()))
})

function client(mock: RunningMockTrino, extraHeaders?: Record<string, string>): Trino {
  return Trino.create({
    server: mock.url,
    catalog: 'iceberg',
    schema: 'sales',
    source: 'vitest',
    auth: new BasicAuth('alice'),
    ...(extraHeaders === undefined ? {} : { extraHeaders }),
  })
}

async function collect(trino: Trino, sql: string): Promise<QueryResult[]> {
  const results: QueryResult[] = []
  for await (const result of await trino.query(sql)) results.push(result)
  return results
}

type Json = Record<string, unknown> & {
  nextUri?: string
  stats: { state: string }
  error?: { errorName: string }
}

async function post(
  mock: RunningMockTrino,
  sql: string,
  headers: Record<string, string> = {},
): Promise<Json> {
  const response = await fetch(`${mock.url}/v1/statement`, {
    method: 'POST',
    body: sql,
    headers: { 'X-Trino-User': 'admin', ...headers },
  })
  expect(response.status).toBe(200)
  return (await response.json()) as Json
}

async function follow(first: Json): Promise<Json[]> {
  const seen: Json[] = []
  let current = first
  for (let i = 0; i < 1000 && current.nextUri !== undefined; i++) {
    const response = await fetch(current.nextUri)
    expect(response.status).toBe(200)
    current = (await response.json()) as Json
    seen.push(current)
  }
  return seen
}

describe('trino-client against the mock coordinator', () => {
  it('runs a query end to end: rows arrive, the query goes QUEUED then RUNNING then FINISHED', async () => {
    const mock = await start({ coordinator: { maxConcurrentQueries: 1 } })
    const trino = client(mock)
    const blocker = collect(trino, 'SELECT 1 /* mock: duration=400ms */')
    await waitFor(() => mock.control.counts().running === 1, { timeoutMs: 5000, what: 'the blocker to run' })
    const second = collect(trino, "SELECT 42 AS answer, 'x' /* mock: rows=3 */")
    const secondRecord = await waitFor(
      () =>
        mock.control.queries().find((q) => q.sql.includes('42') && q.state === 'QUEUED' && q.resourceGroupId),
      { timeoutMs: 5000, what: 'the second query to wait in the global group' },
    )
    const results = await second
    await blocker
    expect(results.flatMap((r) => r.data ?? [])).toEqual([
      [42, 'x'],
      [42, 'x'],
      [42, 'x'],
    ])
    expect(results.map((r) => r.stats?.state)).toEqual(['RUNNING', 'FINISHED'])
    expect(results[0]?.columns).toEqual([
      expect.objectContaining({ name: 'answer', type: 'integer' }),
      expect.objectContaining({ name: '_col1', type: 'varchar(1)' }),
    ])
    const record = mock.control.queries().find((q) => q.queryId === secondRecord.queryId)
    expect(record).toMatchObject({
      state: 'FINISHED',
      user: 'alice',
      source: 'vitest',
      catalog: 'iceberg',
      resourceGroupId: ['global'],
    })
    const blockerRecord = mock.control.queries().find((q) => q.sql.includes('400ms'))
    expect(record?.startedAtMs).toBeGreaterThanOrEqual(blockerRecord?.finishedAtMs as number)
    expect(record?.queryId).toMatch(queryIdPattern)
  })

  it('cancels a running query; the client sees USER_CANCELED and queryInfo says FAILED', async () => {
    const mock = await start()
    const trino = client(mock)
    const pending = collect(trino, 'SELECT 1 /* mock: duration=30s */')
    const record = await waitFor(() => mock.control.queries().find((q) => q.state === 'RUNNING'), {
      timeoutMs: 5000,
      what: 'the query to run',
    })
    await trino.cancel(record.queryId)
    const results = await pending
    expect(results.at(-1)?.error).toMatchObject({
      errorName: 'USER_CANCELED',
      errorCode: 3,
      errorType: 'USER_ERROR',
    })
    expect((await trino.queryInfo(record.queryId)).state).toBe('FAILED')
    expect(mock.control.counts()).toMatchObject({ running: 0, canceled: 1 })
  })

  it.each([
    [
      'SELECT 1 /* mock: fail=EXCEEDED_TIME_LIMIT */',
      'EXCEEDED_TIME_LIMIT',
      131075,
      'INSUFFICIENT_RESOURCES',
    ],
    ['SELECT 1 /* mock: rows=many */', 'SYNTAX_ERROR', 1, 'USER_ERROR'],
  ])('delivers the failure of %s as result.error named %s', async (sql, errorName, errorCode, errorType) => {
    const mock = await start()
    const results = await collect(client(mock), sql)
    const error = results.at(-1)?.error
    expect(error).toMatchObject({ errorName, errorCode, errorType })
    expect(error?.failureInfo.type).toEqual(expect.any(String))
    if (errorName === 'SYNTAX_ERROR') expect(error?.message).toContain('"rows"')
  })

  it('rejects a query with QUERY_QUEUE_FULL when the global group is full', async () => {
    const mock = await start({ coordinator: { maxConcurrentQueries: 1, maxQueuedQueries: 0 } })
    const trino = client(mock)
    const blocker = collect(trino, 'SELECT 1 /* mock: duration=300ms */')
    await waitFor(() => mock.control.counts().running === 1, { timeoutMs: 5000, what: 'the blocker to run' })
    const results = await collect(trino, 'SELECT 2')
    expect(results.at(-1)?.error).toMatchObject({
      errorName: 'QUERY_QUEUE_FULL',
      errorCode: 131074,
      message: 'Too many queued queries for "global"',
    })
    await blocker
  })

  it('answers the JDBC monitor query over system.runtime.queries with the real state', async () => {
    const mock = await start()
    const trino = client(mock)
    const longRunning = collect(client(mock), 'SELECT 1 /* mock: duration=30s */')
    await waitFor(() => mock.control.counts().running === 1, { timeoutMs: 5000, what: 'the query to run' })
    const results = await collect(
      trino,
      "SELECT state, COUNT(*) AS count FROM runtime.queries WHERE user != 'monitor' AND date_diff('hour', created, now()) <= 1 GROUP BY state",
    )
    // The other client's query and this one are both running.
    expect(results.flatMap((r) => r.data ?? [])).toEqual([['RUNNING', 2]])
    const runningId = mock.control.queries().find((q) => q.sql.includes('30s'))?.queryId as string
    await trino.cancel(runningId)
    await longRunning
  })
})

describe('statement protocol over raw HTTP', () => {
  it("serves the article's curl request and shows the query finished", async () => {
    const mock = await start()
    const first = await post(mock, 'SELECT * FROM orders LIMIT 5', {
      'X-Trino-Routing-Group': 'adhoc',
      'Content-Type': 'application/json',
      'X-Trino-Catalog': 'iceberg',
      'X-Trino-Schema': 'db',
    })
    expect(Object.keys(first)).toEqual(['id', 'infoUri', 'nextUri', 'stats', 'warnings'])
    expect(first.stats).toMatchObject({ state: 'QUEUED', queued: true, scheduled: false, nodes: 0 })
    expect(first.infoUri).toBe(`${mock.url}/ui/query.html?${first.id}`)
    expect(first.nextUri).toMatch(new RegExp(`^${mock.url}/v1/statement/queued/${first.id}/[^/]+/1$`))
    const responses = await follow(first)
    const last = responses.at(-1) as Json
    expect(last.stats.state).toBe('FINISHED')
    expect('nextUri' in last).toBe(false)
    expect('error' in last).toBe(false)
    const record = mock.control.queries()[0]
    expect(record).toMatchObject({ user: 'admin', catalog: 'iceberg', schema: 'db', state: 'FINISHED' })
    expect(record?.headers['x-trino-routing-group']).toBe('adhoc')
    const listed = (await (await fetch(`${mock.url}/v1/query?state=FINISHED`)).json()) as Array<{
      queryId: string
    }>
    expect(listed.map((q) => q.queryId)).toEqual([first.id])
  })

  it('answers an empty body and a missing user with Trino texts', async () => {
    const mock = await start()
    const empty = await fetch(`${mock.url}/v1/statement`, {
      method: 'POST',
      body: '',
      headers: { 'X-Trino-User': 'a' },
    })
    expect([empty.status, await empty.text()]).toEqual([400, 'SQL statement is empty'])
    const anonymous = await fetch(`${mock.url}/v1/statement`, { method: 'POST', body: 'SELECT 1' })
    expect([anonymous.status, await anonymous.text()]).toEqual([
      401,
      'Basic authentication or X-Trino-User must be sent',
    ])
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="Trino"')
  })

  it('applies the token rules: 410 for a stale token, 404 for unknown ids and slugs, identical replies to a repeated token', async () => {
    const mock = await start()
    const first = await post(mock, 'SELECT 1 /* mock: rows=2 */')
    const queued = (await (await fetch(first.nextUri as string)).json()) as Json
    const executingUri = queued.nextUri as string
    expect(executingUri).toContain('/executing/')
    expect((await fetch(first.nextUri?.replace(/\/1$/, '/3') as string)).status).toBe(410)
    expect(
      (await fetch(first.nextUri?.replace(first.id as string, '20240101_000000_00001_zzzzz') as string))
        .status,
    ).toBe(404)
    expect((await fetch(executingUri.replace(/\/y[0-9a-f]+\//, '/ybad/'))).status).toBe(404)
    const page = await (await fetch(executingUri)).text()
    expect(await (await fetch(executingUri)).text()).toBe(page)
    expect((JSON.parse(page) as { data: unknown[] }).data).toEqual([[1], [1]])
  })

  it('answers two polls of one token in flight at once identically, and the query advances once', async () => {
    const mock = await start()
    const first = await post(mock, 'SELECT 7 /* mock: duration=300ms rows=1 */')
    const queued = (await (await fetch(first.nextUri as string)).json()) as Json
    const executingUri = queued.nextUri as string
    // Both long polls wait for the same results; the second arrives while the first is held.
    const [one, two] = await Promise.all([
      fetch(executingUri).then((r) => r.text()),
      fetch(executingUri).then((r) => r.text()),
    ])
    expect(two).toBe(one)
    const rest = await follow(JSON.parse(one) as Json)
    expect(rest.at(-1)?.stats.state).toBe('FINISHED')
    const rows = [JSON.parse(one) as Json, ...rest].flatMap(
      (page) => (page.data as unknown[] | undefined) ?? [],
    )
    expect(rows).toEqual([[7]])
  })

  it('cancels on DELETE of the nextUri with USER_CANCELED', async () => {
    const mock = await start()
    const first = await post(mock, 'SELECT 1 /* mock: duration=30s */')
    const queued = (await (await fetch(first.nextUri as string)).json()) as Json
    const deleted = await fetch(queued.nextUri as string, { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    const after = (await (await fetch(queued.nextUri as string)).json()) as Json
    expect(after.stats.state).toBe('FAILED')
    expect(after.error?.errorName).toBe('USER_CANCELED')
    expect((await fetch(`${mock.url}/v1/query/unknown_id`)).status).toBe(410)
    expect((await fetch(`${mock.url}/v1/query/unknown_id`, { method: 'DELETE' })).status).toBe(204)
  })

  it('sends X-Trino-Set-* headers only on executing responses', async () => {
    const mock = await start()
    const first = await post(mock, "SET SESSION query_max_run_time = '1h'")
    const queuedResponse = await fetch(first.nextUri as string)
    expect(queuedResponse.headers.get('x-trino-set-session')).toBeNull()
    const queued = (await queuedResponse.json()) as Json
    const executing = await fetch(queued.nextUri as string)
    expect(executing.headers.get('x-trino-set-session')).toBe('query_max_run_time=1h')
    expect(((await executing.json()) as Json).updateType).toBe('SET SESSION')
  })

  it('builds nextUri from X-Forwarded-* headers, unless switched off', async () => {
    const forwarded = {
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'gateway.example.com',
      'X-Forwarded-Port': '8443',
    }
    const on = await start()
    expect((await post(on, 'SELECT 1', forwarded)).nextUri).toMatch(
      /^https:\/\/gateway\.example\.com:8443\/v1\/statement\/queued\//,
    )
    const off = await start({ coordinator: { processForwarded: false } })
    expect((await post(off, 'SELECT 1', forwarded)).nextUri?.startsWith(`${off.url}/`)).toBe(true)
  })

  it('fails a query nobody polls for query.client.timeout with ABANDONED_QUERY', async () => {
    const mock = await start({ coordinator: { clientTimeoutMs: 200 } })
    const first = await post(mock, 'SELECT 1 /* mock: duration=30s */')
    const queued = (await (await fetch(first.nextUri as string)).json()) as Json
    await waitFor(() => mock.control.queries()[0]?.errorName === 'ABANDONED_QUERY', {
      timeoutMs: 5000,
      what: 'the query to be abandoned',
    })
    expect(mock.control.counts()).toMatchObject({ running: 0, failed: 1 })
    const after = (await (await fetch(queued.nextUri as string)).json()) as Json
    expect(after.error?.errorName).toBe('ABANDONED_QUERY')
  })
})

describe('what Trino Gateway monitors read', () => {
  it('reports counts that agree with the real state on /metrics, JMX, /ui/api and /v1/info', async () => {
    const mock = await start({ coordinator: { environment: 'test', maxConcurrentQueries: 1 } })
    const trino = client(mock)
    const first = collect(trino, 'SELECT 1 /* mock: duration=30s */')
    const second = collect(trino, 'SELECT 2')
    await waitFor(() => mock.control.counts().queued === 1 && mock.control.counts().running === 1, {
      timeoutMs: 5000,
      what: 'one running and one queued query',
    })
    const metrics = await (
      await fetch(
        `${mock.url}/metrics?name[]=trino_execution_name_QueryManager_RunningQueries&name[]=trino_execution_name_QueryManager_QueuedQueries&name[]=trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount`,
      )
    ).text()
    expect(metrics).toContain('trino_execution_name_QueryManager_RunningQueries 1.0')
    expect(metrics).toContain('trino_execution_name_QueryManager_QueuedQueries 1.0')
    expect(metrics).toContain('trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount 1.0')
    expect(metrics).not.toContain('FailedQueries')

    const jmx = async (bean: string): Promise<Record<string, unknown>> => {
      const body = (await (await fetch(`${mock.url}/v1/jmx/mbean/${bean}`)).json()) as {
        attributes: Array<{ name: string; value: unknown }>
      }
      return Object.fromEntries(body.attributes.map((a) => [a.name, a.value]))
    }
    expect(await jmx('trino.execution:name=QueryManager')).toMatchObject({
      RunningQueries: 1,
      QueuedQueries: 1,
    })
    expect(await jmx('trino.metadata:name=DiscoveryNodeManager')).toMatchObject({ ActiveNodeCount: 1 })

    expect((await fetch(`${mock.url}/ui/api/stats`)).status).toBe(401)
    const login = await fetch(`${mock.url}/ui/login`, {
      method: 'POST',
      body: 'username=gateway&password=&redirectPath=',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    })
    expect(login.status).toBe(303)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
    const stats = (await (await fetch(`${mock.url}/ui/api/stats`, { headers: { cookie } })).json()) as Record<
      string,
      number
    >
    expect(stats).toMatchObject({ runningQueries: 1, queuedQueries: 1, activeWorkers: 1 })
    const queued = (await (
      await fetch(`${mock.url}/ui/api/query?state=QUEUED`, { headers: { cookie } })
    ).json()) as Array<Record<string, unknown>>
    expect(queued.map((q) => q.sessionUser)).toEqual(['alice'])

    const info = (await (await fetch(`${mock.url}/v1/info`)).json()) as Record<string, unknown>
    expect(info).toMatchObject({ environment: 'test', coordinator: true, starting: false })
    mock.control.setFaults({ starting: true })
    expect(((await (await fetch(`${mock.url}/v1/info`)).json()) as Record<string, unknown>).starting).toBe(
      true,
    )

    await trino.cancel(mock.control.queries()[0]?.queryId as string)
    await Promise.all([first, second])
  })
})

describe('faults and the control API', () => {
  it('answers protocol requests with the injected 5xx while the control API stays up', async () => {
    const mock = await start({
      mock: parseMockConfig({ faults: { httpErrorRate: 1, httpErrorStatus: 502 } }),
    })
    expect((await fetch(`${mock.url}/v1/info`)).status).toBe(502)
    expect((await fetch(`${mock.url}/_mock/counts`)).status).toBe(200)
    mock.control.setFaults({ httpErrorRate: 0 })
    expect((await fetch(`${mock.url}/v1/info`)).status).toBe(200)
  })

  it('destroys the connection mid-body', async () => {
    const mock = await start()
    mock.control.setFaults({ resetMidResponseRate: 1 })
    await expect(fetch(`${mock.url}/v1/info`).then((r) => r.text())).rejects.toThrow()
  })

  it('stops answering statement polls until the client gives up', async () => {
    const mock = await start()
    const first = await post(mock, 'SELECT 1')
    mock.control.setFaults({ stopAnsweringPolls: true })
    await expect(fetch(first.nextUri as string, { signal: AbortSignal.timeout(300) })).rejects.toThrow()
    mock.control.setFaults({ stopAnsweringPolls: false })
    expect((await fetch(first.nextUri as string)).status).toBe(200)
  })

  it('refuses connections while down and comes back on the same port after downForMs', async () => {
    const mock = await start()
    const response = await fetch(`${mock.url}/_mock/faults`, {
      method: 'PUT',
      body: JSON.stringify({ downForMs: 300 }),
      headers: { 'content-type': 'application/json' },
    })
    expect(((await response.json()) as { down: boolean }).down).toBe(true)
    await waitFor(
      async () => {
        try {
          await fetch(`${mock.url}/v1/info`)
          return false
        } catch {
          return true
        }
      },
      { timeoutMs: 5000, what: 'the port to refuse connections' },
    )
    await waitFor(async () => (await fetch(`${mock.url}/v1/info`)).status === 200, {
      timeoutMs: 5000,
      what: 'the port to listen again',
    })
    expect(mock.control.faults().down).toBe(false)
  })

  it('lists queries by state, finds one by id, and refuses invalid fault updates naming the field', async () => {
    const mock = await start()
    await collect(client(mock, { 'X-Trino-Client-Tags': 'LargeCustomer' }), 'SELECT 1')
    const finished = (await (await fetch(`${mock.url}/_mock/queries?state=FINISHED`)).json()) as Array<{
      queryId: string
      clientTags: string[]
    }>
    expect(finished).toHaveLength(1)
    expect(finished[0]?.clientTags).toEqual(['LargeCustomer'])
    expect((await fetch(`${mock.url}/_mock/queries/${finished[0]?.queryId}`)).status).toBe(200)
    const missing = await fetch(`${mock.url}/_mock/queries/nope`)
    expect([missing.status, ((await missing.json()) as { code: string }).code]).toEqual([
      404,
      'MOCK_QUERY_NOT_FOUND',
    ])
    expect(await (await fetch(`${mock.url}/_mock/counts`)).json()).toEqual({
      running: 0,
      queued: 0,
      finished: 1,
      failed: 0,
      canceled: 0,
    })
    const bad = await fetch(`${mock.url}/_mock/faults`, {
      method: 'PUT',
      body: JSON.stringify({ httpErrorRate: 2 }),
      headers: { 'content-type': 'application/json' },
    })
    const problem = (await bad.json()) as { code: string; message: string }
    expect(bad.status).toBe(400)
    expect(problem.code).toBe('MOCK_CONTROL_INVALID')
    expect(problem.message).toContain('httpErrorRate')
    expect(mock.control.faults().httpErrorRate).toBe(0)
  })

  it('prunes finished queries beyond the retention bound but keeps their counts', async () => {
    const mock = await start({ mock: parseMockConfig({ retention: { finishedQueriesMax: 2 } }) })
    const trino = client(mock)
    for (let i = 0; i < 4; i++) await collect(trino, `SELECT ${i}`)
    expect(mock.control.queries().map((q) => q.sql)).toEqual(['SELECT 2', 'SELECT 3'])
    expect(mock.control.counts().finished).toBe(4)
  })

  it('draws the same rows for the same seed and trace token on different coordinators', async () => {
    const config = parseMockConfig({ workload: { rows: { kind: 'uniform', min: 1, max: 50 } } })
    const rowsOn = async (mock: RunningMockTrino): Promise<number> => {
      const results = await collect(client(mock, { 'X-Trino-Trace-Token': 'trace-7' }), 'SELECT a FROM t')
      return results.flatMap((r) => r.data ?? []).length
    }
    const a = await rowsOn(await start({ seed: 5, name: 'a', mock: config }))
    const b = await rowsOn(await start({ seed: 5, name: 'b', mock: config }))
    expect(a).toBe(b)
    expect(a).toBeGreaterThanOrEqual(1)
  })
})

describe('configured from a Trino etc directory', () => {
  it('reads node.environment and the legacy limits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mock-trino-etc-'))
    writeFileSync(join(dir, 'node.properties'), 'node.environment=production\nnode.id=x\n')
    writeFileSync(
      join(dir, 'config.properties'),
      'coordinator=true\nquery.max-concurrent-queries=0\nquery.max-queued-queries=0\nquery.client.timeout=1m\n',
    )
    const mock = await start({ etcDir: dir })
    const info = (await (await fetch(`${mock.url}/v1/info`)).json()) as Record<string, unknown>
    expect(info.environment).toBe('production')
    const results = await collect(client(mock), 'SELECT 1')
    expect(results.at(-1)?.error?.errorName).toBe('QUERY_QUEUE_FULL')
  })

  it('names the file, key and value of a bad property', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mock-trino-etc-'))
    writeFileSync(join(dir, 'config.properties'), 'query.client.timeout=soon\n')
    await expect(startMockTrino({ etcDir: dir })).rejects.toThrow(
      /config\.properties: query\.client\.timeout: .*"soon"/,
    )
  })

  it("admits through Trino's resource groups when resource-groups.properties is present", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mock-trino-etc-'))
    writeFileSync(
      join(dir, 'resource-groups.properties'),
      'resource-groups.configuration-manager=file\nresource-groups.config-file=resource-groups.json\n',
    )
    const child = (name: string, weight: number, limit: number) => ({
      name,
      softMemoryLimit: `${weight * 10}%`,
      hardConcurrencyLimit: limit,
      maxQueued: 50,
      schedulingWeight: weight,
    })
    writeFileSync(
      join(dir, 'resource-groups.json'),
      JSON.stringify({
        rootGroups: [
          {
            name: 'adhoc',
            softMemoryLimit: '100%',
            hardConcurrencyLimit: 50,
            maxQueued: 100,
            schedulingPolicy: 'weighted_fair',
            subGroups: [child('large_customer', 7, 35), child('default', 3, 15)],
          },
        ],
        selectors: [
          { clientTags: ['LargeCustomer'], group: 'adhoc.large_customer' },
          { group: 'adhoc.default' },
        ],
      }),
    )
    const mock = await start({ etcDir: dir })
    await collect(client(mock, { 'X-Trino-Client-Tags': 'LargeCustomer' }), 'SELECT 1')
    await collect(client(mock), 'SELECT 2')
    expect(mock.control.queries().map((q) => [q.sql, q.resourceGroupId])).toEqual([
      ['SELECT 1', ['adhoc', 'large_customer']],
      ['SELECT 2', ['adhoc', 'default']],
    ])
  })
})
