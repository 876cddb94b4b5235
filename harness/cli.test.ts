import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseGatewayConfig } from '../gateway/config.ts'
import { startGateway } from '../gateway/index.ts'
import { openTestDatabase, testDatabaseTarget } from '../test-support/database.ts'
import { type CliIo, exitCodes, main } from './cli.ts'
import type { Report } from './report/report.ts'
import { scenariosDir } from './scenario/loader.ts'

/**
 * The runner end to end: every committed scenario passes through the CLI (real gateway, mock
 * clusters and embedded database on loopback ports), a concurrent scenario run again at another
 * concurrency gives the same routing decision digest, and each exit status means what it says.
 */

function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = ''
  let err = ''
  return {
    out: (text) => {
      out += text
    },
    err: (text) => {
      err += text
    },
    tty: false,
    stdout: () => out,
    stderr: () => err,
  }
}

/**
 * Runs the CLI on the run's database target: with TGL_TEST_DATABASE naming a PostgreSQL server,
 * each run gets a fresh database there (`--database-url`); otherwise the harness's embedded default.
 */
async function runCli(argv: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  if (testDatabaseTarget() === 'embedded') return main(argv, io, signal)
  const database = await openTestDatabase()
  try {
    return await main([...argv, '--database-url', database.url], io, signal)
  } finally {
    await database.close()
  }
}

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'tgl-cli-'))
}

async function readReport(dir: string): Promise<Report> {
  return JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as Report
}

const scenarioRunTimeoutMs = 120_000
const committed = readdirSync(scenariosDir)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => file.replace(/\.yaml$/, ''))
  .sort()
// The suite runs the harness issue's four through the CLI; every committed scenario runs in CI's
// conformance gate (`npm run scenarios`), so the suite does not run them a second and third time.
const suiteScenarios = ['adhoc-fallback', 'blue-green', 'header-routing', 'sticky-ha']
const digests = new Map<string, string>()

describe('committed scenarios', () => {
  it('include the four of the harness issue', () => {
    expect(committed).toEqual(expect.arrayContaining(suiteScenarios))
  })

  it.each(suiteScenarios)(
    '%s passes with exit status 0 and writes its four reports',
    async (name) => {
      const dir = await tempDir()
      const io = captureIo()
      const code = await runCli(['run', name, '--report-dir', dir], io)
      expect(code, `${io.stdout()}\n${io.stderr()}`).toBe(exitCodes.passed)
      for (const file of ['report.json', 'report.md', 'junit.xml', 'trace.jsonl']) {
        expect(existsSync(path.join(dir, file)), file).toBe(true)
      }
      const report = await readReport(dir)
      expect(report).toMatchObject({ scenario: name, passed: true })
      expect(report.queries.length).toBeGreaterThan(0)
      // Every routed query left a decision in the trace, keyed by its trace token.
      const trace = (await readFile(path.join(dir, 'trace.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { traceToken: string | null; kind: string })
      const routed = new Set(trace.filter((line) => line.kind === 'routed').map((line) => line.traceToken))
      for (const query of report.queries) expect(routed.has(query.traceToken), query.traceToken).toBe(true)
      expect(io.stdout()).toContain(`PASSED ${name}`)
      digests.set(name, report.routingDecisionDigest)
    },
    scenarioRunTimeoutMs,
  )

  it(
    'gives the same routing decision digest at another concurrency, and exit 1 with the rerun command when an expectation fails',
    async () => {
      const original = digests.get('adhoc-fallback')
      expect(original, 'the adhoc-fallback run above').toBeDefined()
      const text = await readFile(path.join(scenariosDir, 'adhoc-fallback.yaml'), 'utf8')
      const changed = text
        .replace(/concurrency: 4/g, 'concurrency: 1')
        .replace(/concurrency: 2/g, 'arrivalRatePerSecond: 40')
        .concat(
          '  - kind: ranOn\n    name: deliberately wrong\n    client: etl\n    clusters: [trino-adhoc-1]\n',
        )
      expect(changed).not.toMatch(/concurrency: [24]/)
      const dir = await tempDir()
      const file = path.join(dir, 'adhoc-fallback-sequential.yaml')
      await writeFile(file, changed)
      const io = captureIo()
      const code = await runCli(['run', file, '--report-dir', path.join(dir, 'report')], io)
      expect(code, io.stderr()).toBe(exitCodes.failed)
      const report = await readReport(path.join(dir, 'report'))
      expect(report.routingDecisionDigest).toBe(original)
      expect(report.expectations.filter((e) => !e.passed).map((e) => e.name)).toEqual(['deliberately wrong'])
      expect(io.stdout()).toContain(`rerun:  npm run scenario -- ${file} --seed 42`)
      expect(io.stdout()).toMatch(/FAIL\s+deliberately wrong/)
    },
    scenarioRunTimeoutMs,
  )
})

describe('timed actions', () => {
  it(
    'run in order, every kind once, a gateway restart keeping its port and database for queries in flight',
    async () => {
      const dir = await tempDir()
      const file = path.join(dir, 'actions.yaml')
      await writeFile(
        file,
        `name: actions-check
description: Every action kind once while a client keeps queries in flight.
seed: 5
gateway:
  config:
    monitor:
      taskDelay: 100ms
clusters:
  - name: trino-a
    mock: { workload: { durationMs: 50 } }
  - name: trino-b
    mock: { workload: { durationMs: 50 } }
clients:
  - name: steady
    sql: "SELECT 1 /* mock: duration=1500ms */"
    queries: 6
    concurrency: 2
actions:
  # Both first queries run (their POSTs are answered) when the gateway restarts under them.
  - { at: 300ms, after: { client: steady, queriesStarted: 2 }, restartGateway: 0 }
  - { at: 600ms, deactivate: trino-b }
  - { at: 800ms, activate: trino-b }
  - { at: 1000ms, faults: { cluster: trino-b, set: { starting: true } } }
  - { at: 1200ms, removeBackend: trino-b }
  - { at: 1200ms, faults: { cluster: trino-b, set: { starting: false } } }
  - { name: back, at: 1400ms, addBackend: trino-b }
expectations:
  # Polls of queries in flight across the restart reach the restarted gateway on its old port and
  # find their backend in the shared database; a changed port would fail them with CONNECTION_FAILED.
  - kind: errors
  - kind: noGatewayErrors
  - kind: ranOn
    clusters: [trino-a, trino-b]
`,
      )
      const io = captureIo()
      const code = await runCli(['run', file, '--report-dir', path.join(dir, 'report')], io)
      expect(code, `${io.stdout()}\n${io.stderr()}`).toBe(exitCodes.passed)
      const trace = (await readFile(path.join(dir, 'report', 'trace.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { kind: string; stickySource: string | null; timestampMs: number })
      // The restarted instance reported decisions too, and found some queries only in the database.
      expect(trace.filter((line) => line.kind === 'routed').length).toBe(6)
      expect(trace.some((line) => line.stickySource === 'history')).toBe(true)
    },
    scenarioRunTimeoutMs,
  )
})

describe('a gateway already running', () => {
  it(
    'is gated as a black box with --gateway-url: clusters registered through its admin API, decisions observed',
    async () => {
      // Its own database: the embedded one, or a fresh one on the PostgreSQL server under test.
      const database = testDatabaseTarget() === 'embedded' ? undefined : await openTestDatabase()
      const gateway = await startGateway({
        config: parseGatewayConfig(
          {
            serverConfig: { 'http-server.http.port': 0 },
            monitor: { taskDelay: '100ms' },
            ...(database === undefined ? {} : { dataStore: { jdbcUrl: database.url } }),
          },
          'black-box test gateway',
        ),
        seed: 99,
        logLevel: 'silent',
      })
      try {
        const dir = await tempDir()
        const io = captureIo()
        const code = await main(
          ['run', 'header-routing', '--gateway-url', gateway.url, '--report-dir', dir],
          io,
        )
        expect(code, `${io.stdout()}\n${io.stderr()}`).toBe(exitCodes.passed)
        const report = await readReport(dir)
        expect(report.queries.every((query) => query.cluster !== null)).toBe(true)
        const trace = await readFile(path.join(dir, 'trace.jsonl'), 'utf8')
        expect(trace.split('\n')[0]).toContain('"observed":true')
        expect(await readFile(path.join(dir, 'report.md'), 'utf8')).toContain('the gateway was a black box')
      } finally {
        await gateway.close()
        await database?.close()
      }
    },
    scenarioRunTimeoutMs,
  )
})

describe('scenario CLI exit status', () => {
  it('is 2 for an invalid file, listing each problem with line and column', async () => {
    const dir = await tempDir()
    const file = path.join(dir, 'bad.yaml')
    await writeFile(
      file,
      'name: bad\ndescription: x\nseed: 1\nclusters: []\nclients:\n  - name: c\n    sql: 1\nexpectations: []\n',
    )
    const io = captureIo()
    expect(await main(['run', file], io)).toBe(exitCodes.invalid)
    expect(io.stderr()).toContain('SCENARIO_INVALID')
    expect(io.stderr()).toContain(`${file}:4:11 clusters: Too small`)
    expect(io.stderr()).toContain(`${file}:7:10 clients[0].sql`)
  })

  it('is 2 for a scenario that does not exist', async () => {
    const io = captureIo()
    expect(await main(['run', 'no-such-scenario'], io)).toBe(exitCodes.invalid)
    expect(io.stderr()).toContain('SCENARIO_NOT_FOUND')
  })

  it('is 2 with usage for a bad command line', async () => {
    for (const argv of [
      ['run'],
      ['walk', 'x'],
      ['run', 'x', '--seed', 'abc'],
      ['all', '--seed', '3'],
      ['run', 'x', '--nope'],
    ]) {
      const io = captureIo()
      expect(await main(argv, io), argv.join(' ')).toBe(exitCodes.invalid)
      expect(io.stderr()).toContain('usage:')
    }
  })

  it('is 2 when --gateway-url meets a scenario that needs gateways of its own', async () => {
    const io = captureIo()
    expect(await main(['run', 'sticky-ha', '--gateway-url', 'http://127.0.0.1:9'], io)).toBe(
      exitCodes.invalid,
    )
    expect(io.stderr()).toContain('gateway.instances is 2')
  })

  it('is 2 when the topology cannot start, naming the reason', async () => {
    const dir = await tempDir()
    const file = path.join(dir, 'missing-etc.yaml')
    const text = (await readFile(path.join(scenariosDir, 'header-routing.yaml'), 'utf8')).replace(
      '  - name: trino-b\n',
      '  - name: trino-b\n    etcDir: no-such-etc\n',
    )
    await writeFile(file, text)
    const io = captureIo()
    expect(await main(['run', file], io)).toBe(exitCodes.invalid)
    expect(io.stderr()).toContain('TOPOLOGY_START_FAILED')
    expect(io.stderr()).toContain('cluster trino-b')
    expect(io.stderr()).toContain('no-such-etc')
  })

  it(
    'is 130 when interrupted, after tearing the topology down',
    async () => {
      const dir = await tempDir()
      const controller = new AbortController()
      const io = captureIo()
      const outDir = path.join(dir, 'report')
      const run = runCli(
        ['run', 'blue-green', '--report-dir', outDir],
        {
          ...io,
          out: (text) => {
            io.out(text)
            // Interrupt once the first query is done: clients, actions and topology are all live.
            if (text.includes('queries done')) controller.abort()
          },
        },
        controller.signal,
      )
      expect(await run).toBe(exitCodes.interrupted)
      expect(existsSync(path.join(outDir, 'report.json'))).toBe(false)
    },
    scenarioRunTimeoutMs,
  )
})
