/**
 * The `request` variable of a rule: the HttpServletRequest methods that rule files use, over the
 * gateway's RoutingRequest. Header lookups are case-insensitive, as in the servlet API.
 */
import type { RoutingRequest } from '../selector.ts'
import { type HostMethod, HostObject, JavaList, JavaMap, type Value } from './model.ts'

function method(arity: number, call: (args: readonly Value[]) => Value): HostMethod {
  return { arity, call }
}

/** Decodes `a=1&b=2` into name → values, as `getParameterMap` does for the query string. */
export function queryParameters(queryString: string): Map<string, string[]> {
  const parameters = new Map<string, string[]>()
  if (queryString === '') return parameters
  for (const [name, value] of new URLSearchParams(queryString)) {
    const values = parameters.get(name)
    if (values === undefined) parameters.set(name, [value])
    else values.push(value)
  }
  return parameters
}

/** The host name the client addressed, without the port (servlet `getServerName`). */
function serverName(host: string | undefined): string | null {
  if (host === undefined || host === '') return null
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.indexOf(':')
  return colon < 0 ? host : host.slice(0, colon)
}

export const requestMethodNames = [
  'getHeader',
  'getHeaders',
  'getRequestURI',
  'getQueryString',
  'getMethod',
  'getRemoteAddr',
  'getRemoteHost',
  'getRemoteUser',
  'getContentType',
  'getParameter',
  'getServerName',
] as const

// Rules name the same few headers on every request; their lower-case forms are kept (bounded).
const lowerCaseNamesMax = 1000
const lowerCaseNames = new Map<string, string>()

function lowerCase(name: string): string {
  let lower = lowerCaseNames.get(name)
  if (lower === undefined) {
    lower = name.toLowerCase()
    if (lowerCaseNames.size >= lowerCaseNamesMax) lowerCaseNames.clear()
    lowerCaseNames.set(name, lower)
  }
  return lower
}

export function createRequestObject(request: RoutingRequest): HostObject {
  let parameters: Map<string, string[]> | undefined
  const header = (name: Value): string | null => {
    if (typeof name !== 'string') return null
    return Object.hasOwn(request.headers, lowerCase(name))
      ? (request.headers[lowerCase(name)] as string)
      : null
  }
  const methods = new Map<string, HostMethod>([
    ['getHeader', method(1, ([name]) => header(name ?? null))],
    [
      'getHeaders',
      method(1, ([name]) => {
        const list = new JavaList()
        const value = header(name ?? null)
        if (value !== null) list.items.push(...value.split(', '))
        return list
      }),
    ],
    ['getRequestURI', method(0, () => request.path)],
    ['getQueryString', method(0, () => (request.queryString === '' ? null : request.queryString))],
    ['getMethod', method(0, () => request.method)],
    ['getRemoteAddr', method(0, () => request.remoteAddress)],
    // No reverse DNS on the data plane: the servlet API also returns the address when it does not resolve.
    ['getRemoteHost', method(0, () => request.remoteAddress)],
    // Proxied Trino paths are never authenticated by the gateway, so the servlet user is always null.
    ['getRemoteUser', method(0, () => null)],
    ['getContentType', method(0, () => header('content-type'))],
    [
      'getParameter',
      method(1, ([name]) => {
        if (typeof name !== 'string') return null
        parameters ??= queryParameters(request.queryString)
        return parameters.get(name)?.[0] ?? null
      }),
    ],
    ['getServerName', method(0, () => serverName(request.headers.host))],
  ])
  return new HostObject('HttpServletRequest', methods)
}

/** A JavaMap of string → string for rules that build maps from request data. */
export function stringMap(entries: Iterable<[string, string]>): JavaMap {
  const map = new JavaMap()
  for (const [key, value] of entries) map.entries.set(key, value)
  return map
}
