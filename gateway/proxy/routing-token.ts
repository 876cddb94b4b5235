import { createHmac, timingSafeEqual } from 'node:crypto'

/** Bytes of HMAC-SHA256 kept in a token; 12 bytes (96 bits) keeps URLs short and forgery infeasible. */
export const routingTokenMacBytes = 12

export interface RoutingKey {
  readonly id: string
  readonly secret: Buffer
}

export type RoutingTokenCheck =
  | { readonly ok: true; readonly backend: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown-key' | 'bad-mac' }

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
