import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type RoutingKey, signRoutingToken, verifyRoutingToken } from './routing-token.js'

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
