/**
 * Routing tokens: the gateway appends `tgRoute=<token>` to the `nextUri` and `partialCancelUri` it
 * rewrites, so a follow-up names its backend itself, authenticated, and any gateway instance holding
 * the key routes it from memory (no cache, no query_history, no probe).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { BoundedMap } from '../../common/bounded-map.ts'

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
 * Tokens remembered per key: every answer of a query carries the same token and every poll sends it
 * back, so a query's POST computes the HMAC once and its polls neither verify nor sign again (one
 * HMAC-SHA256 a query instead of about two a request). `signed` maps a query id to the token signed
 * for it; `verified` maps a token known to be valid to what it says. Oldest first out past the bound.
 */
export const routingMacCacheEntriesMax = 10_000

interface KnownTokens {
  signed: BoundedMap<string, { backend: string; token: string }>
  verified: BoundedMap<string, { queryId: string; check: RoutingTokenCheck & { ok: true } }>
}
const knownTokens = new WeakMap<RoutingKey, KnownTokens>()

function knownTokensOf(key: RoutingKey): KnownTokens {
  let known = knownTokens.get(key)
  if (known === undefined) {
    known = {
      signed: new BoundedMap(routingMacCacheEntriesMax),
      verified: new BoundedMap(routingMacCacheEntriesMax),
    }
    knownTokens.set(key, known)
  }
  return known
}

function mac(key: RoutingKey, queryId: string, backend: string): string {
  // The query id binds the token to one query, so a token cannot steer another query's polls.
  return createHmac('sha256', key.secret)
    .update(`${key.id}\n${queryId}\n${backend}`)
    .digest()
    .subarray(0, routingTokenMacBytes)
    .toString('base64url')
}

/** Token layout: keyId.backend(base64url).mac(base64url); '.' never occurs in base64url. */
export function signRoutingToken(key: RoutingKey, queryId: string, backend: string): string {
  const known = knownTokensOf(key)
  const signed = known.signed.get(queryId)
  if (signed !== undefined && signed.backend === backend) return signed.token
  // An empty segment or a '.' in the key id would make the token unparseable; config guarantees neither.
  if (backend.length === 0 || key.id.length === 0 || key.id.includes('.')) {
    throw new RangeError(
      `routing token needs a non-empty backend and a key id without '.', got key id '${key.id}'`,
    )
  }
  const name = Buffer.from(backend, 'utf8').toString('base64url')
  const token = `${key.id}.${name}.${mac(key, queryId, backend)}`
  known.signed.set(queryId, { backend, token })
  known.verified.set(token, { queryId, check: { ok: true, backend } })
  return token
}

/**
 * A token seen valid before is known by its exact text (a lookup, no HMAC); any other is split on
 * indexOf (no regex) and its MAC checked against the current and previous keys.
 */
export function verifyRoutingToken(
  keys: readonly RoutingKey[],
  queryId: string,
  token: string,
): RoutingTokenCheck {
  const first = token.indexOf('.')
  const keyId = first <= 0 ? '' : token.slice(0, first)
  const key = keyId === '' ? undefined : keys.find((k) => k.id === keyId)
  if (key !== undefined) {
    const known = knownTokensOf(key).verified.get(token)
    if (known !== undefined && known.queryId === queryId) return known.check
  }
  const second = first < 0 ? -1 : token.indexOf('.', first + 1)
  if (
    first <= 0 ||
    second <= first + 1 ||
    second === token.length - 1 ||
    token.indexOf('.', second + 1) >= 0
  ) {
    return { ok: false, reason: 'malformed' }
  }
  if (key === undefined) return { ok: false, reason: 'unknown-key' }
  const backend = Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')
  const given = Buffer.from(token.slice(second + 1), 'utf8')
  const wanted = Buffer.from(mac(key, queryId, backend), 'utf8')
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
    return { ok: false, reason: 'bad-mac' }
  const check = { ok: true, backend } as const
  knownTokensOf(key).verified.set(token, { queryId, check })
  return check
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
