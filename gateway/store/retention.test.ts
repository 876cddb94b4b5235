import { describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import { historyCutoffMs, startHistoryRetention } from './retention.ts'

describe('historyCutoffMs', () => {
  it.each([
    [10 * 3_600_000, 4, 6 * 3_600_000],
    [1_700_000_000_000, 1, 1_700_000_000_000 - 3_600_000],
  ])('at %d with %d hours of retention is %d', (nowMs, hours, expected) => {
    expect(historyCutoffMs(nowMs, hours)).toBe(expected)
  })
})

describe('startHistoryRetention', () => {
  it('deletes past the retention every round, keeps going after a failed round, and stops', async () => {
    const cutoffs: number[] = []
    const errors: string[] = []
    const retention = startHistoryRetention({
      history: {
        async deleteCreatedBefore(epochMs) {
          cutoffs.push(epochMs)
          if (cutoffs.length === 2) throw new Error('database away')
          return 3
        },
      },
      hoursRetention: 2,
      initialDelayMs: 0,
      periodMs: 1,
      now: () => 10 * 3_600_000,
      logger: { info() {}, warn() {}, error: (_fields, message) => errors.push(message) },
    })
    await waitFor(() => retention.rounds >= 3, { timeoutMs: 5_000, what: 'three retention rounds' })
    await retention.stop()
    const roundsAtStop = retention.rounds
    expect(cutoffs.slice(0, 3)).toEqual([8 * 3_600_000, 8 * 3_600_000, 8 * 3_600_000])
    expect(errors).toEqual(['query history retention failed; retrying next round'])
    // No round starts after stop() resolved: the count stays put while the event loop turns.
    await new Promise((resolve) => setImmediate(resolve))
    expect(retention.rounds).toBe(roundsAtStop)
    expect(cutoffs).toHaveLength(roundsAtStop)
  })

  it('runs no round before its initial delay', async () => {
    let calls = 0
    const retention = startHistoryRetention({
      history: {
        async deleteCreatedBefore() {
          calls++
          return 0
        },
      },
      hoursRetention: 4,
    })
    await retention.stop()
    expect(calls).toBe(0)
    expect(retention.rounds).toBe(0)
  })
})
