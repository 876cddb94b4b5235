/**
 * The `request` variable of a rule: the HttpServletRequest methods that rule files use, over the
 * gateway's RoutingRequest. Header lookups are case-insensitive, as in the servlet API.
 */
import type { RoutingRequest } from '../selector.ts'
import { type HostMethod, HostObject, JavaList, JavaMap, type Value } from './model.ts'

function method(arity: number, call: (args: readonly Value[], self: HostObject) => Value): HostMethod {
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

/**
 * The request a rule sees. Its methods live in one shared table and read the request through
 * `self`, so making the object costs one allocation, not a table of closures per request.
 */
class RequestObject extends HostObject {
  #parameters: Map<string, string[]> | undefined
  constructor(readonly routingRequest: RoutingRequest) {
    super('HttpServletRequest', requestMethods)
  }

  header(name: Value): string | null {
    if (typeof name !== 'string') return null
    const headers = this.routingRequest.headers
    const key = name.toLowerCase()
    return Object.hasOwn(headers, key) ? (headers[key] as string) : null
  }

  parameter(name: Value): string | null {
    if (typeof name !== 'string') return null
    this.#parameters ??= queryParameters(this.routingRequest.queryString)
    return this.#parameters.get(name)?.[0] ?? null
  }
}

function requestOf(self: HostObject): RequestObject {
  // The table below is only ever attached to RequestObject instances.
  return self as RequestObject
}

const requestMethods: ReadonlyMap<string, HostMethod> = new Map<string, HostMethod>([
  ['getHeader', method(1, ([name], self) => requestOf(self).header(name ?? null))],
  [
    'getHeaders',
    method(1, ([name], self) => {
      const list = new JavaList()
      const value = requestOf(self).header(name ?? null)
      if (value !== null) list.items.push(...value.split(', '))
      return list
    }),
  ],
  ['getRequestURI', method(0, (_, self) => requestOf(self).routingRequest.path)],
  [
    'getQueryString',
    method(0, (_, self) => {
      const { queryString } = requestOf(self).routingRequest
      return queryString === '' ? null : queryString
    }),
  ],
  ['getMethod', method(0, (_, self) => requestOf(self).routingRequest.method)],
  ['getRemoteAddr', method(0, (_, self) => requestOf(self).routingRequest.remoteAddress)],
  // No reverse DNS on the data plane: the servlet API also returns the address when it does not resolve.
  ['getRemoteHost', method(0, (_, self) => requestOf(self).routingRequest.remoteAddress)],
  // Proxied Trino paths are never authenticated by the gateway, so the servlet user is always null.
  ['getRemoteUser', method(0, () => null)],
  ['getContentType', method(0, (_, self) => requestOf(self).header('content-type'))],
  ['getParameter', method(1, ([name], self) => requestOf(self).parameter(name ?? null))],
  ['getServerName', method(0, (_, self) => serverName(requestOf(self).routingRequest.headers.host))],
])

export function createRequestObject(request: RoutingRequest): HostObject {
  return new RequestObject(request)
}

/** A JavaMap of string → string for rules that build maps from request data. */
export function stringMap(entries: Iterable<[string, string]>): JavaMap {
  const map = new JavaMap()
  for (const [key, value] of entries) map.entries.set(key, value)
  return map
}
