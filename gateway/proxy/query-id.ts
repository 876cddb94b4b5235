/**
 * Query-id extraction for sticky follow-ups (Trino Gateway's `ProxyUtils.extractQueryIdIfPresent`,
 * reference §3.1 and §5.2). Pure: the shell passes the request parts, this returns the id or
 * undefined, and never throws.
 */
import { extractKillQueryId } from './kill-query.ts'

export interface QueryIdRequest {
  method: string
  /** Path without the query string. */
  path: string
  /** Raw query string without `?`, or ''. */
  queryString: string
  /** Statement paths in force (`/v1/statement` plus `additionalStatementPaths`). */
  statementPaths: readonly string[]
  /** Request body text; only read for POST. */
  body: string
  /** `X-Trino-Catalog` and `X-Trino-Schema`, which qualify an unqualified `kill_query`. */
  defaultCatalog?: string | undefined
  defaultSchema?: string | undefined
}

/** Longest query string or path the extraction scans; longer inputs are cut, not rejected. */
export const queryIdScanCharsMax = 16_384

const queryIdShape = /(\d+_\d+_\d+_\w+)/
// The query-string rule: an id right after `%2F`, `query_id=` / `queryid=` (any case) or at the start.
const queryStringIdAt = /(?:%2F|[Qq][Uu][Ee][Rr][Yy]_?[Ii][Dd]=)(\d+_\d+_\d+_\w+)/y
const queryStringIdAtStart = /^(\d+_\d+_\d+_\w+)/
const pathIdAt = /\/(\d+_\d+_\d+_\w+)/y
const statementStates: ReadonlySet<string> = new Set(['queued', 'scheduled', 'executing'])

export function extractQueryId(request: QueryIdRequest): string | undefined {
  if (request.method.toUpperCase() === 'POST') {
    if (!request.body.toLowerCase().includes('kill_query')) return undefined
    return extractKillQueryId(request.body, {
      defaultCatalog: request.defaultCatalog,
      defaultSchema: request.defaultSchema,
    })
  }
  const queryString = request.queryString.slice(0, queryIdScanCharsMax)
  const fromQueryString =
    rightmostMatch(queryString, queryStringIdAt) ?? queryStringIdAtStart.exec(queryString)?.[1]
  if (fromQueryString !== undefined) return fromQueryString

  const path = request.path.slice(0, queryIdScanCharsMax)
  const prefix = [...request.statementPaths, '/v1/query'].find((candidate) => path.startsWith(candidate))
  if (prefix !== undefined) return idFromStatementPath(path.slice(prefix.length))
  if (path.startsWith('/ui')) return rightmostMatch(path, pathIdAt)
  return undefined
}

/** `/queued/<id>/...`, `/executing/partialCancel/<id>/...` or `/<id>/...` after the prefix. */
function idFromStatementPath(rest: string): string | undefined {
  const tokens = rest.split('/')
  const first = tokens[1]
  if (first === undefined || first === '') return undefined
  if (!statementStates.has(first)) return first
  const second = tokens[2]
  const id = second === 'partialCancel' ? tokens[3] : second
  return id === undefined || id === '' ? undefined : id
}

/**
 * The match starting furthest right, as Java's greedy `.*(?:...)(id).*` finds it. A left-to-right
 * scan could hide a later start inside an earlier match's `\w+`.
 */
function rightmostMatch(text: string, stickyPattern: RegExp): string | undefined {
  for (let start = text.length - 1; start >= 0; start--) {
    stickyPattern.lastIndex = start
    const match = stickyPattern.exec(text)
    if (match) return match[1]
  }
  return undefined
}

/** True when a string has the shape of a Trino query id (`20200416_160256_03078_6b4yt`). */
export function looksLikeQueryId(text: string): boolean {
  return new RegExp(`^${queryIdShape.source}$`).test(text)
}
