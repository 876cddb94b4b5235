import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createSessionSigner } from './session.ts'

const minuteMs = 60_000
const t0 = Date.UTC(2026, 11, 3, 12, 0, 0)
const folders: string[] = []
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true })
})

async function keyPairFiles(): Promise<{ privateKeyRsa: string; publicKeyRsa: string }> {
  const folder = await mkdtemp(path.join(tmpdir(), 'tgl-session-'))
  folders.push(folder)
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const privateKeyRsa = path.join(folder, 'key.pem')
  const publicKeyRsa = path.join(folder, 'key.pub')
  await writeFile(privateKeyRsa, privateKey.export({ type: 'pkcs8', format: 'pem' }))
  await writeFile(publicKeyRsa, publicKey.export({ type: 'spki', format: 'pem' }))
  return { privateKeyRsa, publicKeyRsa }
}

describe('session tokens', () => {
  it('HS256: round-trips the user until exp, then refuses', () => {
    const signer = createSessionSigner()
    expect(signer.algorithm).toBe('HS256')
    const { token, expiresAtMs } = signer.issue('alice', t0, 10 * minuteMs)
    expect(expiresAtMs).toBe(t0 + 10 * minuteMs)
    expect(signer.verify(token, t0 + 9 * minuteMs)).toBe('alice')
    expect(signer.verify(token, t0 + 10 * minuteMs)).toBeUndefined()
  })
  it('refuses a token of another process key, a bad shape, and an altered claim', () => {
    const signer = createSessionSigner()
    const other = createSessionSigner()
    const { token } = signer.issue('alice', t0, minuteMs)
    expect(other.verify(token, t0)).toBeUndefined()
    for (const bad of ['', 'a.b', 'a.b.c.d', `${token}x`, 'x'.repeat(10_000)]) {
      expect(signer.verify(bad, t0)).toBeUndefined()
    }
    const [header, , signature] = token.split('.') as [string, string, string]
    const claims = Buffer.from(
      JSON.stringify({ iss: 'trino-gateway-lab', sub: 'admin', iat: 0, exp: 9e9 }),
    ).toString('base64url')
    expect(signer.verify(`${header}.${claims}.${signature}`, t0)).toBeUndefined()
  })
  it('RS256 with a key pair: two gateways with the same pair accept each other’s logins', async () => {
    const pair = await keyPairFiles()
    const first = createSessionSigner(pair)
    const second = createSessionSigner(pair)
    expect(first.algorithm).toBe('RS256')
    const { token } = first.issue('operator', t0, minuteMs)
    expect(second.verify(token, t0)).toBe('operator')
    // An HS256 token (or alg none) is refused by an RS256 gateway.
    const hmac = createSessionSigner().issue('operator', t0, minuteMs).token
    expect(second.verify(hmac, t0)).toBeUndefined()
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.`
    expect(second.verify(none, t0)).toBeUndefined()
  })
  it('names the key file it cannot read', () => {
    expect(() => createSessionSigner({ privateKeyRsa: '/nonexistent/key.pem', publicKeyRsa: '/x' })).toThrow(
      /selfSignKeyPair\.privateKeyRsa: cannot read \/nonexistent\/key\.pem/,
    )
  })
})
