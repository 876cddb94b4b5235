import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { sleepMs, waitFor } from '../common/wait.ts'

/**
 * Benchmark of one mock coordinator, run in its own process so the load generator does not share
 * its event loop:
 * 1. statement POSTs per second for `--seconds` (the POST path is the data plane's hot path);
 * 2. memory over `--queries` finished queries: each query is POSTed and then abandoned after
 *    `query.client.timeout=1s`, so it finishes (FAILED, ABANDONED_QUERY) and is later pruned; the
 *    coordinator's heap is sampled from `/v1/status` as the finished count grows.
 * Not part of the test suite: `npx tsx mock-trino/bench.ts [--seconds 10] [--queries 1000000]`.
 * Writes `reports/mock-trino-bench/<time>.json` and `.md`.
 */

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    queries: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '64' },
  },
})
const throughputSeconds = Number(values.seconds)
const queriesTotal = Number(values.queries)
const connections = Number(values.connections)
/** Bounds every wait of the benchmark so it stops by itself. */
const phaseTimeoutMs = 30 * 60_000
const sampleIntervalMs = 2000

interface Sample {
  elapsedS: number
  finished: number
  heapUsedMB: number
  active: number
}

async function startCoordinator(): Promise<{ url: string; stop: () => void }> {
  const etc = mkdtempSync(join(tmpdir(), 'mock-trino-bench-'))
  writeFileSync(join(etc, 'config.properties'), 'query.client.timeout=1s\n')
  writeFileSync(join(etc, 'node.properties'), 'node.environment=bench\n')
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'mock-trino/main.ts',
      '--port',
      '0',
      '--seed',
      '1',
      '--etc',
      etc,
      '--log-level',
      'silent',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(output)?.[1], {
    timeoutMs: 30_000,
    what: 'the mock coordinator to listen',
  })
  return { url, stop: () => child.kill('SIGTERM') }
}

async function json<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T
}

async function main(): Promise<void> {
  const coordinator = await startCoordinator()
  const { url } = coordinator
  const statement = {
    url: `${url}/v1/statement`,
    method: 'POST' as const,
    headers: { 'x-trino-user': 'bench', 'x-trino-source': 'bench', 'content-type': 'text/plain' },
    body: 'SELECT 1',
    connections,
  }
  try {
    // Warm-up: JIT and allocation pools.
    await autocannon({ ...statement, duration: 2 })
    const throughput = await autocannon({ ...statement, duration: throughputSeconds })
    console.log(
      `throughput: ${throughput.requests.average.toFixed(0)} POST/s average, p99 latency ${throughput.latency.p99} ms, non-2xx ${throughput.non2xx}, errors ${throughput.errors}`,
    )

    // Let the throughput phase's queries be abandoned before measuring memory.
    await waitFor(async () => (await json<{ queued: number }>(`${url}/_mock/counts`)).queued === 0, {
      timeoutMs: phaseTimeoutMs,
      what: 'the throughput phase to drain',
    })
    const baseFinished = (await json<{ failed: number }>(`${url}/_mock/counts`)).failed
    const samples: Sample[] = []
    const startedAt = Date.now()
    let sampling = true
    const sampler = (async () => {
      while (sampling && Date.now() - startedAt < phaseTimeoutMs) {
        const [counts, status] = await Promise.all([
          json<{ failed: number; queued: number }>(`${url}/_mock/counts`),
          json<{ heapUsed: number }>(`${url}/v1/status`),
        ])
        samples.push({
          elapsedS: Math.round((Date.now() - startedAt) / 1000),
          finished: counts.failed - baseFinished,
          heapUsedMB: Math.round(status.heapUsed / 1024 / 1024),
          active: counts.queued,
        })
        await sleepMs(sampleIntervalMs)
      }
    })()
    const memoryRun = await autocannon({ ...statement, amount: queriesTotal, timeout: 30 })
    await waitFor(
      async () =>
        (await json<{ failed: number }>(`${url}/_mock/counts`)).failed - baseFinished >= queriesTotal,
      { timeoutMs: phaseTimeoutMs, what: `${queriesTotal} queries to finish` },
    )
    await sleepMs(sampleIntervalMs * 2)
    sampling = false
    await sampler
    const heap = samples.map((s) => s.heapUsedMB)
    const firstQuarter = heap.slice(0, Math.max(1, Math.floor(heap.length / 4)))
    const lastQuarter = heap.slice(-Math.max(1, Math.floor(heap.length / 4)))
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      loadAverage1m: loadavg()[0],
      connections,
      throughput: {
        seconds: throughputSeconds,
        postsPerSecondAverage: Math.round(throughput.requests.average),
        postsPerSecondMin: throughput.requests.min,
        latencyMsP50: throughput.latency.p50,
        latencyMsP99: throughput.latency.p99,
        non2xx: throughput.non2xx,
        errors: throughput.errors,
      },
      memory: {
        queries: queriesTotal,
        postsPerSecondAverage: Math.round(memoryRun.requests.average),
        non2xx: memoryRun.non2xx,
        errors: memoryRun.errors,
        heapUsedMBMaxFirstQuarter: Math.max(...firstQuarter),
        heapUsedMBMaxLastQuarter: Math.max(...lastQuarter),
        heapUsedMBMax: Math.max(...heap),
        samples,
      },
    }
    const dir = join('reports', 'mock-trino-bench')
    mkdirSync(dir, { recursive: true })
    const stem = join(dir, report.date.replaceAll(':', '-'))
    writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`)
    writeFileSync(
      `${stem}.md`,
      [
        `# mock-trino benchmark ${report.date}`,
        '',
        `Node ${report.node}, ${connections} connections, 1-minute load average at the end ${(report.loadAverage1m ?? 0).toFixed(1)} (shared machine).`,
        '',
        `- Statement POSTs: ${report.throughput.postsPerSecondAverage}/s average over ${throughputSeconds} s (min ${report.throughput.postsPerSecondMin}/s), p50 ${report.throughput.latencyMsP50} ms, p99 ${report.throughput.latencyMsP99} ms, non-2xx ${report.throughput.non2xx}, errors ${report.throughput.errors}.`,
        `- ${queriesTotal} finished queries at ${report.memory.postsPerSecondAverage} POST/s: heap used max ${report.memory.heapUsedMBMaxFirstQuarter} MB in the first quarter of samples, ${report.memory.heapUsedMBMaxLastQuarter} MB in the last quarter, ${report.memory.heapUsedMBMax} MB overall.`,
        '',
        '| elapsed s | finished | active | heap used MB |',
        '|---:|---:|---:|---:|',
        ...samples.map((s) => `| ${s.elapsedS} | ${s.finished} | ${s.active} | ${s.heapUsedMB} |`),
        '',
      ].join('\n'),
    )
    console.log(`report: ${stem}.md`)
    console.log(
      `memory: heap used max ${report.memory.heapUsedMBMaxFirstQuarter} MB (first quarter) vs ${report.memory.heapUsedMBMaxLastQuarter} MB (last quarter) over ${queriesTotal} finished queries`,
    )
  } finally {
    coordinator.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
