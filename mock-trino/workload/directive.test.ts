import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseDirective } from './directive.ts'

describe('mock directives in SQL comments', () => {
  it.each([
    ['SELECT 1', undefined],
    ['SELECT 1 /* mock: duration=300ms rows=5 */', { durationMs: 300, rows: 5 }],
    ['SELECT 1 /* mock: fail=QUERY_REJECTED */', { fail: 'QUERY_REJECTED' }],
    [
      '/*mock: duration=2s rows=0 fail=EXCEEDED_TIME_LIMIT*/ SELECT 1',
      { durationMs: 2000, rows: 0, fail: 'EXCEEDED_TIME_LIMIT' },
    ],
    ['SELECT 1 /* mock: */', {}],
    ['SELECT 1 /* mock: cpu=3s memory=2GB */', { cpuTimeMs: 3000, peakMemoryBytes: 2 * 1024 ** 3 }],
    [
      'SELECT 1 /* mock: memory=512MB duration=1s cpu=250ms */',
      { durationMs: 1000, cpuTimeMs: 250, peakMemoryBytes: 512 * 1024 ** 2 },
    ],
    ['SELECT 1 /* a plain comment */', undefined],
  ])('reads %j', (sql, expected) => {
    expect(parseDirective(sql)).toEqual({ ok: true, directive: expected })
  })

  it.each([
    ['SELECT 1 /* mock: duration=soon */', 'duration'],
    ['SELECT 1 /* mock: rows=-1 */', 'rows'],
    ['SELECT 1 /* mock: rows=2.5 */', 'rows'],
    ['SELECT 1 /* mock: fail=OOPS */', 'fail'],
    ['SELECT 1 /* mock: speed=fast */', 'speed'],
    ['SELECT 1 /* mock: rows */', 'rows'],
    ['SELECT 1 /* mock: rows=1 rows=2 */', 'rows'],
    ['SELECT 1 /* mock: cpu=lots */', 'cpu'],
    ['SELECT 1 /* mock: memory=2 */', 'memory'],
    ['SELECT 1 /* mock: memory=2GiB */', 'memory'],
    ['SELECT 1 /* mock: memory=2048PB */', 'memory'],
  ])('refuses %j naming the bad key %s', (sql, key) => {
    const result = parseDirective(sql)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.message).toContain(`bad key "${key}"`)
  })

  it('parses any well-formed combination back to the values written', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
        fc.option(fc.constantFrom('USER_CANCELED', 'QUERY_QUEUE_FULL', 'EXCEEDED_TIME_LIMIT'), {
          nil: undefined,
        }),
        (durationMs, rows, fail) => {
          const parts = [
            durationMs === undefined ? '' : `duration=${durationMs}ms`,
            rows === undefined ? '' : `rows=${rows}`,
            fail === undefined ? '' : `fail=${fail}`,
          ].filter((p) => p !== '')
          const result = parseDirective(`SELECT a FROM t /* mock: ${parts.join(' ')} */`)
          const expected: Record<string, unknown> = {}
          if (durationMs !== undefined) expected.durationMs = durationMs
          if (rows !== undefined) expected.rows = rows
          if (fail !== undefined) expected.fail = fail
          expect(result).toEqual({ ok: true, directive: expected })
        },
      ),
    )
  })

  it('never throws on arbitrary comment bodies', () => {
    fc.assert(
      fc.property(fc.string(), (body) => {
        const result = parseDirective(`SELECT 1 /* mock: ${body.replaceAll('*/', '')} */`)
        expect(typeof result.ok).toBe('boolean')
      }),
    )
  })
})
