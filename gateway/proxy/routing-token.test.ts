import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  isProcessRoutingKeyId,
  processRoutingKey,
  type RoutingKey,
  routingKeyIdPattern,
  routingMacCacheEntriesMax,
  signRoutingToken,
  takeRoutingToken,
  verifyRoutingToken,
  withRoutingToken,
} from './routing-token.js'

const keyA: RoutingKey = { id: 'a', secret: Buffer.from('secret-a') }
const keyB: RoutingKey = { id: 'b', secret: Buffer.from('secret-b') }
const queryId = '20261203_102900_00001_abcde'

describe('routing tokens', () => {
  it('round-trips the backend name', () => {
    const token = signRoutingToken(keyA, queryId, 'trino-1')
    expect(verifyRoutingToken([keyA], queryId, token)).toEqual({ ok: true, backend: 'trino-1' })
  })
  it('accepts a token signed with a previous key after rotation', () => {
    const token = signRoutingToken(keyA, queryId, 'trino-1')
    expect(verifyRoutingToken([keyB, keyA], queryId, token)).toEqual({ ok: true, backend: 'trino-1' })
    expect(verifyRoutingToken([keyB], queryId, token)).toEqual({ ok: false, reason: 'unknown-key' })
  })
  it("refuses a forged backend or another query's token", () => {
    const token = signRoutingToken(keyA, queryId, 'trino-1')
    const [id, , tag] = token.split('.')
    const forged = `${id}.${Buffer.from('trino-2').toString('base64url')}.${tag}`
    expect(verifyRoutingToken([keyA], queryId, forged)).toEqual({ ok: false, reason: 'bad-mac' })
    expect(verifyRoutingToken([keyA], `${queryId}x`, token)).toEqual({ ok: false, reason: 'bad-mac' })
  })
  it('refuses a token of a key with the same id but another secret, though the first token is remembered', () => {
    const token = signRoutingToken(keyA, queryId, 'trino-1')
    const sameIdOtherSecret: RoutingKey = { id: 'a', secret: Buffer.from('secret-other') }
    expect(verifyRoutingToken([sameIdOtherSecret], queryId, token)).toEqual({ ok: false, reason: 'bad-mac' })
    expect(verifyRoutingToken([keyA], queryId, token)).toEqual({ ok: true, backend: 'trino-1' })
  })
  it('a remembered token answers only for its own query and key; any other text is checked afresh', () => {
    const token = signRoutingToken(keyA, 'q-remembered', 'trino-1')
    expect(verifyRoutingToken([keyA], 'q-remembered', token)).toEqual({ ok: true, backend: 'trino-1' })
    expect(verifyRoutingToken([keyA], 'q-other', token)).toEqual({ ok: false, reason: 'bad-mac' })
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`
    expect(verifyRoutingToken([keyA], 'q-remembered', tampered)).toEqual({ ok: false, reason: 'bad-mac' })
    const retired: RoutingKey = { id: 'z', secret: Buffer.from('secret-z') }
    expect(verifyRoutingToken([retired], 'q-remembered', token)).toEqual({ ok: false, reason: 'unknown-key' })
    // A token verified (not signed) here is remembered too, and still checked against its query.
    const other: RoutingKey = { id: 'o', secret: Buffer.from('secret-o') }
    const foreign = signRoutingToken(other, 'q-foreign', 'trino-2')
    const sameKey: RoutingKey = { id: 'o', secret: Buffer.from('secret-o') }
    expect(verifyRoutingToken([sameKey], 'q-foreign', foreign)).toEqual({ ok: true, backend: 'trino-2' })
    expect(verifyRoutingToken([sameKey], 'q-foreign', foreign)).toEqual({ ok: true, backend: 'trino-2' })
    expect(verifyRoutingToken([sameKey], 'q-else', foreign)).toEqual({ ok: false, reason: 'bad-mac' })
  })

  it('signs and verifies the same past the bound of remembered MACs', () => {
    const key: RoutingKey = { id: 'c', secret: Buffer.from('secret-c') }
    const first = signRoutingToken(key, 'q0', 'trino-1')
    for (let query = 1; query <= routingMacCacheEntriesMax; query++)
      signRoutingToken(key, `q${query}`, 'trino-1')
    // q0's MAC was pushed out and is computed again, equal to the first one.
    expect(signRoutingToken(key, 'q0', 'trino-1')).toBe(first)
    expect(verifyRoutingToken([key], 'q0', first)).toEqual({ ok: true, backend: 'trino-1' })
  })
  it('calls malformed tokens malformed', () => {
    for (const bad of ['', '.', 'a..x', 'a.b.', '.b.c', 'a.b.c.d', 'abc']) {
      expect(verifyRoutingToken([keyA], queryId, bad)).toEqual({ ok: false, reason: 'malformed' })
    }
  })
  it('never throws on arbitrary input and accepts only what was signed', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.stringMatching(/^[a-z0-9_-]{1,40}$/), (token, id, backend) => {
        const check = verifyRoutingToken([keyA], id, token)
        if (check.ok) expect(token).toBe(signRoutingToken(keyA, id, check.backend))
        const signed = verifyRoutingToken([keyA], id, signRoutingToken(keyA, id, backend))
        expect(signed).toEqual({ ok: true, backend })
      }),
    )
  })
})

describe('routing tokens in URIs', () => {
  it.each([
    ['http://gw/v1/statement/executing/q/y1/2', 'http://gw/v1/statement/executing/q/y1/2?tgRoute=T'],
    ['http://gw/p?a=1', 'http://gw/p?a=1&tgRoute=T'],
    ['http://gw/p?', 'http://gw/p?tgRoute=T'],
    ['http://gw/p?a=1&', 'http://gw/p?a=1&tgRoute=T'],
    ['http://gw/p#frag', 'http://gw/p?tgRoute=T#frag'],
  ])('appends the token to %s', (uri, expected) => {
    expect(withRoutingToken(uri, 'T')).toBe(expected)
  })

  it.each([
    ['', undefined, ''],
    ['a=1', undefined, 'a=1'],
    ['tgRoute=T', 'T', ''],
    ['a=1&tgRoute=T', 'T', 'a=1'],
    ['tgRoute=X&a=1&tgRoute=T', 'T', 'a=1'],
    ['20260101_000000_00001_abcde&tgRoute=T', 'T', '20260101_000000_00001_abcde'],
    ['xtgRoute=T', undefined, 'xtgRoute=T'],
  ])('takes the token out of %j', (queryString, token, rest) => {
    expect(takeRoutingToken(queryString)).toEqual({ token, rest })
  })

  it('takes back exactly the token it appended, leaving the query string as it was', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9=&_%-]{0,30}$/),
        fc.stringMatching(/^[A-Za-z0-9_.~-]{1,60}$/),
        (query, token) => {
          const uri = withRoutingToken(`http://gw/p?${query}`, token)
          const taken = takeRoutingToken(uri.slice(uri.indexOf('?') + 1))
          expect(taken.token).toBe(token)
          const kept = query.split('&').filter((part) => part !== '' && !part.startsWith('tgRoute='))
          expect(taken.rest.split('&').filter((part) => part !== '')).toEqual(kept)
        },
      ),
    )
  })

  it('gives each process its own key, whose id no configured key can have', () => {
    const one = processRoutingKey()
    const two = processRoutingKey()
    expect(one.id).not.toBe(two.id)
    expect(one.secret.equals(two.secret)).toBe(false)
    expect(routingKeyIdPattern.test(one.id)).toBe(false)
    const token = signRoutingToken(one, queryId, 'trino-1')
    expect(isProcessRoutingKeyId(token)).toBe(true)
    expect(verifyRoutingToken([two], queryId, token)).toEqual({ ok: false, reason: 'unknown-key' })
    expect(verifyRoutingToken([one], queryId, token)).toEqual({ ok: true, backend: 'trino-1' })
    expect(isProcessRoutingKeyId(signRoutingToken(keyA, queryId, 'trino-1'))).toBe(false)
  })
})
