/**
 * `routingRules.rulesType: EXTERNAL` (Trino Gateway's ExternalRoutingGroupSelector): the request
 * description is POSTed to `rulesExternalConfiguration.urlPath`; the answer names the routing
 * group, errors and headers to add. Any failure (timeout, non-200, bad JSON) falls back to the
 * `X-Trino-Routing-Group` header, then the default group, and is reported as a warning.
 */
import { request as httpRequest } from 'undici'
import { z } from 'zod'
import { type RequestAnalyzerConfig, requestAnalyzerConfigSchema } from '../analyzer/config.ts'
import { analyzeQuery, queryPropertiesJson } from '../analyzer/query-properties.ts'
import { extractRequestUser } from '../analyzer/request-user.ts'
import type { RoutingGroupSelection, RoutingGroupSelector, RoutingRequest } from '../selector.ts'
import { routingRuleError } from './errors.ts'
import { queryParameters } from './request-object.ts'

export interface ExternalRoutingGroupSelectorOptions {
  urlPath: string
  /** Header names (case-insensitive) neither sent to the service nor accepted back from it. */
  excludeHeaders?: readonly string[]
  propagateErrors?: boolean
  requestAnalyzer?: RequestAnalyzerConfig
  /** Deadline for the whole exchange with the service. */
  requestTimeoutMs?: number
}

export const externalRoutingRequestTimeoutMsDefault = 5_000
/** Answers larger than this are refused as a failure of the service. */
export const externalRoutingResponseBytesMax = 1024 * 1024

/** The service's answer (Trino Gateway's ExternalRouterResponse). Unknown fields are ignored. */
export const externalRouterResponseSchema = z.object({
  routingGroup: z.string().nullish(),
  errors: z.array(z.string()).nullish(),
  externalHeaders: z.record(z.string(), z.string().nullable()).nullish(),
})

/** Builds the JSON body Trino Gateway sends (RoutingGroupExternalBody). */
export function externalRoutingBody(
  request: RoutingRequest,
  analyzer: RequestAnalyzerConfig,
): Record<string, unknown> {
  const parameters: Record<string, string[]> = {}
  for (const [name, values] of queryParameters(request.queryString)) {
    Object.defineProperty(parameters, name, {
      value: values,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return {
    trinoQueryProperties: analyzer.analyzeRequest
      ? queryPropertiesJson(analyzeQuery(request, analyzer))
      : null,
    trinoRequestUser: analyzer.analyzeRequest
      ? extractRequestUser(request.headers, analyzer.tokenUserField)
      : null,
    contentType: request.headers['content-type'] ?? null,
    remoteUser: null,
    method: request.method,
    requestURI: request.path,
    queryString: request.queryString === '' ? null : request.queryString,
    session: null,
    remoteAddr: request.remoteAddress,
    remoteHost: request.remoteAddress,
    parameters,
  }
}

export function createExternalRoutingGroupSelector(
  options: ExternalRoutingGroupSelectorOptions,
): RoutingGroupSelector {
  let url: URL
  try {
    url = new URL(options.urlPath)
  } catch {
    throw routingRuleError(
      'ROUTING_RULE_INVALID',
      `routingRules.rulesExternalConfiguration.urlPath must be an absolute http(s) URL, got ${JSON.stringify(options.urlPath)}`,
    )
  }
  const excluded = new Set(
    [...(options.excludeHeaders ?? []), 'content-length'].map((name) => name.toLowerCase()),
  )
  // Hop-by-hop and framing headers describe the client's connection, not the request.
  for (const name of ['host', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'content-type'])
    excluded.add(name)
  const analyzer = options.requestAnalyzer ?? requestAnalyzerConfigSchema.parse(undefined)
  const timeoutMs = options.requestTimeoutMs ?? externalRoutingRequestTimeoutMsDefault
  const propagateErrors = options.propagateErrors ?? false

  const fallback = (request: RoutingRequest, reason: string): RoutingGroupSelection => ({
    routingGroup: request.headers['x-trino-routing-group'],
    warnings: [
      `external routing service failed (${reason}); used the X-Trino-Routing-Group header or the default group`,
    ],
  })

  return {
    kind: 'external',
    async select(request) {
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' }
      for (const [name, value] of Object.entries(request.headers)) {
        if (!excluded.has(name)) headers[name] = value
      }
      let parsed: z.output<typeof externalRouterResponseSchema>
      try {
        const response = await httpRequest(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(externalRoutingBody(request, analyzer)),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        })
        if (response.statusCode !== 200) {
          await response.body.dump()
          return fallback(request, `HTTP ${response.statusCode}`)
        }
        const text = await readLimited(response.body)
        const result = externalRouterResponseSchema.safeParse(JSON.parse(text))
        if (!result.success)
          return fallback(request, `unexpected answer: ${result.error.issues[0]?.message ?? ''}`)
        parsed = result.data
      } catch (error) {
        return fallback(request, error instanceof Error ? `${error.name}: ${error.message}` : String(error))
      }

      const errors = parsed.errors ?? []
      if (errors.length > 0 && propagateErrors) {
        throw routingRuleError('EXTERNAL_ROUTING_ERRORS', errors.join('; '), { errors })
      }
      const externalHeaders: Record<string, string> = {}
      for (const [name, value] of Object.entries(parsed.externalHeaders ?? {})) {
        if (value === null || excluded.has(name.toLowerCase())) continue
        Object.defineProperty(externalHeaders, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      }
      const selection: RoutingGroupSelection = {
        routingGroup:
          parsed.routingGroup === null || parsed.routingGroup === '' ? undefined : parsed.routingGroup,
      }
      if (Object.keys(externalHeaders).length > 0) selection.externalHeaders = externalHeaders
      if (errors.length > 0) selection.warnings = errors.map((error) => `external routing service: ${error}`)
      return selection
    },
  }
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of body) {
    bytes += chunk.length
    if (bytes > externalRoutingResponseBytesMax) {
      throw new Error(`answer larger than ${externalRoutingResponseBytesMax} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
