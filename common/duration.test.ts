import { describe, expect, it } from 'vitest'
import { formatDurationMs, parseDurationMs } from './duration.ts'

describe('Airlift durations', () => {
  it.each([
    ['500ms', 500],
    ['1m', 60_000],
    ['2.5s', 2500],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['100us', 0.1],
  ])('parses %s as %d ms', (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms)
  })

  it.each(['', '5', 'ms', '1 minute', '-1s', '1x'])('refuses %j naming the input', (input) => {
    expect(() => parseDurationMs(input)).toThrow(JSON.stringify(input))
  })

  it('formats whole units succinctly', () => {
    expect(formatDurationMs(120_000)).toBe('2m')
    expect(formatDurationMs(1500)).toBe('1500ms')
  })
})
