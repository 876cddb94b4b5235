/**
 * Turns `dataStore` (Trino Gateway's JDBC URL, user and password) into a `postgres://` URL that
 * `pg` and other processes understand. Pure: no I/O.
 */
import { gatewayError } from '../errors.ts'
import type { DataStoreConfig } from './types.ts'

const postgresDefaultPort = 5432

/** JDBC URL parameters we translate, and the libpq / node-postgres parameter each becomes. */
const jdbcParameterNames: Readonly<Record<string, string>> = {
  user: 'user',
  password: 'password',
  sslmode: 'sslmode',
  ApplicationName: 'application_name',
  currentSchema: 'currentSchema',
}

/**
 * Resolves a configured data store to a `postgres://` URL. JDBC URL parameters win over the
 * `user` / `password` keys, as the PostgreSQL JDBC driver does; a plain `postgres://` URL's own user
 * info wins too.
 */
export function resolvePostgresUrl(dataStore: DataStoreConfig & { jdbcUrl: string }): string {
  const raw = dataStore.jdbcUrl.trim()
  const lower = raw.toLowerCase()
  let url: URL
  if (lower.startsWith('jdbc:postgresql://')) {
    url = parseUrl(`postgres://${raw.slice('jdbc:postgresql://'.length)}`, raw)
    translateJdbcParameters(url, raw)
  } else if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) {
    url = parseUrl(raw, raw)
  } else if (lower.startsWith('jdbc:')) {
    const kind = /^jdbc:([a-z0-9]+)/i.exec(raw)?.[1] ?? 'unknown'
    throw gatewayError(
      'DATASTORE_NOT_SUPPORTED',
      `dataStore.jdbcUrl: only PostgreSQL is supported by trino-gateway-lab (got a jdbc:${kind} URL ${JSON.stringify(redactUrl(raw))}); use jdbc:postgresql://host:port/database or postgres://user@host:port/database`,
      { jdbcUrl: redactUrl(raw) },
    )
  } else {
    throw invalid(raw, 'it must start with jdbc:postgresql:// or postgres://')
  }
  if (url.hostname === '') throw invalid(raw, 'it names no host')
  if (url.hostname.includes(',') || url.port.includes(',')) {
    throw invalid(raw, 'several hosts in one URL are not supported')
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database === '' || database.includes('/'))
    throw invalid(raw, 'it must name one database, as in host:port/database')

  const result = new URL(`postgres://${url.host}/${encodeURIComponent(database)}`)
  if (result.port === '') result.port = String(postgresDefaultPort)
  const user =
    url.searchParams.get('user') ?? (url.username !== '' ? decodeURIComponent(url.username) : dataStore.user)
  const password =
    url.searchParams.get('password') ??
    (url.password !== '' ? decodeURIComponent(url.password) : dataStore.password)
  if (user !== undefined && user !== '') result.username = encodeURIComponent(user)
  if (password !== undefined && password !== '') result.password = encodeURIComponent(password)
  for (const [key, value] of url.searchParams) {
    if (key === 'user' || key === 'password') continue
    result.searchParams.append(key, value)
  }
  return result.toString()
}

/** The URL with its password replaced by `***`, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^/:@]*:)[^@/]*@/, '$1***@').replace(/([?&]password=)[^&]*/i, '$1***')
}

function parseUrl(text: string, original: string): URL {
  try {
    return new URL(text)
  } catch {
    throw invalid(original, 'it is not a well-formed URL')
  }
}

/** JDBC parameters become libpq ones; `ssl=true` means `sslmode=require`, `currentSchema` a search path. */
function translateJdbcParameters(url: URL, original: string): void {
  const translated = new URLSearchParams()
  for (const [key, value] of url.searchParams) {
    if (key === 'ssl') {
      if (value !== 'true' && value !== 'false')
        throw invalid(original, `parameter ssl must be true or false (got ${value})`)
      if (value === 'true' && !url.searchParams.has('sslmode')) translated.set('sslmode', 'require')
      continue
    }
    const name = jdbcParameterNames[key]
    if (name === undefined) {
      throw invalid(
        original,
        `parameter ${key} is not supported; supported: ssl, ${Object.keys(jdbcParameterNames).join(', ')}`,
      )
    }
    if (name === 'currentSchema') translated.set('options', `-c search_path=${value}`)
    else translated.set(name, value)
  }
  url.search = translated.toString()
}

function invalid(jdbcUrl: string, why: string) {
  return gatewayError(
    'DATASTORE_URL_INVALID',
    `dataStore.jdbcUrl ${JSON.stringify(redactUrl(jdbcUrl))} is not usable: ${why} (expected jdbc:postgresql://host:port/database[?user=..&password=..] or postgres://user:password@host:port/database)`,
    { jdbcUrl: redactUrl(jdbcUrl) },
  )
}
