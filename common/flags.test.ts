import { describe, expect, it } from 'vitest'
import { integerFlag } from './flags.ts'

describe('integerFlag', () => {
  const range = { min: 1, max: 10 }
  it('reads absent as undefined and digits within the range as their value', () => {
    expect(integerFlag('n', undefined, range)).toBeUndefined()
    expect(integerFlag('n', '1', range)).toBe(1)
    expect(integerFlag('n', '10', range)).toBe(10)
  })
  it('refuses anything else, naming the flag, the range and the text, with the given error', () => {
    for (const text of ['0', '11', '-1', '1.5', '', ' 2', 'two'])
      expect(() => integerFlag('n', text, range)).toThrow(
        `--n: expected an integer from 1 to 10 (got ${JSON.stringify(text)})`,
      )
    class UsageError extends Error {}
    expect(() => integerFlag('n', '0', range, (message) => new UsageError(message))).toThrow(UsageError)
  })
})
