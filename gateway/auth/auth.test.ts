/**
 * Admin authentication and roles over a real socket: every admin route refused without a login,
 * refused for a role it does not grant, allowed for admin; login, cookie and Basic behaviour; a
 * `user` sees only their own history; passwords never reach the log.
 */
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'
import { type RunningGateway, startGateway } from '../index.ts'
import { testGatewayConfig } from '../test-support/gateway.ts'
import { sessionCookieName } from './plugin.ts'
import { accessOf, routeAccess } from './policy.ts'

const adminPassword = 'admin-secret-\u00e9'
const alicePassword = 'alice-password'
const robotPassword = 'robot-password'

let database: TestDatabase
let gateway: RunningGateway
let openGateway: RunningGateway
const logLines: string[] = []

beforeAll(async () => {
  database = await openTestDatabase()
  const logStream = new PassThrough()
  logStream.on('data', (chunk: Buffer) => logLines.push(chunk.toString('utf8')))
  gateway = await startGateway({
    config: testGatewayConfig(database.url, {
      authentication: { defaultType: 'form', sessionLifetime: '10m' },
      authorization: { admin: '.*ADMIN.*', user: '.*USER.*', api: '.*API.*' },
      presetUsers: {
        admin: { password: adminPassword, privileges: 'ADMIN_USER_API' },
        alice: { password: alicePassword, privileges: 'USER' },
        robot: { password: robotPassword, privileges: 'API' },
      },
      pagePermissions: { user: 'dashboard_history', api: 'cluster' },
      uiConfiguration: { disablePages: ['selector'] },
    }),
    seed: 5,
    logLevel: 'info',
    logDestination: logStream,
  })
  openGateway = await startGateway({ config: testGatewayConfig(database.url), seed: 6, logLevel: 'silent' })
  const now = Date.now()
  for (const [queryId, user] of [
    ['20261203_000001_00001_aaaaa', 'alice'],
    ['20261203_000002_00002_bbbbb', 'bob'],
    ['20261203_000003_00003_ccccc', 'alice'],
  ] as const) {
    await gateway.store.history.insert({
      queryId,
      queryText: 'SELECT 1',
      created: now,
      backendUrl: 'http://127.0.0.1:1',
      userName: user,
      source: 'test',
      routingGroup: 'adhoc',
      externalUrl: null,
    })
  }
})
afterAll(async () => {
  await gateway?.close()
  await openGateway?.close()
  await database?.close()
})

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

async function call(
  target: RunningGateway,
  method: string,
  path: string,
  options: { authorization?: string; cookie?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {}
  if (options.authorization !== undefined) headers.authorization = options.authorization
  if (options.cookie !== undefined) headers.cookie = options.cookie
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    redirect: 'manual',
  })
  const text = await response.text()
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = undefined
  }
  return { status: response.status, text, json, headers: response.headers }
}

function totalOf(answer: { json: Record<string, unknown> | undefined }): number | undefined {
  return (answer.json?.data as { total?: number } | undefined)?.total
}

/** A concrete path for a route pattern (parameters filled in). */
function pathOf(route: string): string {
  return route
    .replace(':name', 'nobody')
    .replace(':id', '999999')
    .replace(':entityType', 'GATEWAY_BACKEND')
    .replace(':file', 'app.css')
}

const protectedRoutes = Object.entries(routeAccess).filter(([, access]) => access !== 'public')

describe('the route policy', () => {
  it('lists every route the gateway registers', () => {
    const unlisted = gateway
      .adminRoutes()
      .filter((route) => !route.startsWith('HEAD '))
      .filter((route) => !(route in routeAccess))
    expect(unlisted).toEqual([])
  })
  it('lists no route the gateway does not have', () => {
    const registered = new Set(gateway.adminRoutes())
    expect(Object.keys(routeAccess).filter((route) => !registered.has(route))).toEqual([])
  })
  it('needs admin for a route it does not know, and maps HEAD to GET', () => {
    expect(accessOf('POST', '/something/new')).toBe('admin')
    expect(accessOf('HEAD', '/trino-gateway/livez')).toBe('public')
  })
})

describe('every admin route', () => {
  it.each(protectedRoutes)('%s is refused with 401 without a login', async (route, access) => {
    const [method, pattern] = route.split(' ') as [string, string]
    const answer = await call(gateway, method, pathOf(pattern))
    expect(answer.status).toBe(401)
    expect(answer.json?.code).toBe('AUTHENTICATION_REQUIRED')
    expect(answer.text).toContain(`role ${access}`)
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
  })
  it.each(protectedRoutes.filter(([, access]) => access !== 'user'))(
    '%s is refused with 403 for role user',
    async (route, access) => {
      const [method, pattern] = route.split(' ') as [string, string]
      const answer = await call(gateway, method, pathOf(pattern), {
        authorization: basic('alice', alicePassword),
      })
      expect(answer.status).toBe(403)
      expect(answer.json?.code).toBe('ROLE_REQUIRED')
      expect(answer.json?.message).toContain(`needs role ${access}; user alice has roles user`)
    },
  )
  it.each(protectedRoutes)('%s is allowed for admin', async (route) => {
    const [method, pattern] = route.split(' ') as [string, string]
    const answer = await call(gateway, method, pathOf(pattern), {
      authorization: basic('admin', adminPassword),
    })
    expect([401, 403]).not.toContain(answer.status)
  })
  it('role api reaches the backend API and nothing of admin', async () => {
    const robot = basic('robot', robotPassword)
    expect((await call(gateway, 'GET', '/gateway/backend/all', { authorization: robot })).status).toBe(200)
    expect((await call(gateway, 'POST', '/webapp/saveBackend', { authorization: robot })).status).toBe(403)
    expect((await call(gateway, 'POST', '/webapp/getAllBackends', { authorization: robot })).status).toBe(403)
  })
  it('public routes need no login', async () => {
    expect((await call(gateway, 'GET', '/trino-gateway/livez')).status).toBe(200)
    expect((await call(gateway, 'GET', '/api/public/backends')).status).toBe(200)
    const root = await call(gateway, 'GET', '/')
    expect(root.status).toBe(303)
    expect(root.headers.get('location')).toBe('/trino-gateway')
  })
})

describe('login', () => {
  it('sets a signed, HttpOnly, SameSite, expiring session cookie that authenticates', async () => {
    const login = await call(gateway, 'POST', '/login', {
      body: { username: 'admin', password: adminPassword },
    })
    expect(login.status).toBe(200)
    expect(login.json?.data).toMatchObject({ userName: 'admin', roles: ['ADMIN', 'USER', 'API'] })
    const setCookie = login.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(new RegExp(`^${sessionCookieName}=[\\w-]+\\.[\\w-]+\\.[\\w-]+;`))
    expect(setCookie).toContain('HttpOnly')
    expect(setCookie).toContain('SameSite=Strict')
    expect(setCookie).toContain('Max-Age=600')
    const cookie = setCookie.split(';')[0] as string
    const info = await call(gateway, 'POST', '/userinfo', { cookie })
    expect(info.status).toBe(200)
    expect(info.json?.data).toMatchObject({ userName: 'admin', roles: ['ADMIN', 'USER', 'API'] })
    // The same token as a Bearer header.
    const token = cookie.slice(sessionCookieName.length + 1)
    expect(
      (await call(gateway, 'POST', '/webapp/getAllBackends', { authorization: `Bearer ${token}` })).status,
    ).toBe(200)
    // One changed character of the signature, or of the claims, and it is refused. The signature's
    // first character, not its last: the last base64url character of a 32-byte MAC carries two
    // unused bits, so A -> B there can leave the bytes (and the signature) unchanged.
    const signatureAt = cookie.lastIndexOf('.') + 1
    const changed = cookie[signatureAt] === 'A' ? 'B' : 'A'
    const forged = await call(gateway, 'POST', '/userinfo', {
      cookie: `${cookie.slice(0, signatureAt)}${changed}${cookie.slice(signatureAt + 1)}`,
    })
    expect(forged.status).toBe(401)
    expect(forged.json?.code).toBe('LOGIN_FAILED')
    const [header, , signature] = token.split('.') as [string, string, string]
    const claims = Buffer.from(
      JSON.stringify({ iss: 'trino-gateway-lab', sub: 'admin', iat: 1, exp: 4_000_000_000 }),
    ).toString('base64url')
    expect(
      (await call(gateway, 'POST', '/userinfo', { authorization: `Bearer ${header}.${claims}.${signature}` }))
        .status,
    ).toBe(401)
  })
  it('refuses a wrong password and an unknown user alike, with no hint', async () => {
    const wrongPassword = await call(gateway, 'POST', '/login', {
      body: { username: 'admin', password: 'nope' },
    })
    const unknownUser = await call(gateway, 'POST', '/login', {
      body: { username: 'mallory', password: 'nope' },
    })
    expect(wrongPassword.status).toBe(401)
    expect(unknownUser.status).toBe(401)
    expect(wrongPassword.json).toEqual(unknownUser.json)
    expect(wrongPassword.json).toEqual({ code: 'LOGIN_FAILED', message: 'Authentication failed.' })
    expect(wrongPassword.headers.get('set-cookie')).toBeNull()
    const badBasic = await call(gateway, 'POST', '/userinfo', { authorization: basic('admin', 'nope') })
    expect(badBasic.status).toBe(401)
    expect(badBasic.json?.code).toBe('LOGIN_FAILED')
  })
  it('names the missing field of a malformed login body, never its value', async () => {
    const answer = await call(gateway, 'POST', '/login', { body: { username: 'admin', password: 12345 } })
    expect(answer.status).toBe(400)
    expect(answer.json?.code).toBe('REQUEST_BODY_INVALID')
    expect(answer.text).toContain('password: expected a non-empty string')
    expect(answer.text).not.toContain('12345')
  })
  it('logout clears the cookie; loginType says form', async () => {
    const logout = await call(gateway, 'POST', '/logout')
    expect(logout.headers.get('set-cookie')).toContain('Max-Age=0')
    expect((await call(gateway, 'POST', '/loginType')).json).toEqual({ code: 200, msg: 'Ok', data: 'form' })
  })
  it('never writes a password to the log', async () => {
    await call(gateway, 'POST', '/login', { body: { username: 'alice', password: alicePassword } })
    await call(gateway, 'POST', '/login', { body: { username: 'alice', password: 'wrong-guess-123' } })
    await call(gateway, 'POST', '/userinfo', { authorization: basic('alice', 'wrong-guess-456') })
    const log = logLines.join('')
    expect(log).toContain('admin login refused')
    expect(log).toContain('"user":"alice"')
    for (const secret of [adminPassword, alicePassword, 'wrong-guess-123', 'wrong-guess-456']) {
      expect(log).not.toContain(secret)
    }
  })
})

describe('pages', () => {
  it('tells each user the pages pagePermissions grants their roles, and every user the disabled ones', async () => {
    const alice = await call(gateway, 'POST', '/userinfo', { authorization: basic('alice', alicePassword) })
    expect(alice.json?.data).toMatchObject({
      userName: 'alice',
      roles: ['USER'],
      permissions: ['dashboard', 'history'],
    })
    const admin = await call(gateway, 'POST', '/userinfo', { authorization: basic('admin', adminPassword) })
    expect(((admin.json?.data as { permissions?: string[] } | undefined)?.permissions ?? []).sort()).toEqual([
      'cluster',
      'dashboard',
      'history',
    ])
    const ui = await call(gateway, 'GET', '/webapp/getUIConfiguration', {
      authorization: basic('alice', alicePassword),
    })
    expect(ui.json).toEqual({ code: 200, msg: 'Successful.', data: { disablePages: ['selector'] } })
  })
})

describe('query history by role', () => {
  it('shows a user only their own queries, whatever user they ask for', async () => {
    const alice = basic('alice', alicePassword)
    const own = await call(gateway, 'POST', '/webapp/findQueryHistory', { authorization: alice, body: {} })
    const rows = (own.json?.data as { rows: { user: string }[] } | undefined)?.rows ?? []
    expect(rows.map((row) => row.user)).toEqual(['alice', 'alice'])
    const asked = await call(gateway, 'POST', '/webapp/findQueryHistory', {
      authorization: alice,
      body: { user: 'bob' },
    })
    expect(totalOf(asked)).toBe(2)
  })
  it('shows admin every query and filters by the user asked for', async () => {
    const admin = basic('admin', adminPassword)
    const all = await call(gateway, 'POST', '/webapp/findQueryHistory', { authorization: admin, body: {} })
    expect(totalOf(all)).toBe(3)
    const bob = await call(gateway, 'POST', '/webapp/findQueryHistory', {
      authorization: admin,
      body: { user: 'bob' },
    })
    expect(totalOf(bob)).toBe(1)
    const group = await call(gateway, 'POST', '/webapp/findQueryHistory', {
      authorization: admin,
      body: { routingGroup: 'etl' },
    })
    expect(totalOf(group)).toBe(0)
  })
})

describe('security off (no authentication block)', () => {
  it('admits every admin route without credentials, as Trino Gateway does', async () => {
    expect((await call(openGateway, 'POST', '/webapp/getAllBackends')).status).toBe(200)
    expect((await call(openGateway, 'GET', '/gateway/backend/all')).status).toBe(200)
    expect((await call(openGateway, 'POST', '/loginType')).json).toEqual({
      code: 200,
      msg: 'Ok',
      data: 'none',
    })
    const all = await call(openGateway, 'POST', '/webapp/findQueryHistory', { body: {} })
    expect(totalOf(all)).toBe(3)
  })
})
