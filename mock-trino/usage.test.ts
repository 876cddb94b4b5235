import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { parseMockConfig, type RunningMockTrino, startMockTrino } from './index.ts'

/**
 * The coordinator reports the load model's usage to Trino's resource groups: memory of running
 * queries on every tick (against a percentage of mock.yaml's `clusterMemory`), and a query's CPU
 * time when it ends, so CPU and memory limits act in a running mock.
 */

const resourceGroups = {
  rootGroups: [
    { name: 'mem', softMemoryLimit: '50%', hardConcurrencyLimit: 10, maxQueued: 10 },
    { name: 'cpu', softMemoryLimit: '100%', hardConcurrencyLimit: 10, maxQueued: 10, hardCpuLimit: '1s' },
  ],
  selectors: [
    { source: 'mem', group: 'mem' },
    { source: 'cpu', group: 'cpu' },
  ],
  // Regenerates 1 s of CPU quota per 1000 h: a group over its hard limit stays there for the test.
  cpuQuotaPeriod: '1000h',
}

let etc: string
let mock: RunningMockTrino
beforeAll(async () => {
  etc = mkdtempSync(join(tmpdir(), 'mock-usage-'))
  writeFileSync(join(etc, 'resource-groups.json'), JSON.stringify(resourceGroups))
  writeFileSync(
    join(etc, 'resource-groups.properties'),
    `resource-groups.configuration-manager=file\nresource-groups.config-file=${join(etc, 'resource-groups.json')}\n`,
  )
  mock = await startMockTrino({ etcDir: etc, seed: 3, mock: parseMockConfig({ clusterMemory: '1GB' }) })
})
afterAll(async () => {
  await mock?.close()
  rmSync(etc, { recursive: true, force: true })
})

type Results = { id: string; nextUri?: string; stats: { state: string } }

/** POSTs a statement and polls its queued URI once, which submits it to the scheduler. */
async function submit(source: string, sql: string): Promise<Results> {
  const posted = (await (
    await fetch(`${mock.url}/v1/statement`, {
      method: 'POST',
      headers: { 'X-Trino-User': 'u', 'X-Trino-Source': source },
      body: sql,
    })
  ).json()) as Results
  await (await fetch(posted.nextUri as string)).text()
  return posted
}

/** Follows nextUri to the end, bounded. */
async function drain(first: Results): Promise<string> {
  let body = first
  for (let polls = 0; polls < 200 && body.nextUri !== undefined; polls++)
    body = (await (await fetch(body.nextUri)).json()) as Results
  return body.stats.state
}

const stateOf = (queryId: string) => mock.control.queries().find((q) => q.queryId === queryId)
const until = (what: string, probe: () => boolean | Promise<boolean>) =>
  waitFor(probe, { timeoutMs: 5_000, what })

describe('resource-group usage from the load model', () => {
  it('queues a query while the running queries of its group hold more than its softMemoryLimit', async () => {
    const big = await submit('mem', 'SELECT 1 /* mock: duration=60s memory=600MB */')
    await until('the big query running', () => stateOf(big.id)?.state === 'RUNNING')
    // The coordinator reports memory on its next scheduling tick.
    await until('memory reported', async () => {
      const state = (await (await fetch(`${mock.url}/v1/resourceGroupState/mem`)).json()) as {
        memoryUsage: string
      }
      return state.memoryUsage !== '0B'
    })
    const small = await submit('mem', 'SELECT 1 /* mock: duration=0s memory=1MB */')
    expect(stateOf(small.id)?.state).toBe('QUEUED')
    await fetch(`${mock.url}/v1/query/${big.id}`, { method: 'DELETE' })
    await until(
      'the small query admitted once the memory is freed',
      () => stateOf(small.id)?.state !== 'QUEUED',
    )
    expect(await drain(small)).toBe('FINISHED')
    expect(stateOf(small.id)?.queuedMs).toBeGreaterThan(0)
    expect(stateOf(small.id)?.resourceGroupId).toEqual(['mem'])
  })

  it('counts the CPU time a finished query used against its group’s hardCpuLimit', async () => {
    const heavy = await submit('cpu', 'SELECT 1 /* mock: duration=10ms cpu=5s */')
    expect(await drain(heavy)).toBe('FINISHED')
    expect(stateOf(heavy.id)?.cpuTimeMs).toBe(5000)
    const next = await submit('cpu', 'SELECT 1')
    expect(stateOf(next.id)?.state).toBe('QUEUED')
    await fetch(`${mock.url}/v1/query/${next.id}`, { method: 'DELETE' })
    expect(stateOf(next.id)).toMatchObject({ state: 'FAILED', errorName: 'USER_CANCELED' })
    expect(stateOf(next.id)?.queuedMs).toBeGreaterThanOrEqual(0)
  })
})
