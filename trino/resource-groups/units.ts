/**
 * Airlift `DataSize` (binary units, as Trino writes `softMemoryLimit: "1GB"`) and the airlift
 * string forms Trino's JSON uses for sizes and durations in `/v1/resourceGroupState`.
 */
const dataSizeUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const
const dataSizePattern = /^\s*(\d+(?:\.\d+)?)\s*(B|kB|MB|GB|TB|PB)\s*$/

/** Parses `512MB`, `1.5GB`, `10B` into bytes (1 kB = 1024 B, as airlift); undefined when malformed. */
export function parseDataSizeBytes(input: string): number | undefined {
  const match = dataSizePattern.exec(input)
  if (!match) return undefined
  const exponent = dataSizeUnits.indexOf(match[2] as (typeof dataSizeUnits)[number])
  return Math.floor(Number(match[1]) * 1024 ** exponent)
}

/** Airlift's succinct DataSize string: the largest unit with a value >= 1, whole or to 2 decimals. */
export function formatDataSize(bytes: number): string {
  let exponent = 0
  while (exponent < dataSizeUnits.length - 1 && bytes >= 1024 ** (exponent + 1)) exponent++
  const value = bytes / 1024 ** exponent
  const unit = dataSizeUnits[exponent] as string
  return Number.isInteger(value) ? `${value}${unit}` : `${value.toFixed(2)}${unit}`
}

const durationUnitsFromNs: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400e9],
  ['h', 3_600e9],
  ['m', 60e9],
  ['s', 1e9],
  ['ms', 1e6],
  ['us', 1e3],
]

/** Airlift's succinct Duration string (`"%.2f"` + the largest unit with a value >= 1); 0 is `0.00ns`. */
export function formatDurationSuccinct(ms: number): string {
  const ns = ms * 1e6
  for (const [unit, factor] of durationUnitsFromNs) {
    if (ns >= factor) return `${(ns / factor).toFixed(2)}${unit}`
  }
  return `${ns.toFixed(2)}ns`
}
