import { parseDurationMs } from '../../common/duration.ts'
import { parseDataSizeBytes } from '../../trino/resource-groups/units.ts'
import { isTrinoErrorName, type TrinoErrorName } from '../errors.ts'
import { peakMemoryBytesMax } from './model.ts'

/**
 * Per-query directives in a SQL comment, exactly
 * `/* mock: duration=<Airlift duration> rows=<n> fail=<TRINO_ERROR_NAME> cpu=<Airlift duration>
 * memory=<Airlift data size> *\/`, every key optional, in any order.
 */
export interface Directive {
  durationMs?: number
  rows?: number
  fail?: TrinoErrorName
  /** Total CPU time of the query (accrues evenly over its duration). */
  cpuTimeMs?: number
  /** Memory held while the query runs. */
  peakMemoryBytes?: number
}

export type DirectiveResult = { ok: true; directive: Directive | undefined } | { ok: false; message: string }

/** The largest row count a directive may ask for, so one query cannot exhaust the mock's memory. */
export const directiveRowsMax = 10_000_000

const directivePattern = /\/\*\s*mock:([\s\S]*?)\*\//
const rowsPattern = /^\d+$/
const keys = ['duration', 'rows', 'fail', 'cpu', 'memory'] as const

/** Finds and parses the first `mock:` comment; a malformed one yields a message naming the bad key. */
export function parseDirective(sql: string): DirectiveResult {
  // Fast path: most statements carry no directive at all.
  if (!sql.includes('mock:')) return { ok: true, directive: undefined }
  const match = directivePattern.exec(sql)
  if (!match) return { ok: true, directive: undefined }
  const body = (match[1] as string).trim()
  const directive: Directive = {}
  const seen = new Set<string>()
  if (body === '') return { ok: true, directive }
  for (const part of body.split(/\s+/)) {
    const equals = part.indexOf('=')
    const key = equals < 0 ? part : part.slice(0, equals)
    const value = equals < 0 ? undefined : part.slice(equals + 1)
    if (!(keys as readonly string[]).includes(key)) {
      return fail(key, part, `unknown key; expected one of ${keys.join(', ')}`)
    }
    if (seen.has(key)) return fail(key, part, 'key given twice')
    seen.add(key)
    if (value === undefined || value === '') return fail(key, part, 'missing value after "="')
    switch (key) {
      case 'duration': {
        try {
          directive.durationMs = parseDurationMs(value)
        } catch {
          return fail(key, value, 'expected an Airlift duration such as 300ms, 2s or 1m')
        }
        break
      }
      case 'rows': {
        const rows = Number(value)
        if (!rowsPattern.test(value) || rows > directiveRowsMax) {
          return fail(key, value, `expected a whole number of rows from 0 to ${directiveRowsMax}`)
        }
        directive.rows = rows
        break
      }
      case 'fail': {
        if (!isTrinoErrorName(value))
          return fail(key, value, 'expected a Trino error name such as QUERY_REJECTED')
        directive.fail = value
        break
      }
      case 'cpu': {
        try {
          directive.cpuTimeMs = parseDurationMs(value)
        } catch {
          return fail(key, value, 'expected an Airlift duration of CPU time such as 500ms or 2s')
        }
        break
      }
      case 'memory': {
        const bytes = parseDataSizeBytes(value)
        if (bytes === undefined || bytes > peakMemoryBytesMax) {
          return fail(key, value, 'expected an Airlift data size up to 1PB such as 512MB or 2GB')
        }
        directive.peakMemoryBytes = bytes
        break
      }
    }
  }
  return { ok: true, directive }
}

function fail(key: string, value: string, expected: string): DirectiveResult {
  return {
    ok: false,
    message: `mock directive: bad key "${key}" (got ${JSON.stringify(value)}): ${expected}`,
  }
}
