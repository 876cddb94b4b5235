/**
 * Admin authentication and authorization for every fastify route (the proxied Trino paths never
 * reach fastify, so they are never authenticated, as in Trino Gateway). Also `/login`, `/logout`,
 * `/loginType` and `/userinfo` (trino-gateway.md §1.6).
 *
 * Credentials, tried in order: the session cookie `token`, `Authorization: Bearer <token>`,
 * `Authorization: Basic` against `presetUsers`. Credentials that are sent but not accepted are a 401
 * `LOGIN_FAILED` that never says which part was wrong; none at all is a 401
 * `AUTHENTICATION_REQUIRED`; a login lacking the route's role is a 403 `ROLE_REQUIRED`. Passwords
 * are compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { gatewayError } from '../errors.ts'
import type { PagePermissions, Role, SecurityConfig } from './config.ts'
import { roles as allRoles } from './config.ts'
import { accessOf, rolesOf } from './policy.ts'
import type { Principal } from './principal.ts'
import { createSessionSigner } from './session.ts'

/** The name of the session cookie (Trino Gateway's UI token cookie is also `token`). */
export const sessionCookieName = 'token'
/** A request whose header says it comes from our UI gets no `WWW-Authenticate` (no browser dialog). */
export const uiRequestHeader = 'x-requested-with'
/** Longest user name or password a login body may carry. */
export const credentialCharsMax = 1024

/** With no `authentication` configured, every caller is this one (Trino Gateway's NoopFilter). */
export const anonymousPrincipal: Principal = { name: 'user', roles: new Set(allRoles) }

export interface AuthOptions {
  security: SecurityConfig | undefined
  /** Whether `X-Forwarded-Proto: https` may mark a request as HTTPS (routing.forwardedHeadersEnabled). */
  forwardedHeadersEnabled: boolean
  now?: () => number
}

interface Account {
  passwordDigest: Buffer
  roles: ReadonlySet<Role>
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()
/** Compared against when the user is unknown, so both failures take the same time. */
const unknownUserDigest = digest('\u0000unknown user\u0000')

export async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const now = options.now ?? Date.now
  const { security } = options
  const principals = new WeakMap<FastifyRequest, Principal>()
  // With security on, a route that needs no login sees a caller holding no role.
  const fallback: Principal = security === undefined ? anonymousPrincipal : { name: '', roles: new Set() }
  app.decorateRequest('principal', {
    getter(this: FastifyRequest) {
      return principals.get(this) ?? fallback
    },
  })

  if (security === undefined) {
    app.post('/login', async (request) => {
      const { username } = parseLogin(request.body)
      return { code: 200, msg: 'Successful.', data: { token: username, userName: username } }
    })
    app.post('/logout', async () => ({ code: 200, msg: 'Successful.', data: null }))
    app.post('/loginType', async () => ({ code: 200, msg: 'Ok', data: 'none' }))
    app.post('/userinfo', async (request) => userInfo(request.principal, undefined))
    return
  }

  const signer = createSessionSigner(security.authentication.selfSignKeyPair)
  const lifetimeMs = security.authentication.sessionLifetimeMs
  const accounts = new Map<string, Account>(
    Object.entries(security.presetUsers).map(([name, user]) => [
      name,
      { passwordDigest: digest(user.password), roles: rolesOf(user.privileges, security.roleRegexes) },
    ]),
  )

  const checkPassword = (username: string, password: string): Account | undefined => {
    const account = accounts.get(username)
    const same = timingSafeEqual(account?.passwordDigest ?? unknownUserDigest, digest(password))
    return account !== undefined && same ? account : undefined
  }

  /** The principal of a request, undefined when it sent no credentials; throws LOGIN_FAILED. */
  const authenticate = (request: FastifyRequest): Principal | undefined => {
    const fromToken = (token: string): Principal => {
      const name = signer.verify(token, now())
      const account = name === undefined ? undefined : accounts.get(name)
      if (name === undefined || account === undefined) throw loginFailed()
      return { name, roles: account.roles }
    }
    const cookie = cookieValue(request.headers.cookie, sessionCookieName)
    if (cookie !== undefined) return fromToken(cookie)
    const authorization = request.headers.authorization
    if (authorization === undefined) return undefined
    const [scheme = '', value = ''] = authorization.trim().split(/\s+/, 2)
    if (scheme.toLowerCase() === 'bearer') return fromToken(value)
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon <= 0) throw loginFailed()
      const name = decoded.slice(0, colon)
      const account = checkPassword(name, decoded.slice(colon + 1))
      if (account === undefined) {
        request.log.info({ user: name, method: 'basic' }, 'admin login refused')
        throw loginFailed()
      }
      return { name, roles: account.roles }
    }
    throw loginFailed()
  }

  app.addHook('onRequest', async (request, reply) => {
    const access = accessOf(request.method, request.routeOptions.url ?? request.url)
    // Unknown paths fall through to fastify's 404, which says nothing about the gateway's routes.
    if (access === 'public' || request.routeOptions.url === undefined) return
    let principal: Principal | undefined
    try {
      principal = authenticate(request)
    } catch (error) {
      challenge(request, reply)
      throw error
    }
    if (principal === undefined) {
      challenge(request, reply)
      throw gatewayError(
        'AUTHENTICATION_REQUIRED',
        `${request.method} ${request.routeOptions.url} needs a login with role ${access}: log in at /trino-gateway, or send Basic credentials`,
        { role: access },
      )
    }
    if (!principal.roles.has(access)) {
      throw gatewayError(
        'ROLE_REQUIRED',
        `${request.method} ${request.routeOptions.url} needs role ${access}; user ${principal.name} has ${describeRoles(principal.roles)}`,
        { role: access, user: principal.name, roles: [...principal.roles] },
      )
    }
    principals.set(request, principal)
  })

  app.post('/login', async (request, reply) => {
    const { username, password } = parseLogin(request.body)
    const account = checkPassword(username, password)
    if (account === undefined) {
      request.log.info({ user: username, method: 'form' }, 'admin login refused')
      throw loginFailed()
    }
    const { token, expiresAtMs } = signer.issue(username, now(), lifetimeMs)
    const secure = isHttps(request, options.forwardedHeadersEnabled) ? '; Secure' : ''
    reply.header(
      'set-cookie',
      `${sessionCookieName}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(lifetimeMs / 1000)}${secure}`,
    )
    request.log.info({ user: username }, 'admin login')
    return {
      code: 200,
      msg: 'Successful.',
      data: {
        userName: username,
        roles: roleNames(account.roles),
        expiresAt: new Date(expiresAtMs).toISOString(),
      },
    }
  })
  app.post('/logout', async (request, reply) => {
    const secure = isHttps(request, options.forwardedHeadersEnabled) ? '; Secure' : ''
    reply.header('set-cookie', `${sessionCookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`)
    return { code: 200, msg: 'Successful.', data: null }
  })
  app.post('/loginType', async () => ({ code: 200, msg: 'Ok', data: security.authentication.defaultType }))
  app.post('/userinfo', async (request) => userInfo(request.principal, security.pagePermissions))
}

/** `permissions`: the pages `pagePermissions` grants the user's roles; empty when it is not configured. */
function userInfo(principal: Principal, pagePermissions: PagePermissions | undefined) {
  const permissions = new Set<string>()
  for (const role of principal.roles) for (const page of pagePermissions?.[role] ?? []) permissions.add(page)
  return {
    code: 200,
    msg: 'Successful.',
    data: {
      userId: principal.name,
      userName: principal.name,
      roles: roleNames(principal.roles),
      permissions: [...permissions],
    },
  }
}

/** Trino Gateway spells roles upper-case in `/userinfo`. */
function roleNames(held: ReadonlySet<Role>): string[] {
  return allRoles.filter((role) => held.has(role)).map((role) => role.toUpperCase())
}

function describeRoles(held: ReadonlySet<Role>): string {
  return held.size === 0 ? 'no role' : `roles ${[...held].join(', ')}`
}

function loginFailed() {
  return gatewayError('LOGIN_FAILED', 'Authentication failed.')
}

function challenge(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers[uiRequestHeader] === undefined) {
    reply.header('www-authenticate', 'Basic realm="trino-gateway-lab", charset="UTF-8"')
  }
}

/** `{username, password}` from a login body; refusals never echo the values. */
function parseLogin(body: unknown): { username: string; password: string } {
  let document: unknown
  try {
    document = typeof body === 'string' && body.trim() !== '' ? JSON.parse(body) : undefined
  } catch {
    document = undefined
  }
  const problems: string[] = []
  const field = (name: 'username' | 'password'): string => {
    const value =
      document !== null && typeof document === 'object'
        ? (document as Record<string, unknown>)[name]
        : undefined
    if (typeof value !== 'string' || value === '' || value.length > credentialCharsMax) {
      problems.push(`${name}: expected a non-empty string of at most ${credentialCharsMax} characters`)
      return ''
    }
    return value
  }
  const username = field('username')
  const password = field('password')
  if (problems.length > 0) {
    throw gatewayError('REQUEST_BODY_INVALID', `POST /login: invalid body: ${problems.join('; ')}`, {
      problems,
    })
  }
  return { username, password }
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const equals = part.indexOf('=')
    if (equals !== -1 && part.slice(0, equals).trim() === name) {
      const value = part.slice(equals + 1).trim()
      return value === '' ? undefined : value
    }
  }
  return undefined
}

function isHttps(request: FastifyRequest, forwardedHeadersEnabled: boolean): boolean {
  if (request.protocol === 'https') return true
  const forwarded = request.headers['x-forwarded-proto']
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
  return forwardedHeadersEnabled && first === 'https'
}
