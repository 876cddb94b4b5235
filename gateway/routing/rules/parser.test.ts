import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { requestAnalyzerConfigSchema } from '../analyzer/config.ts'
import type { RoutingRequest } from '../selector.ts'
import { hostMemberNames } from './analysis-objects.ts'
import type { RootVariable } from './ast.ts'
import { createScope } from './engine.ts'
import { RuleEvaluationError, RuleSyntaxError } from './errors.ts'
import { compileProgram, headerSlotsMax } from './interpreter.ts'
import { HostObject, JavaList, JavaMap, JavaOptional, JavaSet, type Value } from './model.ts'
import { parseProgram } from './parser.ts'

const allVariables: ReadonlySet<RootVariable> = new Set([
  'request',
  'state',
  'result',
  'trinoQueryProperties',
  'trinoRequestUser',
])
const analyzer = requestAnalyzerConfigSchema.parse({ analyzeRequest: true })

function routingRequest(headers: Record<string, string> = {}, body = 'SELECT 1'): RoutingRequest {
  return {
    method: 'POST',
    path: '/v1/statement',
    queryString: 'a=1',
    headers,
    body,
    remoteAddress: '10.0.0.1',
  }
}

function run(source: string, headers: Record<string, string> = {}) {
  const program = compileProgram(
    parseProgram(source, { variables: allVariables, hostMemberNames, allowIf: true }),
  )
  const scope = createScope(routingRequest(headers), analyzer)
  return { value: program.run(scope), scope }
}

describe('the MVEL subset', () => {
  it.each<[string, Value]>([
    ['request.getHeader("X-Trino-Source") == "airflow"', true],
    ['request.getHeader("x-trino-source") != "airflow"', false],
    ['request.getHeader("X-Missing") == null', true],
    ['request.getHeader("X-Missing") contains "a"', false],
    ['request.getHeader("X-Trino-Client-Tags") contains "label=special"', true],
    ['request.getHeader("X-Trino-Source").startsWith("air")', true],
    ['request.getHeader("X-Trino-Source").toUpperCase.equals("AIRFLOW")', true],
    ['request.getRequestURI.startsWith("/v1/")', true],
    ['request.requestURI == "/v1/statement"', true],
    ['request.method == "POST"', true],
    ['request.getQueryString()', 'a=1'],
    ['request.getParameter("a")', '1'],
    ['request.getRemoteAddr()', '10.0.0.1'],
    ['!(1 < 2) || 2 >= 3', false],
    ['"a" + "b" + 1', 'ab1'],
    ['true ? "yes" : "no"', 'yes'],
    ['request.getHeader("X-Missing") == empty && "" == empty', true],
    ['java.util.Optional.of("x").equals(Optional.of("x"))', true],
    ['Optional.empty().isPresent()', false],
    ['trinoQueryProperties.getQueryType()', 'Query'],
    ['trinoQueryProperties.queryType', 'Query'],
    ['trinoQueryProperties.newQuerySubmission', true],
    ['trinoRequestUser.getUser().orElse("nobody")', 'nobody'],
    ['FileBasedRoutingGroupSelector.RESULTS_ROUTING_GROUP_KEY', 'routingGroup'],
    ['/* comment */ "x" // trailing', 'x'],
    ['\'single\' == "single"', true],
    ['"tab\\tand \\"quote\\" \\u0041"', 'tab\tand "quote" A'],
  ])('%s evaluates to %j', (source, expected) => {
    const headers = { 'x-trino-source': 'airflow', 'x-trino-client-tags': 'email=a@b,label=special' }
    expect(run(source, headers).value).toEqual(expected)
  })

  it('runs if / else if / else blocks and writes result and state', () => {
    const source = `
      state.put("seen", new HashSet());
      if (request.getHeader("X-A") == "1") { result.put("routingGroup", "one") }
      else if (request.getHeader("X-A") == "2") { result.put("routingGroup", "two"); state.get("seen").add("two") }
      else { result.put("routingGroup", "other") }`
    for (const [a, group] of [
      ['1', 'one'],
      ['2', 'two'],
      ['3', 'other'],
    ]) {
      const { scope } = run(source, { 'x-a': a as string })
      expect(scope.result.entries.get('routingGroup')).toBe(group)
    }
    const { scope } = run(source, { 'x-a': '2' })
    expect(Array.from((scope.state.entries.get('seen') as JavaSet).items)).toEqual(['two'])
  })

  it.each([
    ['request.getHeader("a") ==', 'expected a value but found the end of the expression', 1, 26],
    ['request.getHeader("a")\n  .nope()', "unknown method or property 'nope'", 2, 4],
    ['new java.io.File("x")', "'new java.io.File()' is not supported", 1, 1],
    ['new HashSet<String>()', 'MVEL takes no type parameters', 1, 12],
    ['System.exit(0)', "unknown name 'System'", 1, 1],
    ['"unterminated', 'unterminated string literal', 1, 1],
    ['a = 1', 'unexpected character "="', 1, 3],
    ['request.getHeader("a") @ 1', 'unexpected character "@"', 1, 24],
    ['if (true) { 1 } else', "expected '{' to open the block", 1, 21],
    ['x => 1', 'unexpected character "="', 1, 3],
  ])('refuses %j with a located error', (source, reason, line, column) => {
    try {
      parseProgram(source, { variables: allVariables, hostMemberNames, allowIf: true })
      expect.unreachable('the parser accepted the source')
    } catch (error) {
      expect(error).toBeInstanceOf(RuleSyntaxError)
      expect((error as RuleSyntaxError).reason).toContain(reason)
      expect((error as RuleSyntaxError).position).toEqual({ line, column })
    }
  })

  it('refuses if blocks in conditions and result outside actions', () => {
    const conditionVariables: ReadonlySet<RootVariable> = new Set(['request', 'state'])
    expect(() =>
      parseProgram('if (true) { 1 }', { variables: conditionVariables, hostMemberNames, allowIf: false }),
    ).toThrow(/'if' blocks are allowed in actions/)
    expect(() =>
      parseProgram('result.put("a", "b")', {
        variables: conditionVariables,
        hostMemberNames,
        allowIf: false,
      }),
    ).toThrow(/variable 'result' is not available/)
  })

  it('raises a located evaluation error on a null dereference', () => {
    try {
      run('request.getHeader("X-None").isEmpty()')
      expect.unreachable('evaluation succeeded')
    } catch (error) {
      expect(error).toBeInstanceOf(RuleEvaluationError)
      expect((error as RuleEvaluationError).message).toBe(
        'cannot call isEmpty on null (NullPointerException) at line 1, column 29',
      )
    }
  })
})

describe('the sandbox', () => {
  const escapes = [
    'request.constructor',
    'request.__proto__',
    'request.getHeader.constructor("return process")()',
    'state.constructor.constructor("return process")()',
    'process.env',
    'globalThis',
    'this',
    'Function("return 1")',
    'eval("1")',
    'require("fs")',
    'request["getHeader"]',
    'state.get("__proto__").polluted',
    'java.lang.Runtime.getRuntime()',
    'new Object()',
    'Math.random()',
    'request.prototype',
    'Object.keys(state)',
  ]
  it.each(escapes)('refuses %s at load', (source) => {
    expect(() => parseProgram(source, { variables: allVariables, hostMemberNames, allowIf: true })).toThrow(
      RuleSyntaxError,
    )
  })

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'answers null for a header named %s instead of a JavaScript prototype member',
    (name) => {
      expect(run(`request.getHeader("${name}")`).value).toBeNull()
    },
  )

  it('keeps rule-chosen map keys away from JavaScript prototypes', () => {
    const { value, scope } = run(
      'state.put("__proto__", "x"); state.put("constructor", "y"); state.get("__proto__") + state.get("constructor")',
    )
    expect(value).toBe('xy')
    expect(({} as Record<string, unknown>).x).toBeUndefined()
    expect(scope.state.entries.size).toBe(2)
  })
})

// Random programs built from the subset's own pieces, and random strings: the parser throws only
// RuleSyntaxError, evaluation throws only RuleEvaluationError, and every value stays in the model.
const identifier = fc.constantFrom(
  'request',
  'state',
  'result',
  'trinoQueryProperties',
  'trinoRequestUser',
  'constructor',
  '__proto__',
  'process',
  'getHeader',
  'contains',
  'toLowerCase',
  'isEmpty',
  'put',
  'get',
  'add',
  'java',
  'util',
  'Optional',
  'of',
  'new',
  'HashSet',
  'if',
  'else',
  'null',
  'empty',
  'true',
)
const pieces = fc.oneof(
  identifier,
  fc.constantFrom(
    '.',
    '(',
    ')',
    '{',
    '}',
    ',',
    ';',
    '==',
    '!=',
    '&&',
    '||',
    '!',
    '+',
    '?',
    ':',
    ' contains ',
    ' ',
  ),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: 0, max: 99 }).map(String),
)
const sourceText = fc.oneof(
  fc.array(pieces, { maxLength: 40 }).map((parts) => parts.join('')),
  fc.string({ maxLength: 80 }),
)

function inModel(value: Value): boolean {
  return (
    value === null ||
    ['string', 'number', 'boolean'].includes(typeof value) ||
    value instanceof JavaMap ||
    value instanceof JavaSet ||
    value instanceof JavaList ||
    value instanceof JavaOptional ||
    value instanceof HostObject
  )
}

describe('properties', () => {
  it('the parser throws nothing but a located RuleSyntaxError', () => {
    fc.assert(
      fc.property(sourceText, (source) => {
        try {
          parseProgram(source, { variables: allVariables, hostMemberNames, allowIf: true })
        } catch (error) {
          if (!(error instanceof RuleSyntaxError)) throw error
          expect(error.position.line).toBeGreaterThanOrEqual(1)
          expect(error.position.column).toBeGreaterThanOrEqual(1)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('evaluation throws only RuleEvaluationError and yields only model values', () => {
    const headers = fc.dictionary(
      fc.constantFrom('x-trino-source', 'x-trino-client-tags', 'x-trino-user', 'constructor', '__proto__'),
      fc.string({ maxLength: 10 }),
    )
    fc.assert(
      fc.property(sourceText, headers, (source, requestHeaders) => {
        let program: ReturnType<typeof compileProgram>
        try {
          program = compileProgram(
            parseProgram(source, { variables: allVariables, hostMemberNames, allowIf: true }),
          )
        } catch (error) {
          if (error instanceof RuleSyntaxError) return
          throw error
        }
        const scope = createScope(routingRequest(requestHeaders), analyzer)
        try {
          expect(inModel(program.run(scope))).toBe(true)
        } catch (error) {
          if (!(error instanceof RuleEvaluationError)) throw error
        }
        for (const value of scope.result.entries.values()) expect(inModel(value)).toBe(true)
        expect(Object.getPrototypeOf({})).toBe(Object.prototype)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { numRuns: 3000 },
    )
  })

  it('answers literal header lookups and literal comparisons exactly as the general call path does', () => {
    // `request.getHeader("N")` and `== "lit"` are resolved at load; `"N" + ""` and a set built at run
    // time force the general dispatch, so both must agree on every header map.
    const name = fc.constantFrom('X-Trino-Source', 'x-trino-source', 'X-Other', 'constructor', '__proto__')
    const literal = fc.oneof(
      fc.string({ maxLength: 4 }).map((v) => JSON.stringify(v)),
      fc.constant('null'),
    )
    fc.assert(
      fc.property(
        name,
        literal,
        fc.constantFrom('==', '!=', 'contains'),
        fc.dictionary(
          fc.constantFrom('x-trino-source', 'x-other', 'constructor', '__proto__'),
          fc.string({ maxLength: 4 }),
        ),
        (header, value, op, headers) => {
          const fast = run(`request.getHeader(${JSON.stringify(header)}) ${op} ${value}`, headers)
          const slow = run(`request.getHeader(${JSON.stringify(header)} + "") ${op} (${value} + "")`, headers)
          if (value === 'null' && op === 'contains') return
          if (value === 'null') {
            expect(fast.value).toBe(
              op === '=='
                ? run(`request.getHeader(${JSON.stringify(header)} + "") == null`, headers).value
                : !run(`request.getHeader(${JSON.stringify(header)} + "") == null`, headers).value,
            )
            return
          }
          expect(fast.value).toBe(slow.value)
          const swapped = run(
            `${value} ${op === 'contains' ? '==' : op} request.getHeader(${JSON.stringify(header)})`,
            headers,
          )
          const swappedSlow = run(
            `(${value} + "") ${op === 'contains' ? '==' : op} request.getHeader(${JSON.stringify(header)} + "")`,
            headers,
          )
          expect(swapped.value).toBe(swappedSlow.value)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('puts into result and state with a literal key exactly as the general call does', () => {
    for (const [fast, slow] of [
      [
        'result.put("routingGroup", "a"); result.put("routingGroup", "b")',
        'result.put("routingGroup" + "", "a"); result.put("routing" + "Group", "b")',
      ],
      ['state.put(1, "x"); state.put(1, null)', 'state.put(1 + 0, "x"); state.put(1 + 0, null)'],
      [
        'state.put(true, new HashSet()); state.get(true).add("v")',
        'state.put(!false, new HashSet()); state.get(true).add("v")',
      ],
    ] as const) {
      const a = run(fast)
      const b = run(slow)
      expect(a.value).toEqual(b.value)
      expect(a.scope.result.entries).toEqual(b.scope.result.entries)
      expect(a.scope.state.entries).toEqual(b.scope.state.entries)
    }
    expect(run('result.put("k", "v"); result.put("k", "w")').value).toBe('v')
  })

  it('reads every header right past the bound of header slots', () => {
    const names = Array.from({ length: headerSlotsMax + 8 }, (_, i) => `X-Slot-Test-${i}`)
    const headers = Object.fromEntries(names.map((name, i) => [name.toLowerCase(), `v${i}`]))
    const source = names.map((name, i) => `request.getHeader("${name}") == "v${i}"`).join(' && ')
    expect(run(source, headers).value).toBe(true)
    expect(run(source, { ...headers, [(names.at(-1) as string).toLowerCase()]: 'other' }).value).toBe(false)
  })

  it('reads a header named like an Object.prototype member as absent', () => {
    expect(run('request.getHeader("constructor") == null').value).toBe(true)
    expect(run('request.getHeader("__proto__")').value).toBe(null)
    expect(run('request.getHeader("toString") contains "function"').value).toBe(false)
  })

  it('evaluates well-formed random comparisons of random headers without throwing', () => {
    const header = fc.constantFrom('X-Trino-Source', 'X-Trino-Tag', 'X-Other')
    const comparison = fc
      .tuple(header, fc.constantFrom('==', '!=', 'contains'), fc.string({ maxLength: 5 }))
      .map(([h, op, s]) => `request.getHeader(${JSON.stringify(h)}) ${op} ${JSON.stringify(s)}`)
    const condition = fc
      .array(fc.tuple(comparison, fc.constantFrom('&&', '||')), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.map(([c, op], i) => (i === 0 ? c : `${op} !(${c})`)).join(' '))
    fc.assert(
      fc.property(
        condition,
        fc.dictionary(fc.constantFrom('x-trino-source', 'x-trino-tag'), fc.string({ maxLength: 5 })),
        (source, h) => {
          expect(typeof run(source, h).value).toBe('boolean')
        },
      ),
      { numRuns: 1000 },
    )
  })
})
