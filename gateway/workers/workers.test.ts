/**
 * `workers: 2` on real processes: the primary and two data-plane workers sharing one port. Every
 * request here opens a new connection, which node:cluster hands to the workers in turn, and the
 * `x-trino-gateway-worker` header says which one served it.
 */

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import packageJson from '../../package.json' with { type: 'json' }
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { queryCountBasedRouterModule } from '../routing/query-count-router.ts'
import { workerHeader } from '../server.ts'
import { openStore } from '../store/index.ts'
import { type FakeTrino, startFakeTrino } from '../test-support/fake-trino.ts'
import {
  historyFigures,
  lockHistory,
  metricSamples,
  startLoad,
  storedIds,
} from '../test-support/history-load.ts'
import { type GatewayProcess, processConfigLines, startGatewayProcess } from '../test-support/process.ts'

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  text: string
  worker: string
}

/** One request on a connection of its own (no keep-alive pool), so the next worker serves it. */
function fresh(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        agent: false,
        headers: {
          connection: 'close',
          'x-trino-user': 'alice',
          'content-type': 'application/json',
          ...options.headers,
        },
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          text += chunk
        })
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            worker: String(response.headers[workerHeader] ?? ''),
          }),
        )
        response.on('error', reject)
      },
    )
    request.on('error', reject)
    request.end(options.body)
  })
}

/** Asks until each worker has answered once; returns the answers by worker id. */
async function fromEveryWorker(url: string, workers = 2): Promise<Map<string, Answer>> {
  const seen = new Map<string, Answer>()
  await waitFor(
    async () => {
      const answer = await fresh(url)
      if (!seen.has(answer.worker)) seen.set(answer.worker, answer)
      return seen.size >= workers
    },
    { timeoutMs: 20_000, intervalMs: 1, what: `an answer from each of ${workers} workers for ${url}` },
  )
  return seen
}

/** Fresh-connection requests in the most sent until both workers have answered one. */
const untilBothRequestsMax = 100

/**
 * Sends `send()` until both workers have served at least `each` (the kernel spreads new
 * connections; it alternates in practice, but nothing promises it), at most `untilBothRequestsMax`.
 */
async function untilBothWorkers(send: () => Promise<Answer>, each = 1): Promise<Answer[]> {
  const answers: Answer[] = []
  const served = (worker: string) => answers.filter((answer) => answer.worker === worker).length
  while (served('1') < each || served('2') < each) {
    expect(answers.length).toBeLessThan(untilBothRequestsMax)
    answers.push(await send())
  }
  return answers
}

/** Submits a statement and polls it to the end, each request on a new connection. */
async function runQuery(
  gatewayUrl: string,
  sql = 'SELECT 2 PAGES',
): Promise<{ id: string; workers: string[] }> {
  const first = await fresh(`${gatewayUrl}/v1/statement`, { method: 'POST', body: sql })
  expect(first.status, first.text).toBe(200)
  const workers = [first.worker]
  let page = JSON.parse(first.text) as { id: string; nextUri?: string }
  const id = page.id
  for (let polls = 0; page.nextUri !== undefined; polls++) {
    expect(polls).toBeLessThan(20)
    const next = await fresh(page.nextUri)
    expect(next.status, next.text).toBe(200)
    workers.push(next.worker)
    page = JSON.parse(next.text) as { id: string; nextUri?: string }
  }
  return { id, workers }
}

function infoProbes(backend: FakeTrino): number {
  return backend.requests.filter((request) => request.url === '/v1/info').length
}

function statementsOn(backend: FakeTrino): number {
  return backend.requests.filter((request) => request.method === 'POST').length
}

/** The stdout lines of the gateway that are JSON log lines with this `msg`. */
function logLines(gateway: GatewayProcess, msg: string): Array<Record<string, unknown>> {
  return gateway.lines.flatMap((line) => {
    if (!line.includes(msg)) return []
    const parsed = JSON.parse(line) as Record<string, unknown>
    return parsed.msg === msg ? [parsed] : []
  })
}

describe('workers: 2 on a configured database', () => {
  let database: TestDatabase
  let workDir: string
  let b1: FakeTrino
  let b2: FakeTrino
  let gateway: GatewayProcess

  beforeAll(async () => {
    database = await openTestDatabase()
    workDir = await mkdtemp(join(tmpdir(), 'tgl-workers-'))
    b1 = await startFakeTrino('b1')
    b2 = await startFakeTrino('b2')
    // The backends are in the database before the gateway starts, so its first monitor round
    // probes them: one round per gateway, whatever the number of workers.
    const store = await openStore({ dataStore: database.dataStore })
    try {
      for (const backend of [b1, b2]) {
        await store.backends.insert({
          name: backend.name,
          routingGroup: 'adhoc',
          proxyTo: backend.url,
          externalUrl: null,
          active: true,
        })
      }
    } finally {
      await store.close()
    }
    gateway = await startGatewayProcess({
      configPath: join(workDir, 'gateway.yaml'),
      configLines: [
        ...processConfigLines(database.url, '1h'),
        'modules:',
        `  - ${queryCountBasedRouterModule}`,
      ],
      seed: 21,
      workers: 2,
      logLevel: 'info',
    })
  }, 90_000)

  afterAll(async () => {
    await gateway?.stop()
    await b1?.close()
    await b2?.close()
    await database?.close()
    await rm(workDir, { recursive: true, force: true })
  })

  it('runs the health monitor once, in the primary, and every worker reports ready', async () => {
    await waitFor(
      async () =>
        [...(await fromEveryWorker(`${gateway.url}/trino-gateway/readyz`)).values()].every(
          (answer) => answer.status === 200,
        ),
      { timeoutMs: 20_000, what: 'readyz 200 from both workers' },
    )
    // Both workers are ready, so a monitor per worker would have run its first round by now.
    expect(infoProbes(b1)).toBe(1)
    expect(infoProbes(b2)).toBe(1)
    expect(logLines(gateway, 'worker started').map((line) => line.worker)).toEqual([1, 2])
  })

  it('serves statements and their follow-ups from both workers', async () => {
    const served = new Set<string>()
    for (let query = 0; query < untilBothRequestsMax && served.size < 2; query++) {
      const { workers } = await runQuery(gateway.url)
      for (const worker of workers) served.add(worker)
    }
    expect([...served].sort()).toEqual(['1', '2'])
  })

  it("answers /metrics with every worker's query_history counts, whichever worker serves it", async () => {
    // Each worker takes a submission, so each has its own rows to write.
    await untilBothWorkers(() =>
      fresh(`${gateway.url}/v1/statement`, { method: 'POST', body: 'SELECT 1 PAGES' }),
    )
    await waitFor(
      async () => {
        const answers = await fromEveryWorker(`${gateway.url}/metrics`)
        for (const [servedBy, answer] of answers) {
          const written = metricSamples(answer.text, 'trino_gateway_query_history_rows_written_total')
          expect(
            written.map((sample) => sample.labels.worker),
            `the workers in the answer of worker ${servedBy}`,
          ).toEqual(['1', '2'])
          if (written.some((sample) => sample.value === 0)) return false
        }
        return true
      },
      { timeoutMs: 20_000, what: "every worker's rows written, in the answer of each" },
    )
  })

  it("counts every worker's least-loaded picks in every worker", async () => {
    /** The router's running count of `name` in worker 1 and in worker 2. */
    const runningOn = async (name: string): Promise<number[]> => {
      const answers = await fromEveryWorker(`${gateway.url}/api/public/backends/${name}/state`)
      return ['1', '2'].map(
        (worker) =>
          (JSON.parse(answers.get(worker)?.text ?? '{}') as { runningQueryCount: number }).runningQueryCount,
      )
    }
    const agreed = async (name: string) =>
      waitFor(
        async () => {
          const [first, second] = await runningOn(name)
          return first === second ? first : undefined
        },
        { timeoutMs: 20_000, what: `both workers agreeing on the running count of ${name}` },
      )
    const before = new Map([
      [b1.name, await agreed(b1.name)],
      [b2.name, await agreed(b2.name)],
    ])
    const statementsBefore = [statementsOn(b1), statementsOn(b2)]
    const submitted = await fresh(`${gateway.url}/v1/statement`, { method: 'POST', body: 'SELECT 5 PAGES' })
    expect(submitted.status, submitted.text).toBe(200)
    const chosen = statementsOn(b1) > (statementsBefore[0] as number) ? b1 : b2
    expect(statementsOn(b1) + statementsOn(b2)).toBe(
      (statementsBefore[0] as number) + (statementsBefore[1] as number) + 1,
    )
    // The worker that did not serve it learns of the pick through the primary.
    const expected = (before.get(chosen.name) as number) + 1
    await waitFor(async () => (await runningOn(chosen.name)).every((count) => count === expected), {
      timeoutMs: 20_000,
      what: `both workers counting the new query on ${chosen.name} (${expected})`,
    })
  })

  it('stops routing to a backend deactivated through either worker, in every worker at once', async () => {
    const deactivated = await fresh(`${gateway.url}/gateway/backend/deactivate/${b1.name}`, {
      method: 'POST',
    })
    expect(deactivated.status, deactivated.text).toBe(200)
    const b1Before = statementsOn(b1)
    // No wait: the admin API answered once every worker held the change.
    const answers = await untilBothWorkers(
      () => fresh(`${gateway.url}/v1/statement`, { method: 'POST', body: 'SELECT 1 PAGES' }),
      3,
    )
    for (const answer of answers) expect(answer.status, answer.text).toBe(200)
    expect(statementsOn(b1)).toBe(b1Before)
  })

  it('restarts a worker that was killed, which comes back with the current state', async () => {
    const started = logLines(gateway, 'worker started')
    const victim = started.find((line) => line.worker === 1)?.workerPid as number
    expect(typeof victim).toBe('number')
    process.kill(victim, 'SIGKILL')
    await waitFor(() => logLines(gateway, 'worker exited unexpectedly; restarting it').length === 1, {
      timeoutMs: 20_000,
      what: 'the primary logging the exit',
    })
    const exit = logLines(gateway, 'worker exited unexpectedly; restarting it')[0]
    expect(exit).toMatchObject({ worker: 1, workerPid: victim, signal: 'SIGKILL' })
    const restarted = await waitFor(
      () =>
        logLines(gateway, 'worker listening').find((line) => line.worker === 1 && line.workerPid !== victim),
      { timeoutMs: 30_000, what: 'worker 1 listening again' },
    )
    expect(restarted.workerPid).not.toBe(victim)
    // The new worker got the primary's state: b1 is still inactive there too.
    const b1Before = statementsOn(b1)
    const answers = await untilBothWorkers(
      () => fresh(`${gateway.url}/v1/statement`, { method: 'POST', body: 'SELECT 1 PAGES' }),
      3,
    )
    for (const answer of answers) expect(answer.status, answer.text).toBe(200)
    expect(statementsOn(b1)).toBe(b1Before)
  }, 60_000)

  it('loses no query_history row on a graceful stop under load: each worker writes its buffer', async () => {
    const load = startLoad(gateway.url, 8)
    await waitFor(() => load.answered.length >= 50, { timeoutMs: 30_000, what: 'submissions answered' })
    // On a PostgreSQL server a table lock stalls the writes, so the stop finds full buffers. The
    // embedded test database runs a transaction and other connections' statements in one session,
    // so there the lock would lose rows by itself (docs/capacity.md): it runs without the stall.
    const locker = database.kind === 'postgres' ? await lockHistory(database.url) : undefined
    let exitCode: number | null
    let pendingAtStop = 0
    try {
      const answeredAtLock = load.answered.length
      await waitFor(() => load.answered.length >= answeredAtLock + 50, {
        timeoutMs: 30_000,
        what: 'more submissions answered',
      })
      // One answer holds every worker's buffer (the primary gathers them).
      pendingAtStop = historyFigures((await fresh(`${gateway.url}/metrics`)).text).pending
      const stopped = gateway.stop()
      await load.stop()
      await locker?.release()
      exitCode = await stopped
    } finally {
      await locker?.release()
    }
    expect(exitCode).toBe(0)
    if (locker !== undefined) expect(pendingAtStop).toBeGreaterThan(0)
    const stored = await storedIds(database.url, load.answered)
    expect(load.answered.filter((id) => !stored.has(id))).toEqual([])
    expect(logLines(gateway, 'query_history write-behind: buffer flushed')).toHaveLength(2)
  }, 90_000)
})

describe('workers: 2 on the embedded database the primary serves', () => {
  let workDir: string
  let backend: FakeTrino
  let gateway: GatewayProcess

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'tgl-workers-embedded-'))
    backend = await startFakeTrino('e1')
    gateway = await startGatewayProcess({
      configPath: join(workDir, 'gateway.yaml'),
      configLines: ['serverConfig:', '  http-server.http.port: 0', 'monitor:', '  taskDelay: 1h'],
      seed: 22,
      workers: 2,
    })
  }, 90_000)

  afterAll(async () => {
    await gateway?.stop()
    await backend?.close()
    await rm(workDir, { recursive: true, force: true })
  })

  it('adds a backend through one worker and routes to it from both, then stops cleanly', async () => {
    const added = await fresh(`${gateway.url}/gateway/backend/modify/add`, {
      method: 'POST',
      body: JSON.stringify({ name: backend.name, proxyTo: backend.url, routingGroup: 'adhoc', active: true }),
    })
    expect(added.status, added.text).toBe(200)
    // The primary probed the new backend once, and both workers see it HEALTHY.
    await waitFor(
      async () =>
        [
          ...(await fromEveryWorker(`${gateway.url}/api/public/backends/${backend.name}/state`)).values(),
        ].every((answer) => (JSON.parse(answer.text) as { trinoStatus: string }).trinoStatus === 'HEALTHY'),
      { timeoutMs: 20_000, what: 'the backend HEALTHY in both workers' },
    )
    expect(infoProbes(backend)).toBe(1)
    const served = new Set<string>()
    for (let query = 0; query < untilBothRequestsMax && served.size < 2; query++)
      for (const worker of (await runQuery(gateway.url)).workers) served.add(worker)
    expect([...served].sort()).toEqual(['1', '2'])
    expect(await gateway.stop()).toBe(0)
  }, 60_000)
})

describe('workers: 2 with a routing-rules file', () => {
  let workDir: string
  let etl: FakeTrino
  let adhoc: FakeTrino
  let gateway: GatewayProcess
  const rule = {
    name: 'airflow',
    description: 'airflow queries go to etl',
    priority: 0,
    condition: 'request.getHeader("X-Trino-Source") == "airflow"',
    actions: ['result.put("routingGroup", "etl")'],
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'tgl-workers-rules-'))
    etl = await startFakeTrino('etl1')
    adhoc = await startFakeTrino('adhoc1')
    const rulesFile = join(workDir, 'rules.yml')
    await writeFile(
      rulesFile,
      [
        '---',
        `name: ${rule.name}`,
        `description: ${rule.description}`,
        'priority: 0',
        `condition: '${rule.condition}'`,
        'actions:',
        `  - '${rule.actions[0]}'`,
        '',
      ].join('\n'),
    )
    gateway = await startGatewayProcess({
      configPath: join(workDir, 'gateway.yaml'),
      configLines: [
        'serverConfig:',
        '  http-server.http.port: 0',
        'monitor:',
        '  taskDelay: 1h',
        'routingRules:',
        '  rulesEngineEnabled: true',
        '  rulesType: FILE',
        `  rulesConfigPath: ${rulesFile}`,
        // Only the update's reloads read the file again.
        '  rulesRefreshPeriod: 1h',
      ],
      seed: 23,
      workers: 2,
    })
    for (const [backend, routingGroup] of [
      [etl, 'etl'],
      [adhoc, 'adhoc'],
    ] as const) {
      const added = await fresh(`${gateway.url}/gateway/backend/modify/add`, {
        method: 'POST',
        body: JSON.stringify({ name: backend.name, proxyTo: backend.url, routingGroup, active: true }),
      })
      expect(added.status, added.text).toBe(200)
    }
    await waitFor(
      async () => {
        for (const name of [etl.name, adhoc.name]) {
          const answers = await fromEveryWorker(`${gateway.url}/api/public/backends/${name}/state`)
          for (const answer of answers.values())
            if ((JSON.parse(answer.text) as { trinoStatus: string }).trinoStatus !== 'HEALTHY') return false
        }
        return true
      },
      { timeoutMs: 20_000, what: 'both backends HEALTHY in both workers' },
    )
  }, 90_000)

  afterAll(async () => {
    await gateway?.stop()
    await etl?.close()
    await adhoc?.close()
    await rm(workDir, { recursive: true, force: true })
  })

  /** Airflow statements on new connections until each worker has served two. */
  const submitAirflow = () =>
    untilBothWorkers(
      () =>
        fresh(`${gateway.url}/v1/statement`, {
          method: 'POST',
          body: 'SELECT 1 PAGES',
          headers: { 'x-trino-source': 'airflow' },
        }),
      2,
    )

  it('routes by a rule updated through one worker in every worker once the update answers', async () => {
    const before = await submitAirflow()
    for (const answer of before) expect(answer.status, answer.text).toBe(200)
    expect(statementsOn(etl)).toBe(before.length)
    expect(statementsOn(adhoc)).toBe(0)
    const updated = await fresh(`${gateway.url}/webapp/updateRoutingRules`, {
      method: 'POST',
      body: JSON.stringify({ ...rule, actions: ['result.put("routingGroup", "adhoc")'] }),
    })
    expect(updated.status, updated.text).toBe(200)
    // No wait: the update answered after both workers had reloaded the file.
    const after = await submitAirflow()
    for (const answer of after) expect(answer.status, answer.text).toBe(200)
    expect(statementsOn(etl)).toBe(before.length)
    expect(statementsOn(adhoc)).toBe(after.length)
  })
})

describe('workers: 2 that cannot listen', () => {
  it('stops the gateway with WORKER_START_FAILED when the workers cannot take the port', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'tgl-workers-port-'))
    const taken = createNetServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const configPath = join(workDir, 'gateway.yaml')
      await writeFile(configPath, `serverConfig:\n  http-server.http.port: ${port}\n`)
      const [, ...scriptArgs] = packageJson.scripts.gateway.split(' ')
      const child = spawn(
        join(process.cwd(), 'node_modules/.bin/tsx'),
        [...scriptArgs, '--config', configPath, '--workers', '2', '--log-level', 'warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      let stderr = ''
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const [code] = (await once(child, 'exit')) as [number | null]
      expect(code).toBe(1)
      expect(stderr).toMatch(/WORKER_START_FAILED: worker \d \(pid \d+\) exited before listening/)
    } finally {
      taken.close()
      await rm(workDir, { recursive: true, force: true })
    }
  }, 60_000)
})
