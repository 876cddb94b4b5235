import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rewriteBackendUri, rewritePrefix, scanQueryResultsPrefix } from './query-results-scan.ts'

const backend = 'http://127.0.0.1:9001'
const gateway = 'http://gw.example:8080'
const results = {
  id: '20240101_000000_00001_abcde',
  infoUri: `${backend}/ui/query.html?20240101_000000_00001_abcde`,
  partialCancelUri: `${backend}/v1/statement/executing/partialCancel/20240101_000000_00001_abcde/0/y/1`,
  nextUri: `${backend}/v1/statement/executing/20240101_000000_00001_abcde/y/1`,
  columns: [{ name: 'id', type: 'varchar' }],
  data: [['{"nextUri":"http://127.0.0.1:9001/evil"}']],
  stats: { state: 'RUNNING' },
}

function valuesOf(text: string) {
  const scan = scanQueryResultsPrefix(Buffer.from(text))
  return {
    decided: scan.decided,
    fields: Object.fromEntries(scan.fields.map((field) => [field.key, field.value])),
  }
}

describe('QueryResults prefix scan', () => {
  it('finds id and the three URIs of a whole body', () => {
    expect(valuesOf(JSON.stringify(results))).toEqual({
      decided: true,
      fields: {
        id: results.id,
        infoUri: results.infoUri,
        partialCancelUri: results.partialCancelUri,
        nextUri: results.nextUri,
      },
    })
  })

  it('stays undecided, with no half-read value, wherever the prefix is cut', () => {
    const text = JSON.stringify({ id: 'q1', stats: { a: [1, '}'] }, nextUri: 'http://x/y' })
    for (let cut = 0; cut < text.length; cut++) {
      const scan = valuesOf(text.slice(0, cut))
      expect(scan.decided).toBe(false)
      // A value is reported only once its closing quote is in the prefix, never cut short.
      expect([undefined, 'http://x/y']).toContain(scan.fields.nextUri)
      expect([undefined, 'q1']).toContain(scan.fields.id)
    }
    expect(valuesOf(text)).toEqual({ decided: true, fields: { id: 'q1', nextUri: 'http://x/y' } })
  })

  it('decides at the end of an object that has no nextUri (the last page)', () => {
    expect(valuesOf('{"id":"q2","infoUri":"http://b/ui","stats":{"state":"FINISHED"}}')).toEqual({
      decided: true,
      fields: { id: 'q2', infoUri: 'http://b/ui' },
    })
  })

  it('ignores nested fields with the same names', () => {
    expect(valuesOf('{"stats":{"id":"nested","nextUri":"n"},"id":"top"}').fields).toEqual({ id: 'top' })
  })

  it('decides at once for a body that is not a JSON object', () => {
    expect(valuesOf('Query not found')).toEqual({ decided: true, fields: {} })
    expect(valuesOf('[1,2]')).toEqual({ decided: true, fields: {} })
  })

  it('never throws and never reports a field outside the prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const scan = scanQueryResultsPrefix(bytes)
        for (const field of scan.fields) expect(field.end).toBeLessThanOrEqual(bytes.length)
      }),
      { numRuns: 1000 },
    )
  })

  it('reads the same fields from any JSON object as JSON.parse does at the top level', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('id', 'nextUri', 'data', 'stats', 'infoUri', 'x'), fc.jsonValue()),
        (object) => {
          const parsed = JSON.parse(JSON.stringify(object)) as Record<string, unknown>
          const expected = Object.fromEntries(
            ['id', 'infoUri', 'partialCancelUri', 'nextUri']
              .filter((key) => typeof parsed[key] === 'string')
              .map((key) => [key, parsed[key]]),
          )
          expect(valuesOf(JSON.stringify(object))).toEqual({ decided: true, fields: expected })
        },
      ),
    )
  })
})

describe('URI rewriting', () => {
  it('rewrites URIs on the backend origin to the gateway origin', () => {
    expect(rewriteBackendUri(`${backend}/v1/statement/q/1`, [backend], gateway)).toBe(
      `${gateway}/v1/statement/q/1`,
    )
  })

  it('leaves other hosts and look-alike ports alone', () => {
    expect(rewriteBackendUri('http://127.0.0.1:90010/v1', [backend], gateway)).toBe(
      'http://127.0.0.1:90010/v1',
    )
    expect(rewriteBackendUri('http://other/v1', [backend], gateway)).toBe('http://other/v1')
  })

  it('rewrites only the leading URI fields of the prefix, keeping every other byte', () => {
    const text = JSON.stringify(results)
    const scan = scanQueryResultsPrefix(Buffer.from(text))
    const rewritten = rewritePrefix(Buffer.from(text), scan.fields, (uri) =>
      rewriteBackendUri(uri, [backend], gateway),
    )
    const parsed = JSON.parse(rewritten.toString('utf8')) as typeof results
    expect(parsed.nextUri).toBe(`${gateway}/v1/statement/executing/20240101_000000_00001_abcde/y/1`)
    expect(parsed.infoUri.startsWith(gateway)).toBe(true)
    expect(parsed.partialCancelUri.startsWith(gateway)).toBe(true)
    expect(parsed.data).toEqual(results.data)
    expect(parsed.id).toBe(results.id)
  })

  it('rewrites any mix of fields (escaped, multi-byte, shorter and longer) as a rebuild from JSON.parse would', () => {
    fc.assert(
      fc.property(
        fc.subarray(['infoUri', 'partialCancelUri', 'nextUri'] as const, { minLength: 1 }),
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        (keys, tail, replacement) => {
          const body: Record<string, unknown> = { id: 'q\u00e9"1' }
          for (const key of keys) body[key] = `${backend}/v1/${key}/${tail}`
          body.data = [[tail, '\\"']]
          const text = JSON.stringify(body)
          const scan = scanQueryResultsPrefix(Buffer.from(text))
          const rewritten = rewritePrefix(Buffer.from(text), scan.fields, (uri, key) =>
            key === 'partialCancelUri' ? uri : `${replacement}${key}`,
          )
          const expected = { ...body }
          for (const key of keys) if (key !== 'partialCancelUri') expected[key] = `${replacement}${key}`
          expect(JSON.parse(rewritten.toString('utf8'))).toEqual(expected)
        },
      ),
    )
  })
})
