import { describe, expect, it } from 'vitest'
import { extractRequestUser } from './request-user.ts'

const jwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`

describe('trinoRequestUser', () => {
  it.each<[string, Record<string, string>, string | null]>([
    [
      'X-Trino-User first',
      { 'x-trino-user': 'alice', authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` },
      'alice',
    ],
    [
      'Basic credentials',
      { authorization: `Basic ${Buffer.from('will:supersecret').toString('base64')}` },
      'will',
    ],
    [
      'a Bearer JWT claim',
      { authorization: `Bearer ${jwt({ email: 'carol@example.com' })}` },
      'carol@example.com',
    ],
    ['a Bearer JWT without the claim', { authorization: `Bearer ${jwt({ sub: 'x' })}` }, null],
    ['an opaque Bearer token', { authorization: 'Bearer abc' }, null],
    ['the Trino UI cookie', { cookie: `a=1; Trino-UI-Token=${jwt({ email: 'dan' })}` }, 'dan'],
    ['nothing', {}, null],
  ])('takes the user from %s', (_what, headers, user) => {
    expect(extractRequestUser(headers, 'email')).toEqual({ user, userInfo: null })
  })

  it('reads the claim named by tokenUserField', () => {
    expect(
      extractRequestUser(
        { authorization: `Bearer ${jwt({ preferred_username: 'erin' })}` },
        'preferred_username',
      ).user,
    ).toBe('erin')
  })
})
