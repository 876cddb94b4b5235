/**
 * Airlift durations, as Trino and Trino Gateway write them in config files: a decimal number
 * followed by a unit (`500ms`, `1m`, `2.5s`, `1h`, `1d`). The value is kept in milliseconds.
 */
const unitToMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

const durationPattern = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/

export class DurationFormatError extends Error {
  readonly code = 'INVALID_DURATION'
  constructor(readonly input: string) {
    super(
      `invalid duration ${JSON.stringify(input)}: expected a number followed by one of ${Object.keys(unitToMs).join(', ')} (for example 500ms, 1m, 2.5s)`,
    )
  }
}

/** Parses an Airlift duration into milliseconds; throws DurationFormatError naming the input. */
export function parseDurationMs(input: string): number {
  const match = durationPattern.exec(input)
  if (!match) throw new DurationFormatError(input)
  const factor = unitToMs[match[2] as string]
  if (factor === undefined) throw new DurationFormatError(input)
  return Number(match[1]) * factor
}

/** True when the input is a well-formed Airlift duration. */
export function isDuration(input: string): boolean {
  try {
    parseDurationMs(input)
    return true
  } catch {
    return false
  }
}

/** Formats milliseconds in the largest unit that keeps the value whole (Airlift's `succinct` style). */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const factor = unitToMs[unit] as number
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`
  }
  return `${ms}ms`
}
