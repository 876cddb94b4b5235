/**
 * TrinoRequestUser: who sent a proxied request. The first source that yields a user wins:
 * `X-Trino-User`, Basic credentials, a Bearer JWT's `tokenUserField` claim, then the Trino UI
 * token cookies. JWTs are DECODED ONLY: no signature is checked, so the user is what the client
 * claims, exactly as `X-Trino-User` is. Use it to route, never to authorize.
 */

export interface TrinoRequestUser {
  user: string | null
  /** Trino Gateway fills this from the OAuth userinfo exchange, which is not implemented. */
  userInfo: null
}

const uiTokenCookies = ['Trino-UI-Token', '__Secure-Trino-ID-Token']

export function extractRequestUser(
  headers: Readonly<Record<string, string>>,
  tokenUserField: string,
): TrinoRequestUser {
  const trinoUser = headers['x-trino-user']
  if (trinoUser !== undefined && trinoUser !== '') return { user: trinoUser, userInfo: null }

  const authorization = headers.authorization
  if (authorization !== undefined) {
    if (authorization.includes('Basic')) {
      const user = basicUser(authorization)
      if (user !== null) return { user, userInfo: null }
    }
    const bearer = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (bearer !== null) {
      const user = jwtClaim(bearer[1] as string, tokenUserField)
      if (user !== null) return { user, userInfo: null }
    }
  }

  const cookieHeader = headers.cookie
  if (cookieHeader !== undefined) {
    for (const part of cookieHeader.split(';')) {
      const separator = part.indexOf('=')
      if (separator < 0) continue
      const name = part.slice(0, separator).trim()
      if (!uiTokenCookies.includes(name)) continue
      const user = jwtClaim(part.slice(separator + 1).trim(), tokenUserField)
      if (user !== null) return { user, userInfo: null }
    }
  }
  return { user: null, userInfo: null }
}

function basicUser(authorization: string): string | null {
  const encoded = authorization.slice(authorization.indexOf('Basic') + 'Basic'.length).trim()
  if (encoded === '' || !/^[A-Za-z0-9+/=]+$/.test(encoded)) return null
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const user = colon < 0 ? decoded : decoded.slice(0, colon)
  return user === '' ? null : user
}

/** The string claim `field` of a three-part JWT, decoding the payload only. */
export function jwtClaim(token: string, field: string): string | null {
  const parts = token.split('.')
  if (parts.length !== 3) return null
  const payload = parts[1] as string
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(payload)) return null
  let claims: unknown
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return null
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return null
  if (!Object.hasOwn(claims, field)) return null
  const value = (claims as Record<string, unknown>)[field]
  return typeof value === 'string' && value !== '' ? value : null
}
