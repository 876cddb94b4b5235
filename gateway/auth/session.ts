/**
 * Login sessions as signed JSON Web Tokens: `sub` is the user, `exp` the end of the session.
 * With `authentication.form.selfSignKeyPair` the tokens are RS256, signed with the private key and
 * checked with the public one (every gateway instance given the same pair accepts each other's
 * logins, as in Trino Gateway); without it, HS256 with a key drawn at start-up (a login then holds
 * for this process only). A token is accepted only with the algorithm the gateway signs with, an
 * intact signature and an `exp` in the future; everything else is refused the same way.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { gatewayError } from '../errors.ts'

/** Bytes of the HMAC key drawn when no key pair is configured. */
export const sessionHmacKeyBytes = 32
/** Tokens longer than this are refused before any parsing. */
export const sessionTokenCharsMax = 8192
/** The `iss` claim of every token the gateway signs. */
export const sessionIssuer = 'trino-gateway-lab'

export interface SessionSigner {
  readonly algorithm: 'HS256' | 'RS256'
  /** A token naming `user`, valid until `nowMs + lifetimeMs`. */
  issue(user: string, nowMs: number, lifetimeMs: number): { token: string; expiresAtMs: number }
  /** The user a token names, or undefined when it is malformed, forged, of another algorithm or expired. */
  verify(token: string, nowMs: number): string | undefined
}

const claimsSchema = z.object({
  iss: z.literal(sessionIssuer),
  sub: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
})

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

/** The signer for a deployment: RS256 from PEM files when given, else HS256 with a fresh key. */
export function createSessionSigner(keyPair?: {
  privateKeyRsa: string
  publicKeyRsa: string
}): SessionSigner {
  if (keyPair === undefined) return hmacSigner(randomBytes(sessionHmacKeyBytes))
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8')
    } catch (error) {
      throw gatewayError(
        'CONFIG_INVALID',
        `authentication.form.selfSignKeyPair.${what}: cannot read ${path}: ${(error as Error).message}`,
        { problems: [`authentication.form.selfSignKeyPair.${what}`] },
      )
    }
  }
  let privateKey: KeyObject
  let publicKey: KeyObject
  try {
    privateKey = createPrivateKey(read(keyPair.privateKeyRsa, 'privateKeyRsa'))
    publicKey = createPublicKey(read(keyPair.publicKeyRsa, 'publicKeyRsa'))
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'CONFIG_INVALID') throw error
    throw gatewayError(
      'CONFIG_INVALID',
      `authentication.form.selfSignKeyPair: not a PEM RSA key pair: ${(error as Error).message}`,
      { problems: ['authentication.form.selfSignKeyPair'] },
    )
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || publicKey.asymmetricKeyType !== 'rsa') {
    throw gatewayError('CONFIG_INVALID', 'authentication.form.selfSignKeyPair: expected RSA keys', {
      problems: ['authentication.form.selfSignKeyPair'],
    })
  }
  return jwtSigner(
    'RS256',
    (input) => sign('sha256', input, privateKey),
    (input, signature) => verify('sha256', input, publicKey, signature),
  )
}

function hmacSigner(key: Buffer): SessionSigner {
  const mac = (input: Buffer) => createHmac('sha256', key).update(input).digest()
  return jwtSigner('HS256', mac, (input, signature) => {
    const expected = mac(input)
    return expected.length === signature.length && timingSafeEqual(expected, signature)
  })
}

function jwtSigner(
  algorithm: 'HS256' | 'RS256',
  signBytes: (input: Buffer) => Buffer,
  verifyBytes: (input: Buffer, signature: Buffer) => boolean,
): SessionSigner {
  const header = encode({ alg: algorithm, typ: 'JWT' })
  return {
    algorithm,
    issue(user, nowMs, lifetimeMs) {
      const iat = Math.floor(nowMs / 1000)
      const exp = Math.floor((nowMs + lifetimeMs) / 1000)
      const body = `${header}.${encode({ iss: sessionIssuer, sub: user, iat, exp })}`
      const signature = signBytes(Buffer.from(body)).toString('base64url')
      return { token: `${body}.${signature}`, expiresAtMs: exp * 1000 }
    },
    verify(token, nowMs) {
      if (token.length > sessionTokenCharsMax) return undefined
      const parts = token.split('.')
      if (parts.length !== 3) return undefined
      const [headerPart, claimsPart, signaturePart] = parts as [string, string, string]
      const parsedHeader = decodeJson(headerPart) as { alg?: unknown } | undefined
      if (parsedHeader?.alg !== algorithm) return undefined
      const signature = Buffer.from(signaturePart, 'base64url')
      if (!verifyBytes(Buffer.from(`${headerPart}.${claimsPart}`), signature)) return undefined
      const claims = claimsSchema.safeParse(decodeJson(claimsPart))
      if (!claims.success || claims.data.exp * 1000 <= nowMs) return undefined
      return claims.data.sub
    },
  }
}
