import { describe, expect, it } from 'vitest'
import { createWriteBehind, WriteBehindFullError, type WriteBehindOptions } from './write-behind.ts'

/** A write the test controls: it records batches and waits until the test releases it. */
function controlledWrite(
  behaviour: (batch: readonly number[]) => 'ok' | 'transient' | 'refused' = () => 'ok',
) {
  const batches: number[][] = []
  const releases: Array<() => void> = []
  const committed: number[] = []
  const write = (batch: readonly number[]) => {
    batches.push([...batch])
    return new Promise<void>((resolve, reject) => {
      releases.push(() => {
        const outcome = behaviour(batch)
        if (outcome === 'ok') {
          committed.push(...batch)
          resolve()
        } else reject(Object.assign(new Error(outcome), { kind: outcome }))
      })
    })
  }
  const releaseOne = async () => {
    releases.shift()?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const releaseAll = async () => {
    for (let round = 0; round < 1000 && releases.length > 0; round++) await releaseOne()
  }
  return { write, batches, committed, releaseOne, releaseAll, inFlight: () => releases.length }
}

function options(
  write: WriteBehindOptions<number>['write'],
  overrides: Partial<WriteBehindOptions<number>> = {},
): WriteBehindOptions<number> {
  return {
    write,
    bufferItemsMax: 100,
    bufferBytesMax: 1_000_000,
    sizeOf: () => 1,
    batchItemsMax: 10,
    writeIntervalMs: 0,
    submitWaitMsMax: 1_000,
    retryDelayMsMin: 1,
    retryDelayMsMax: 4,
    isRejected: (error) => (error as { kind?: string }).kind === 'refused',
    onWriteFailed: () => {},
    onRejected: () => {},
    ...overrides,
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('write-behind buffer', () => {
  it('accepts items without waiting for their write, and writes them in batches, oldest first', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(options(control.write, { batchItemsMax: 3 }))
    for (let item = 1; item <= 7; item++) await writer.submit(item)
    expect(control.committed).toEqual([])
    expect(writer.stats().pendingItems).toBe(7)
    await control.releaseAll()
    expect(control.batches).toEqual([[1], [2, 3, 4], [5, 6, 7]])
    expect(writer.stats()).toMatchObject({ pendingItems: 0, writtenItems: 7, writeFailures: 0 })
  })

  it('makes a submission wait while the buffer is full, and lets it in when a write makes room', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(options(control.write, { bufferItemsMax: 3, batchItemsMax: 3 }))
    for (const item of [1, 2, 3]) await writer.submit(item)
    let admitted = false
    const waiting = writer.submit(4).then(() => {
      admitted = true
    })
    await tick()
    expect(admitted).toBe(false)
    expect(writer.stats()).toMatchObject({ pendingItems: 3, submitWaits: 1 })
    await control.releaseOne() // [1] written: room for one
    await waiting
    expect(admitted).toBe(true)
    await control.releaseAll()
    expect(control.committed).toEqual([1, 2, 3, 4])
  })

  it('offer takes an item only when a submission would not wait, and never jumps a waiting one', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(options(control.write, { bufferItemsMax: 2, batchItemsMax: 1 }))
    expect(writer.offer(1)).toBe(true)
    expect(writer.offer(2)).toBe(true)
    expect(writer.offer(3)).toBe(false) // full
    const waiting = writer.submit(3)
    await control.releaseOne() // [1] written: room for one, which the waiting submission takes
    await waiting
    expect(writer.offer(4)).toBe(false) // full again: [2, 3]
    await control.releaseAll()
    expect(control.committed).toEqual([1, 2, 3])
    expect(writer.offer(5)).toBe(true)
    const closing = writer.close(1_000)
    expect(writer.offer(6)).toBe(false)
    await control.releaseAll()
    expect(await closing).toEqual([])
    expect(control.committed).toEqual([1, 2, 3, 5])
  })

  it('fails a submission that found no room within submitWaitMsMax, dropping nothing already buffered', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(options(control.write, { bufferItemsMax: 2, submitWaitMsMax: 20 }))
    await writer.submit(1)
    await writer.submit(2)
    await expect(writer.submit(3)).rejects.toBeInstanceOf(WriteBehindFullError)
    await control.releaseAll()
    expect(control.committed).toEqual([1, 2])
  })

  it('bounds the buffer in bytes too', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(
      options(control.write, { bufferBytesMax: 10, sizeOf: (item) => item, submitWaitMsMax: 20 }),
    )
    await writer.submit(6)
    await expect(writer.submit(5)).rejects.toBeInstanceOf(WriteBehindFullError)
    await writer.submit(4)
    await control.releaseAll()
    expect(control.committed).toEqual([6, 4])
  })

  it('lets a waiting submission in only when the bytes bound has room for it', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(
      options(control.write, { bufferBytesMax: 10, sizeOf: (item) => item, batchItemsMax: 1 }),
    )
    await writer.submit(4)
    await writer.submit(5)
    let admitted = false
    const waiting = writer.submit(6).then(() => {
      admitted = true
    })
    await control.releaseOne() // 4 written: 5 buffered, 5 + 6 > 10
    expect(admitted).toBe(false)
    await control.releaseOne() // 5 written: room for 6
    await waiting
    expect(admitted).toBe(true)
    await control.releaseAll()
    expect(control.committed).toEqual([4, 5, 6])
  })

  it('keeps a batch whose write failed transiently and retries it until it is written', async () => {
    let failures = 2
    const reports: number[] = []
    const control = controlledWrite(() => (failures-- > 0 ? 'transient' : 'ok'))
    const writer = createWriteBehind(
      options(control.write, {
        onWriteFailed: (_error, batch, _pending, retryInMs) => reports.push(batch, retryInMs),
      }),
    )
    await writer.submit(1)
    await writer.submit(2)
    for (let round = 0; round < 100 && control.committed.length < 2; round++) {
      await control.releaseAll()
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(control.committed).toEqual([1, 2])
    // [batch items, retry delay] per failure: the retry takes in what arrived meanwhile; the delay doubles.
    expect(reports).toEqual([1, 1, 2, 2])
    expect(writer.stats()).toMatchObject({
      pendingItems: 0,
      writtenItems: 2,
      writeFailures: 2,
      rejectedItems: 0,
    })
  })

  it('drops only the item the database refuses on its own, and reports it', async () => {
    const rejected: number[] = []
    const control = controlledWrite((batch) => (batch.includes(13) ? 'refused' : 'ok'))
    const writer = createWriteBehind(options(control.write, { onRejected: (item) => rejected.push(item) }))
    await writer.submit(1)
    for (const item of [12, 13, 14]) await writer.submit(item)
    await control.releaseAll()
    expect(control.committed).toEqual([1, 12, 14])
    expect(rejected).toEqual([13])
    expect(writer.stats()).toMatchObject({ pendingItems: 0, writtenItems: 3, rejectedItems: 1 })
  })

  it('writes everything buffered on close, and refuses items after it', async () => {
    const writes: number[][] = []
    const writer = createWriteBehind(
      options(async (batch) => {
        await new Promise((resolve) => setTimeout(resolve, 2))
        writes.push([...batch])
      }),
    )
    for (let item = 0; item < 25; item++) await writer.submit(item)
    expect(await writer.close(5_000)).toEqual([])
    expect(writes.flat()).toEqual(Array.from({ length: 25 }, (_, item) => item))
    await expect(writer.submit(99)).rejects.toThrow('closed')
  })

  it('gives up at the close deadline and returns what could not be written', async () => {
    const writer = createWriteBehind(
      options(() => Promise.reject(Object.assign(new Error('connection refused'), { kind: 'transient' }))),
    )
    for (const item of [1, 2, 3]) await writer.submit(item)
    const started = Date.now()
    expect(await writer.close(50)).toEqual([1, 2, 3])
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('with a write interval, items arriving between two writes go out in one batch', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(options(control.write, { writeIntervalMs: 60_000, batchItemsMax: 100 }))
    await writer.submit(1)
    // After an idle spell the first item goes at once; the next ones wait out the interval.
    expect(control.batches).toEqual([[1]])
    await control.releaseOne()
    for (const item of [2, 3, 4]) await writer.submit(item)
    await tick()
    expect(control.batches).toEqual([[1]])
    expect(writer.stats().pendingItems).toBe(3)
    // close() does not wait out the interval.
    const closing = writer.close(5_000)
    await tick()
    expect(control.batches).toEqual([[1], [2, 3, 4]])
    await control.releaseAll()
    expect(await closing).toEqual([])
    expect(control.committed).toEqual([1, 2, 3, 4])
  })

  it('a full batch does not wait out the write interval', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(options(control.write, { writeIntervalMs: 60_000, batchItemsMax: 3 }))
    await writer.submit(1)
    await control.releaseOne()
    for (const item of [2, 3]) await writer.submit(item)
    await tick()
    expect(control.batches).toEqual([[1]])
    await writer.submit(4)
    await tick()
    expect(control.batches).toEqual([[1], [2, 3, 4]])
    await control.releaseAll()
    expect(control.committed).toEqual([1, 2, 3, 4])
  })

  it('the write interval is measured from the start of the last write', async () => {
    const control = controlledWrite()
    const writer = createWriteBehind(options(control.write, { writeIntervalMs: 30, batchItemsMax: 100 }))
    await writer.submit(1)
    await control.releaseOne()
    await writer.submit(2)
    await tick()
    expect(control.batches).toEqual([[1]])
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(control.batches).toEqual([[1], [2]])
    await control.releaseAll()
    expect(await writer.close(1_000)).toEqual([])
  })
})
