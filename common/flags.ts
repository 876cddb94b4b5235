/**
 * Command-line integer flags, read the same way by every program: decimal digits only, within
 * [min, max]; anything else is refused with a message naming the flag, the range and the text.
 */
export function integerFlag(
  flag: string,
  text: string | undefined,
  range: { min: number; max: number },
  fail: (message: string) => Error = (message) => new Error(message),
): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < range.min || value > range.max) {
    throw fail(
      `--${flag}: expected an integer from ${range.min} to ${range.max} (got ${JSON.stringify(text)})`,
    )
  }
  return value
}
