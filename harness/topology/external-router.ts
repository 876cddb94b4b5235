/**
 * The small external routing service a scenario declares (`externalRouter`): Trino Gateway's
 * external-routing protocol on a loopback port. The gateway POSTs each new query's description
 * with the client's headers; the router answers from its route table
 * `{routingGroup, errors, externalHeaders}`, or fails on purpose (timeout, disconnect, 500) so a
 * scenario can show the gateway's fallback to the header and then the default group.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ExternalRouterSpec } from '../scenario/schema.ts'

/** A request held by a `timeout` route is dropped after this long, so nothing outlives a run. */
export const externalRouterHoldMsMax = 60_000
/** Request bodies (the gateway's request description) larger than this are refused with 413. */
export const externalRouterBodyBytesMax = 1024 * 1024

export type ExternalRouterReply =
  | {
      kind: 'answer'
      body: {
        routingGroup: string | null
        errors: string[] | null
        externalHeaders: Record<string, string> | null
      }
    }
  | { kind: 'timeout' | 'disconnect' | 'status500' }

/** The pure core: which reply the route table gives a request with these (lower-cased) headers. */
export function externalRouterReply(
  spec: ExternalRouterSpec,
  headers: IncomingHttpHeaders,
): ExternalRouterReply {
  const route = spec.routes.find((candidate) => headerValue(headers, candidate.header) === candidate.equals)
  if (route?.fail !== undefined) return { kind: route.fail }
  const errors = [...(spec.errors ?? []), ...(route?.errors ?? [])]
  const externalHeaders = { ...spec.externalHeaders, ...route?.externalHeaders }
  return {
    kind: 'answer',
    body: {
      routingGroup: (route === undefined ? spec.routingGroup : route.routingGroup) ?? null,
      errors: errors.length === 0 ? null : errors,
      externalHeaders: Object.keys(externalHeaders).length === 0 ? null : externalHeaders,
    },
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value.join(', ') : value
}

export interface RunningExternalRouter {
  /** The URL for `routingRules.rulesExternalConfiguration.urlPath`. */
  url: string
  /** Requests answered or failed so far, by reply kind. */
  requests(): Readonly<Record<ExternalRouterReply['kind'], number>>
  close(): Promise<void>
}

export async function startExternalRouter(spec: ExternalRouterSpec): Promise<RunningExternalRouter> {
  const counts: Record<ExternalRouterReply['kind'], number> = {
    answer: 0,
    timeout: 0,
    disconnect: 0,
    status500: 0,
  }
  const held = new Set<NodeJS.Timeout>()
  const server = createServer((request, response) => {
    let bytes = 0
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > externalRouterBodyBytesMax && !response.headersSent) {
        response.writeHead(413).end()
        request.destroy()
      }
    })
    request.on('end', () => {
      if (response.headersSent) return
      const reply = request.method === 'POST' ? externalRouterReply(spec, request.headers) : undefined
      if (reply === undefined) {
        response.writeHead(405, { allow: 'POST' }).end()
        return
      }
      counts[reply.kind] += 1
      send(response, reply)
    })
  })
  const send = (response: ServerResponse, reply: ExternalRouterReply) => {
    switch (reply.kind) {
      case 'answer': {
        const body = JSON.stringify(reply.body)
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        })
        response.end(body)
        return
      }
      case 'status500':
        response.writeHead(500, { 'content-type': 'text/plain' }).end('external router failure (scenario)')
        return
      case 'disconnect':
        response.socket?.destroy()
        return
      case 'timeout': {
        // Never answered: the gateway's requestTimeout fires first; the bound frees the socket.
        const timer = setTimeout(() => {
          held.delete(timer)
          response.socket?.destroy()
        }, externalRouterHoldMsMax)
        timer.unref()
        held.add(timer)
        return
      }
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/route`,
    requests: () => ({ ...counts }),
    async close() {
      for (const timer of held) clearTimeout(timer)
      held.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * A gateway config document routed by the scenario's external router: the rules engine on,
 * `rulesType: EXTERNAL`, and `urlPath` the router's; the scenario's other external settings
 * (excludeHeaders, propagateErrors, requestTimeout) stay as written.
 */
export function withExternalRouterUrl(
  document: Readonly<Record<string, unknown>>,
  url: string,
): Record<string, unknown> {
  const section = (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  const routingRules = section(document.routingRules)
  return {
    ...document,
    routingRules: {
      ...routingRules,
      rulesEngineEnabled: true,
      rulesType: 'EXTERNAL',
      rulesExternalConfiguration: { ...section(routingRules.rulesExternalConfiguration), urlPath: url },
    },
  }
}
