import { parseDurationMs } from '../../common/duration.ts'

/**
 * Reads a statement POST's session headers the way Trino's `HttpRequestSessionContextFactory`
 * does. Pure: headers in, session or Trino's 400/401 text out.
 */

export type Headers = Readonly<Record<string, string | string[] | undefined>>

export interface ResourceEstimate {
  executionTimeMs?: number
  cpuTimeMs?: number
  peakMemoryBytes?: number
}

export interface StatementSession {
  user: string
  source?: string
  catalog?: string
  schema?: string
  clientTags: string[]
  clientInfo?: string
  traceToken?: string
  sessionProperties: Record<string, string>
  resourceEstimate: ResourceEstimate
  /** Prepared statements by name (`X-Trino-Prepared-Statement`), SQL decoded. */
  preparedStatements: Record<string, string>
}

export type SessionResult =
  | { ok: true; session: StatementSession }
  | { ok: false; statusCode: 400 | 401; message: string; headers?: Record<string, string> }

function single(headers: Headers, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.join(',') : value
}

function nonEmpty(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

const dataSizeUnits: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
  PB: 1024 ** 5,
}

/** Parses an Airlift data size (`512MB`, `1.5GB`) into bytes; undefined when malformed. */
export function parseDataSizeBytes(input: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(B|kB|MB|GB|TB|PB)\s*$/.exec(input)
  if (!match) return undefined
  return Math.round(Number(match[1]) * (dataSizeUnits[match[2] as string] as number))
}

function decode(value: string): string | undefined {
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

function basicUser(authorization: string | undefined): { user?: string; passwordGiven: boolean } {
  if (authorization === undefined || !/^basic /i.test(authorization)) return { passwordGiven: false }
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const user = colon < 0 ? decoded : decoded.slice(0, colon)
  const password = colon < 0 ? '' : decoded.slice(colon + 1)
  return user === '' ? { passwordGiven: password !== '' } : { user, passwordGiven: password !== '' }
}

const unauthorized = (message: string): SessionResult => ({
  ok: false,
  statusCode: 401,
  message,
  headers: { 'www-authenticate': 'Basic realm="Trino"' },
})
const badRequest = (message: string): SessionResult => ({ ok: false, statusCode: 400, message })

export function parseSession(headers: Headers): SessionResult {
  // Insecure authentication over HTTP: the user comes from Basic auth (no password allowed) or X-Trino-User.
  const basic = basicUser(single(headers, 'authorization'))
  if (basic.passwordGiven) return unauthorized('Password not allowed for insecure authentication')
  const headerUser = nonEmpty(single(headers, 'x-trino-user'))
  const user = headerUser ?? basic.user
  if (user === undefined) return unauthorized('Basic authentication or X-Trino-User must be sent')

  const catalog = nonEmpty(single(headers, 'x-trino-catalog'))
  const schema = nonEmpty(single(headers, 'x-trino-schema'))
  if (schema !== undefined && catalog === undefined) return badRequest('Schema is set but catalog is not')

  const sessionProperties: Record<string, string> = {}
  const sessionHeader = single(headers, 'x-trino-session')
  if (sessionHeader !== undefined) {
    for (const part of sessionHeader.split(',')) {
      if (part.trim() === '') continue
      const equals = part.indexOf('=')
      const name = equals < 0 ? '' : part.slice(0, equals).trim()
      const value = equals < 0 ? undefined : decode(part.slice(equals + 1).trim())
      if (name === '' || value === undefined) return badRequest('Invalid X-Trino-Session header')
      sessionProperties[name] = value
    }
  }

  const resourceEstimate: ResourceEstimate = {}
  const estimateHeader = single(headers, 'x-trino-resource-estimate')
  if (estimateHeader !== undefined) {
    for (const part of estimateHeader.split(',')) {
      if (part.trim() === '') continue
      const equals = part.indexOf('=')
      const name = (equals < 0 ? part : part.slice(0, equals)).trim().toUpperCase()
      const value = equals < 0 ? '' : part.slice(equals + 1).trim()
      try {
        if (name === 'EXECUTION_TIME') resourceEstimate.executionTimeMs = parseDurationMs(value)
        else if (name === 'CPU_TIME') resourceEstimate.cpuTimeMs = parseDurationMs(value)
        else if (name === 'PEAK_MEMORY') {
          const bytes = parseDataSizeBytes(value)
          if (bytes === undefined) return badRequest(`Invalid X-Trino-Resource-Estimate header`)
          resourceEstimate.peakMemoryBytes = bytes
        } else return badRequest(`Unsupported resource name ${name}`)
      } catch {
        return badRequest('Invalid X-Trino-Resource-Estimate header')
      }
    }
  }

  const preparedStatements: Record<string, string> = {}
  const preparedHeader = single(headers, 'x-trino-prepared-statement')
  if (preparedHeader !== undefined) {
    for (const part of preparedHeader.split(',')) {
      if (part.trim() === '') continue
      const equals = part.indexOf('=')
      const name = equals < 0 ? undefined : decode(part.slice(0, equals).trim())
      const sql = equals < 0 ? undefined : decode(part.slice(equals + 1).trim())
      if (name === undefined || name === '' || sql === undefined) {
        return badRequest('Invalid X-Trino-Prepared-Statement header')
      }
      preparedStatements[name] = sql
    }
  }

  const clientTags = (single(headers, 'x-trino-client-tags') ?? '')
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '')

  const session: StatementSession = {
    user,
    clientTags: [...new Set(clientTags)],
    sessionProperties,
    resourceEstimate,
    preparedStatements,
  }
  // X-Trino-Source is taken verbatim by Trino; the others are trimmed, empty meaning absent.
  const source = single(headers, 'x-trino-source')
  if (source !== undefined && source !== '') session.source = source
  if (catalog !== undefined) session.catalog = catalog
  if (schema !== undefined) session.schema = schema
  const clientInfo = single(headers, 'x-trino-client-info')
  if (clientInfo !== undefined && clientInfo !== '') session.clientInfo = clientInfo
  const traceToken = nonEmpty(single(headers, 'x-trino-trace-token'))
  if (traceToken !== undefined) session.traceToken = traceToken
  return { ok: true, session }
}
