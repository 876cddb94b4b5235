import fc from 'fast-check'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { CodedError } from '../../common/errors.ts'
import { redactUrl, resolvePostgresUrl } from './connection.ts'

describe('resolvePostgresUrl', () => {
  it.each([
    ['jdbc:postgresql://db.example:5432/gateway', {}, 'postgres://db.example:5432/gateway'],
    ['jdbc:postgresql://db.example/gateway', {}, 'postgres://db.example:5432/gateway'],
    ['JDBC:PostgreSQL://db.example:6543/gateway', {}, 'postgres://db.example:6543/gateway'],
    [
      'jdbc:postgresql://db.example:5432/gateway',
      { user: 'tg', password: 'pw' },
      'postgres://tg:pw@db.example:5432/gateway',
    ],
    [
      'jdbc:postgresql://db.example:5432/gateway?user=url_user&password=url_pw',
      { user: 'key_user', password: 'key_pw' },
      'postgres://url_user:url_pw@db.example:5432/gateway',
    ],
    [
      'jdbc:postgresql://db.example:5432/gateway?ssl=true',
      {},
      'postgres://db.example:5432/gateway?sslmode=require',
    ],
    [
      'jdbc:postgresql://db.example:5432/gateway?currentSchema=tg',
      {},
      'postgres://db.example:5432/gateway?options=-c+search_path%3Dtg',
    ],
    ['postgres://postgres@127.0.0.1:5432/test', {}, 'postgres://postgres@127.0.0.1:5432/test'],
    ['postgresql://u:p@127.0.0.1/test', { user: 'other' }, 'postgres://u:p@127.0.0.1:5432/test'],
    ['postgres://127.0.0.1:5432/test', { user: 'key_user' }, 'postgres://key_user@127.0.0.1:5432/test'],
  ])('turns %s with keys %j into %s', (jdbcUrl, keys, expected) => {
    expect(resolvePostgresUrl({ jdbcUrl, ...keys })).toBe(expected)
  })

  it.each([
    [
      'jdbc:mysql://db.example:3306/gateway',
      'DATASTORE_NOT_SUPPORTED',
      /only PostgreSQL is supported.*jdbc:mysql/,
    ],
    [
      'jdbc:oracle:thin:@//db.example:1521/XE',
      'DATASTORE_NOT_SUPPORTED',
      /only PostgreSQL is supported.*jdbc:oracle/,
    ],
    ['mysql://db.example/gateway', 'DATASTORE_URL_INVALID', /must start with jdbc:postgresql/],
    ['jdbc:postgresql://db.example:5432/', 'DATASTORE_URL_INVALID', /must name one database/],
    ['jdbc:postgresql://a:5432,b:5432/gateway', 'DATASTORE_URL_INVALID', /is not usable/],
    [
      'jdbc:postgresql://db.example:5432/gateway?loginTimeout=3',
      'DATASTORE_URL_INVALID',
      /parameter loginTimeout/,
    ],
    [
      'jdbc:postgresql://db.example:5432/gateway?ssl=maybe',
      'DATASTORE_URL_INVALID',
      /ssl must be true or false/,
    ],
  ])('refuses %s with %s', (jdbcUrl, code, message) => {
    let thrown: unknown
    try {
      resolvePostgresUrl({ jdbcUrl })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(CodedError)
    expect((thrown as CodedError).code).toBe(code)
    expect((thrown as CodedError).message).toMatch(message)
  })

  it('never puts a password into its error messages', () => {
    expect(() =>
      resolvePostgresUrl({ jdbcUrl: 'jdbc:postgresql://h:5432/db?password=s3cret&bogus=1' }),
    ).toThrow(/password=\*\*\*/)
  })

  it('keeps any user name and password intact for node-postgres', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (user, password) => {
        const url = resolvePostgresUrl({ jdbcUrl: 'jdbc:postgresql://127.0.0.1:5432/test', user, password })
        const parsed = new pg.Client({ connectionString: url })
        expect(parsed.user).toBe(user)
        expect(parsed.password).toBe(password)
        expect(parsed.database).toBe('test')
        expect(parsed.port).toBe(5432)
      }),
    )
  })
})

describe('redactUrl', () => {
  it.each([
    ['postgres://u:secret@h:5432/db', 'postgres://u:***@h:5432/db'],
    [
      'jdbc:postgresql://h:5432/db?user=u&password=secret&ssl=true',
      'jdbc:postgresql://h:5432/db?user=u&password=***&ssl=true',
    ],
    ['postgres://u@h:5432/db', 'postgres://u@h:5432/db'],
  ])('hides the password of %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected)
  })
})
