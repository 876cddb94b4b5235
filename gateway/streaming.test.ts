/**
 * A 100 MB result streams through a gateway running as its own process (`tsx gateway/main.ts`),
 * whose resident memory is read from /proc while the bytes flow.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../test-support/database.ts'
import { type FakeTrino, startFakeTrino } from './test-support/fake-trino.ts'
import { addBackend, stateOf } from './test-support/gateway.ts'
import { type GatewayProcess, processConfigLines, startGatewayProcess } from './test-support/process.ts'

const resultBytes = Number(process.env.TGL_STREAM_MB ?? 100) * 1024 * 1024
const rssGrowthBytesMax = 50 * 1024 * 1024
const rssSampleIntervalMs = 10
const warmUpBytes = 16 * 1024 * 1024

let database: TestDatabase
let trino: FakeTrino
let gatewayProcess: GatewayProcess | undefined
let workDir: string

beforeAll(async () => {
  database = await openTestDatabase()
  trino = await startFakeTrino('big')
  workDir = await mkdtemp(join(tmpdir(), 'tgl-stream-'))
})
afterAll(async () => {
  await gatewayProcess?.stop()
  await trino?.close()
  await database?.close()
  await rm(workDir, { recursive: true, force: true })
})

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(kib) * 1024
}

interface StreamRun {
  baseline: number
  peak: number
  received: number
  head: string
  tail: string
}

/** Streams one BIG result through the gateway, sampling the gateway's RSS while bytes flow. */
async function streamOnce(gatewayUrl: string, pid: number): Promise<StreamRun> {
  const baseline = await rssBytes(pid)
  let peak = baseline
  const sampler = setInterval(() => {
    rssBytes(pid).then(
      (rss) => {
        peak = Math.max(peak, rss)
      },
      () => undefined,
    )
  }, rssSampleIntervalMs)
  let received = 0
  let head = ''
  let tail = ''
  try {
    const response = await fetch(`${gatewayUrl}/v1/statement`, { method: 'POST', body: `BIG ${resultBytes}` })
    expect(response.status).toBe(200)
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length
      if (head.length < 512) head += Buffer.from(chunk.subarray(0, 512)).toString('utf8')
      tail = (tail + Buffer.from(chunk.subarray(Math.max(0, chunk.length - 16))).toString('latin1')).slice(
        -16,
      )
    }
  } finally {
    clearInterval(sampler)
  }
  peak = Math.max(peak, await rssBytes(pid))
  return { baseline, peak, received, head, tail }
}

describe('streaming through a gateway process', () => {
  it.skipIf(process.platform !== 'linux')(
    'streams a 100 MB result with the gateway resident memory growing less than 50 MB',
    async () => {
      const configPath = join(workDir, 'config.yaml')
      gatewayProcess = await startGatewayProcess({
        configPath,
        configLines: processConfigLines(database.url, '1h'),
        seed: 5,
      })
      const started = gatewayProcess
      expect(started.seed).toBe(5)
      await addBackend(started.url, { name: 'big', proxyTo: trino.url })
      await waitFor(async () => (await stateOf(started.url, 'big')) === 'HEALTHY', {
        timeoutMs: 20_000,
        what: 'big HEALTHY',
      })

      // Warm the path (JIT, undici pools, V8's young generation, malloc arenas) with a result a
      // sixth of the size, then measure two full-size results. The warm-up cost is fixed, not
      // proportional: with Node's default young generation it is ~50 MB whatever the body size,
      // which is why the npm script bounds it (--max-semi-space-size).
      const warm = await fetch(`${started.url}/v1/statement`, {
        method: 'POST',
        body: `BIG ${warmUpBytes}`,
      })
      await warm.arrayBuffer()
      const first = await streamOnce(started.url, started.pid)
      const second = await streamOnce(started.url, started.pid)
      for (const [label, run] of [
        ['first', first],
        ['second', second],
      ] as const) {
        console.log(
          `${label} ${(run.received / 2 ** 20).toFixed(1)} MiB result: gateway RSS baseline ${(run.baseline / 2 ** 20).toFixed(1)} MiB, peak ${(run.peak / 2 ** 20).toFixed(1)} MiB, growth ${((run.peak - run.baseline) / 2 ** 20).toFixed(1)} MiB`,
        )
        expect(run.received).toBeGreaterThanOrEqual(resultBytes)
        expect(run.tail.endsWith(']]}')).toBe(true)
        // The leading URIs were rewritten though the body is far larger than the scan window.
        expect(run.head).toContain(`"nextUri":"${started.url}/v1/statement/`)
      }
      expect(first.peak - first.baseline).toBeLessThan(rssGrowthBytesMax)
      expect(second.peak - second.baseline).toBeLessThan(rssGrowthBytesMax)

      expect(await gatewayProcess.stop()).toBe(0)
    },
    120_000,
  )
})
