/**
 * What write-behind query_history costs in durability, shown on real gateway processes under load:
 * a graceful stop (SIGTERM) writes every buffered row, and a SIGKILL loses at most the rows that
 * were buffered (the `rows_pending` metric) when it struck. The database's writes are held back by
 * a table lock during the kill, so there is a buffer to lose; without it the loss is usually zero
 * and the test would show nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../common/wait.ts'
import { openTestDatabase, type TestDatabase } from '../test-support/database.ts'
import { historyBufferRowsMax } from './store/history-writer.ts'
import { type FakeTrino, startFakeTrino } from './test-support/fake-trino.ts'
import { addBackend, stateOf } from './test-support/gateway.ts'
import { historyFigures, lockHistory, startLoad, storedIds } from './test-support/history-load.ts'
import { type GatewayProcess, processConfigLines, startGatewayProcess } from './test-support/process.ts'

/** Statement submissions in flight at once. */
const loadConnections = 8
/** Submissions answered before the gateway is stopped (bounds the test's traffic). */
const answeredBeforeStop = 150

let database: TestDatabase
let workDir: string
let backend: FakeTrino
const gateways: GatewayProcess[] = []

beforeAll(async () => {
  database = await openTestDatabase()
  workDir = await mkdtemp(join(tmpdir(), 'tgl-history-durability-'))
  backend = await startFakeTrino('d1')
})

afterAll(async () => {
  for (const gateway of gateways) {
    if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
      try {
        process.kill(gateway.pid, 'SIGKILL')
      } catch {
        // Gone already.
      }
    }
  }
  await backend?.close()
  await database?.close()
  await rm(workDir, { recursive: true, force: true })
})

async function gatewayProcess(name: string): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess({
    configPath: join(workDir, `${name}.yaml`),
    configLines: processConfigLines(database.url, '1h'),
    seed: 11,
  })
  gateways.push(gateway)
  return gateway
}

async function metrics(url: string): Promise<{ pending: number; written: number }> {
  return historyFigures(await (await fetch(`${url}/metrics`)).text())
}

async function healthy(gateway: GatewayProcess): Promise<void> {
  await waitFor(async () => (await stateOf(gateway.url, backend.name)) === 'HEALTHY', {
    timeoutMs: 20_000,
    what: `${backend.name} HEALTHY on ${gateway.url}`,
  })
}

describe('write-behind query_history on gateway processes', () => {
  it('loses no row on a graceful stop under load, writing the buffer after the stop signal', async () => {
    const gateway = await gatewayProcess('graceful')
    await addBackend(gateway.url, { name: backend.name, proxyTo: backend.url })
    await healthy(gateway)
    const load = startLoad(gateway.url, loadConnections)
    await waitFor(() => load.answered.length >= answeredBeforeStop / 2, {
      timeoutMs: 30_000,
      what: 'submissions answered before the stall',
    })
    // Stall the writes so that the stop finds a full buffer to write.
    const locker = await lockHistory(database.url)
    let pendingAtStop: number
    let exitCode: number | null
    try {
      const answeredAtLock = load.answered.length
      await waitFor(() => load.answered.length >= answeredAtLock + answeredBeforeStop / 2, {
        timeoutMs: 30_000,
        what: 'submissions answered during the stall',
      })
      pendingAtStop = (await metrics(gateway.url)).pending
      const stopped = gateway.stop()
      await load.stop()
      await locker.release()
      exitCode = await stopped
    } finally {
      await locker.release()
    }
    expect(exitCode).toBe(0)
    const stored = await storedIds(database.url, load.answered)
    const missing = load.answered.filter((id) => !stored.has(id))
    console.log(
      `graceful stop: ${load.answered.length} submissions answered, ${pendingAtStop} rows pending at SIGTERM, ${missing.length} rows missing`,
    )
    expect(pendingAtStop).toBeGreaterThan(0)
    expect(missing).toEqual([])
  }, 90_000)

  it('loses at most the buffered rows on SIGKILL under load', async () => {
    const gateway = await gatewayProcess('killed')
    await healthy(gateway)
    const load = startLoad(gateway.url, loadConnections)
    await waitFor(() => load.answered.length >= answeredBeforeStop / 2, {
      timeoutMs: 30_000,
      what: 'submissions answered before the stall',
    })
    // Hold the gateway's writes back: its INSERTs wait for this transaction's lock.
    const locker = await lockHistory(database.url)
    let atScrape: { pending: number; written: number; answered: number }
    try {
      const answeredAtLock = load.answered.length
      await waitFor(() => load.answered.length >= answeredAtLock + answeredBeforeStop / 2, {
        timeoutMs: 30_000,
        what: 'submissions answered during the stall',
      })
      const figures = await metrics(gateway.url)
      atScrape = { ...figures, answered: load.answered.length }
      // The gateway's own process (tsx runs it as a child of the spawned one), as a crash would end it.
      process.kill(gateway.pid, 'SIGKILL')
      await waitFor(() => gateway.child.exitCode !== null || gateway.child.signalCode !== null, {
        timeoutMs: 10_000,
        what: 'the killed gateway to exit',
      })
      await load.stop()
    } finally {
      await locker.release()
    }
    const stored = await storedIds(database.url, load.answered)
    const missing = load.answered.filter((id) => !stored.has(id))
    const answeredAfterScrape = load.answered.length - atScrape.answered
    console.log(
      `SIGKILL: ${load.answered.length} submissions answered; at the last scrape ${atScrape.pending} rows pending, ${atScrape.written} written; ${answeredAfterScrape} answered after it; ${missing.length} rows missing`,
    )
    // The stall left rows in the buffer, and they are what was lost: no more than the buffer held.
    expect(atScrape.pending).toBeGreaterThan(0)
    expect(missing.length).toBeGreaterThan(0)
    expect(missing.length).toBeLessThanOrEqual(atScrape.pending + answeredAfterScrape)
    expect(missing.length).toBeLessThanOrEqual(historyBufferRowsMax)
    // Every row the gateway had reported written is there.
    expect(stored.size).toBeGreaterThanOrEqual(atScrape.written)
  }, 90_000)
})
