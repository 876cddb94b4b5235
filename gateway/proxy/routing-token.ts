/**
 * Routing tokens: the gateway appends `tgRoute=<token>` to the `nextUri` and `partialCancelUri` it
 * rewrites, so a follow-up names its backend itself, authenticated, and any gateway instance holding
 * the key routes it from memory (no cache, no query_history, no probe).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** The query-string parameter that carries the token; stripped before a request is forwarded. */
export const routingTokenParameter = 'tgRoute'
/** Characters of a configured key id at most (`routing.tokenKeys[].id`). */
export const routingKeyIdCharsMax = 16
/** Characters of a configured secret at least: 32 characters keep HMAC-SHA256 out of guessing range. */
export const routingKeySecretCharsMin = 32
/** What a configured key id may contain: URL-safe without escaping, and never '.'. */
export const routingKeyIdPattern = /^[A-Za-z0-9_-]{1,16}$/
/**
 * First character of a per-process key id. It is outside the configured-id alphabet, so such an id
 * never names a configured key, and a gateway can tell another instance's process key (no shared key
 * was configured) from a stale or forged configured one.
 */
export const processRoutingKeyIdPrefix = '~'
/** Random bytes of a per-process secret. */
export const processRoutingKeySecretBytes = 32

/** Bytes of HMAC-SHA256 kept in a token; 12 bytes (96 bits) keeps URLs short and forgery infeasible. */
export const routingTokenMacBytes = 12

export interface RoutingKey {
  readonly id: string
  readonly secret: Buffer
}

export type RoutingTokenCheck =
  | { readonly ok: true; readonly backend: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown-key' | 'bad-mac' }

/**
 * MACs remembered per key, by query and backend: every answer of a query carries the same token and
 * every poll sends it back, so a query's POST computes the HMAC and its polls reuse it (one
 * HMAC-SHA256 a query instead of about two a request). Oldest first out past the bound.
 */
export const routingMacCacheEntriesMax = 10_000
const macCaches = new WeakMap<RoutingKey, Map<string, string>>()

function mac(key: RoutingKey, queryId: string, backend: string): string {
  // The query id binds the token to one query, so a token cannot steer another query's polls.
  const input = `${key.id}\n${queryId}\n${backend}`
  let cache = macCaches.get(key)
  if (cache === undefined) {
    cache = new Map()
    macCaches.set(key, cache)
  }
  const known = cache.get(input)
  if (known !== undefined) return known
  const computed = createHmac('sha256', key.secret)
    .update(input)
    .digest()
    .subarray(0, routingTokenMacBytes)
    .toString('base64url')
  if (cache.size >= routingMacCacheEntriesMax) cache.delete(cache.keys().next().value as string)
  cache.set(input, computed)
  return computed
}

/** Token layout: keyId.backend(base64url).mac(base64url); '.' never occurs in base64url. */
export function signRoutingToken(key: RoutingKey, queryId: string, backend: string): string {
  // An empty segment or a '.' in the key id would make the token unparseable; config guarantees neither.
  if (backend.length === 0 || key.id.length === 0 || key.id.includes('.')) {
    throw new RangeError(
      `routing token needs a non-empty backend and a key id without '.', got key id '${key.id}'`,
    )
  }
  const name = Buffer.from(backend, 'utf8').toString('base64url')
  return `${key.id}.${name}.${mac(key, queryId, backend)}`
}

/** Splits on indexOf (no regex), then checks the MAC against the current and previous keys. */
export function verifyRoutingToken(
  keys: readonly RoutingKey[],
  queryId: string,
  token: string,
): RoutingTokenCheck {
  const first = token.indexOf('.')
  const second = first < 0 ? -1 : token.indexOf('.', first + 1)
  if (
    first <= 0 ||
    second <= first + 1 ||
    second === token.length - 1 ||
    token.indexOf('.', second + 1) >= 0
  ) {
    return { ok: false, reason: 'malformed' }
  }
  const keyId = token.slice(0, first)
  const key = keys.find((k) => k.id === keyId)
  if (key === undefined) return { ok: false, reason: 'unknown-key' }
  const backend = Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')
  const given = Buffer.from(token.slice(second + 1), 'utf8')
  const wanted = Buffer.from(mac(key, queryId, backend), 'utf8')
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
    return { ok: false, reason: 'bad-mac' }
  return { ok: true, backend }
}

/**
 * A key for this process alone, for a gateway with no `routing.tokenKeys`: its tokens route this
 * instance's follow-ups; other instances cannot verify them and fall back to cache -> database ->
 * probe. Secrets come from the operating system's CSPRNG, not the seeded PRNG: a key must not be
 * reproducible from a seed that appears in logs.
 */
export function processRoutingKey(): RoutingKey {
  return {
    id: `${processRoutingKeyIdPrefix}${randomBytes(4).toString('hex')}`,
    secret: randomBytes(processRoutingKeySecretBytes),
  }
}

/** True for the key id of a per-process key (this instance's or another's). */
export function isProcessRoutingKeyId(token: string): boolean {
  return token.startsWith(processRoutingKeyIdPrefix)
}

const parameterPrefix = `${routingTokenParameter}=`

/**
 * The URI with `tgRoute=<token>` appended to its query string (before any fragment). Tokens are
 * base64url and '.', and configured key ids are `[A-Za-z0-9_-]`, so nothing needs escaping.
 */
export function withRoutingToken(uri: string, token: string): string {
  const hash = uri.indexOf('#')
  const head = hash === -1 ? uri : uri.slice(0, hash)
  const fragment = hash === -1 ? '' : uri.slice(hash)
  const query = head.indexOf('?')
  const separator = query === -1 ? '?' : query === head.length - 1 || head.endsWith('&') ? '' : '&'
  return `${head}${separator}${parameterPrefix}${token}${fragment}`
}

/**
 * Splits a raw query string (without '?') into the routing token and the rest, which is what the
 * backend gets. Every `tgRoute` parameter is removed; the last one is the token (the gateway
 * appends its own last). Other parameters keep their order and bytes.
 */
export function takeRoutingToken(queryString: string): { token: string | undefined; rest: string } {
  if (!queryString.includes(parameterPrefix)) return { token: undefined, rest: queryString }
  let token: string | undefined
  const kept: string[] = []
  for (const part of queryString.split('&')) {
    if (part.startsWith(parameterPrefix)) token = part.slice(parameterPrefix.length)
    else kept.push(part)
  }
  return { token, rest: kept.join('&') }
}
