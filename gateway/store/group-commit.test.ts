import { describe, expect, it } from 'vitest'
import { createGroupCommit } from './group-commit.ts'

/** A flush the test releases by hand, recording every batch it was given. */
function controlledFlush(failing: ReadonlySet<number> = new Set()) {
  const batches: number[][] = []
  const releases: Array<() => void> = []
  const flush = (batch: readonly number[]) => {
    batches.push([...batch])
    return new Promise<void>((resolve, reject) => {
      releases.push(() =>
        batch.some((item) => failing.has(item)) ? reject(new Error('bad row')) : resolve(),
      )
    })
  }
  const releaseAll = async () => {
    while (releases.length > 0) {
      for (const release of releases.splice(0)) release()
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  return { flush, batches, releaseAll }
}

describe('group commit of durable writes', () => {
  it('writes a lone item at once, and items arriving while it is in flight together after it', async () => {
    const { flush, batches, releaseAll } = controlledFlush()
    const write = createGroupCommit({ flush, batchItemsMax: 100, flushesInFlightMax: 1 })
    const done: number[] = []
    const first = write(1).then(() => done.push(1))
    const rest = [2, 3, 4].map((item) => write(item).then(() => done.push(item)))
    expect(batches).toEqual([[1]])
    expect(done).toEqual([])
    await releaseAll()
    await Promise.all([first, ...rest])
    expect(batches).toEqual([[1], [2, 3, 4]])
    expect(done.sort()).toEqual([1, 2, 3, 4])
  })

  it('resolves no caller before the statement holding its item has committed', async () => {
    const { flush, releaseAll } = controlledFlush()
    const write = createGroupCommit({ flush, batchItemsMax: 10, flushesInFlightMax: 2 })
    let resolved = false
    const pending = write(1).then(() => {
      resolved = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(resolved).toBe(false)
    await releaseAll()
    await pending
    expect(resolved).toBe(true)
  })

  it('keeps batches within the bound and statements in flight within theirs', async () => {
    const { flush, batches, releaseAll } = controlledFlush()
    const write = createGroupCommit({ flush, batchItemsMax: 3, flushesInFlightMax: 2 })
    const all = Array.from({ length: 10 }, (_, i) => write(i))
    expect(batches).toEqual([[0], [1]])
    await releaseAll()
    await Promise.all(all)
    expect(batches.every((batch) => batch.length <= 3)).toBe(true)
    expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i))
  })

  it('fails only the bad item of a batch: the others are written alone and succeed', async () => {
    const { flush, releaseAll } = controlledFlush(new Set([3]))
    const write = createGroupCommit({ flush, batchItemsMax: 10, flushesInFlightMax: 1 })
    const outcomes = [1, 2, 3, 4].map((item) =>
      write(item).then(
        () => 'ok',
        (error: Error) => error.message,
      ),
    )
    await releaseAll()
    expect(await Promise.all(outcomes)).toEqual(['ok', 'ok', 'bad row', 'ok'])
  })
})
