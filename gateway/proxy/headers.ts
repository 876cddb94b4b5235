/**
 * Request and response headers of the proxied exchange (reference §5.3). Pure.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

/** Hop-by-hop headers (RFC 9110 §7.6.1) never cross the proxy; undici refuses some of them anyway. */
const hopByHopHeaders: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

export const viaHeaderValue = 'HTTP/1.1 TrinoGateway'

/**
 * Request headers (lower case) that never reach the backend: Host (the backend's own is sent),
 * Accept-Encoding (answers must stay readable for the nextUri rewrite), Expect (the gateway's HTTP
 * server already answered `100-continue` and read the body; undici refuses the header, which made
 * such a POST a 502) and the hop-by-hop ones.
 */
export function isUnforwardedRequestHeader(lower: string): boolean {
  return lower === 'host' || lower === 'accept-encoding' || lower === 'expect' || hopByHopHeaders.has(lower)
}

export interface ForwardContext {
  forwardedHeadersEnabled: boolean
  clientAddress: string
  /** `http` (the gateway serves plain HTTP). */
  scheme: string
  serverPort: number
}

/** Headers sent to the backend: the client's minus Host, Accept-Encoding and hop-by-hop ones. */
export function backendRequestHeaders(
  incoming: IncomingHttpHeaders,
  context: ForwardContext,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue
    const lower = name.toLowerCase()
    if (isUnforwardedRequestHeader(lower)) continue
    if (!context.forwardedHeadersEnabled && (lower === 'forwarded' || lower.startsWith('x-forwarded-')))
      continue
    headers[lower] = Array.isArray(value) ? value.join(', ') : value
  }
  headers.via = headers.via === undefined ? viaHeaderValue : `${headers.via}, ${viaHeaderValue}`
  if (context.forwardedHeadersEnabled) {
    const host = serverNameOf(firstHeader(incoming.host) ?? '')
    append(headers, 'x-forwarded-for', context.clientAddress)
    append(headers, 'x-forwarded-proto', context.scheme)
    append(headers, 'x-forwarded-port', String(context.serverPort))
    if (host !== '') append(headers, 'x-forwarded-host', host)
  }
  for (const [name, value] of Object.entries(extra)) headers[name.toLowerCase()] = value
  return headers
}

/** Headers sent to the client: the backend's minus hop-by-hop ones. */
export function clientResponseHeaders(
  incoming: Readonly<Record<string, string | string[] | undefined>>,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || hopByHopHeaders.has(name.toLowerCase())) continue
    headers[name] = value
  }
  return headers
}

/**
 * The origin the client used to reach the gateway: `X-Forwarded-Proto`/`-Host` of a load balancer
 * in front (first value) when forwarded headers are honoured, else the Host header.
 */
export function gatewayOriginOf(
  incoming: IncomingHttpHeaders,
  forwardedHeadersEnabled: boolean,
  fallbackHost: string,
): string {
  const forwardedHost = forwardedHeadersEnabled
    ? firstValue(firstHeader(incoming['x-forwarded-host']))
    : undefined
  const forwardedProto = forwardedHeadersEnabled
    ? firstValue(firstHeader(incoming['x-forwarded-proto']))
    : undefined
  const forwardedPort = forwardedHeadersEnabled
    ? firstValue(firstHeader(incoming['x-forwarded-port']))
    : undefined
  const scheme = forwardedProto === 'https' ? 'https' : 'http'
  let host = forwardedHost ?? firstHeader(incoming.host) ?? fallbackHost
  if (forwardedHost !== undefined && forwardedPort !== undefined && !/:\d+$/.test(forwardedHost)) {
    const defaultPort = scheme === 'https' ? '443' : '80'
    if (forwardedPort !== defaultPort) host = `${forwardedHost}:${forwardedPort}`
  }
  return `${scheme}://${host}`
}

function append(headers: Record<string, string>, name: string, value: string): void {
  const existing = headers[name]
  headers[name] = existing === undefined || existing === '' ? value : `${existing}, ${value}`
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function firstValue(value: string | undefined): string | undefined {
  const first = value?.split(',')[0]?.trim()
  return first === undefined || first === '' ? undefined : first
}

/** `host:port` or `[v6]:port` to the bare server name, as Trino Gateway sends in X-Forwarded-Host. */
function serverNameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.lastIndexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

/** The user for history and pickers: `X-Trino-User`, else the Basic-auth user name (§3.7). */
export function requestUserOf(incoming: IncomingHttpHeaders): string | undefined {
  const user = firstHeader(incoming['x-trino-user'])
  if (user !== undefined && user !== '') return user
  const authorization = firstHeader(incoming.authorization)
  const basic = authorization === undefined ? undefined : /^\s*Basic\s+(\S+)/i.exec(authorization)?.[1]
  if (basic === undefined) return undefined
  const decoded = Buffer.from(basic, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const name = colon === -1 ? decoded : decoded.slice(0, colon)
  return name === '' ? undefined : name
}
