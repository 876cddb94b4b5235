/**
 * Turns a parsed Program into nested closures once per load, so evaluating a rule is a few
 * function calls per node (no tree walk by `switch` per request, and never `eval` or `Function`).
 * Every closure reads only the RuleScope it is given and calls only the model's dispatchers.
 */
import type { Expression, Program, RootVariable, Statement } from './ast.ts'
import { RuleEvaluationError } from './errors.ts'
import {
  callMember,
  HostObject,
  infixContains,
  isEmptyValue,
  JavaList,
  JavaMap,
  JavaOptional,
  JavaSet,
  ModelError,
  stringOf,
  typeName,
  type Value,
  valuesEqual,
} from './model.ts'

/**
 * The variables of one request's evaluation. Implementations create each object only when a rule
 * reads it (most rule sets read headers only), so a request pays for what its rules use.
 */
export interface RuleScope {
  /** The request's headers, names lower-cased: `request.getHeader("literal")` reads them directly. */
  readonly headers: Readonly<Record<string, string>>
  /** Header values this request has read, by the slot of the name (see newHeaderSlots). */
  readonly headerSlots: Array<string | null | undefined>
  readonly request: HostObject
  readonly state: JavaMap
  readonly result: JavaMap
  trinoQueryProperties(): HostObject
  trinoRequestUser(): HostObject
}

type Compiled = (scope: RuleScope) => Value

export interface CompiledProgram {
  /** Runs every statement; returns the value of the last expression statement (null if none). */
  run(scope: RuleScope): Value
  readonly variables: ReadonlySet<RootVariable>
}

export function compileProgram(program: Program): CompiledProgram {
  const body = compileStatements(program.statements)
  return { run: body, variables: program.variables }
}

function compileStatements(statements: readonly Statement[]): Compiled {
  const compiled = statements.map(compileStatement)
  if (compiled.length === 1) return compiled[0] as Compiled
  return (scope) => {
    let last: Value = null
    for (const step of compiled) last = step(scope)
    return last
  }
}

function compileStatement(statement: Statement): Compiled {
  if (statement.type === 'expression') return compileExpression(statement.expression)
  const branches = statement.branches.map(({ test, body }) => ({
    test: compileBoolean(test, 'an if condition'),
    body: compileStatements(body),
  }))
  const otherwise = statement.otherwise === null ? null : compileStatements(statement.otherwise)
  return (scope) => {
    for (const branch of branches) if (branch.test(scope)) return branch.body(scope)
    return otherwise === null ? null : otherwise(scope)
  }
}

function compileBoolean(expression: Expression, what: string): (scope: RuleScope) => boolean {
  const evaluate = compileExpression(expression)
  // Operators that always yield a boolean need no check, so nested conditions stay one call deep.
  if (alwaysBoolean(expression)) return evaluate as (scope: RuleScope) => boolean
  const { position } = expression
  return (scope) => {
    const value = evaluate(scope)
    if (typeof value !== 'boolean') {
      throw new RuleEvaluationError(`${what} must be a boolean, got ${typeName(value)}`, position)
    }
    return value
  }
}

function compileExpression(expression: Expression): Compiled {
  switch (expression.type) {
    case 'literal': {
      const { value } = expression
      return () => value
    }
    case 'empty':
      // `empty` only makes sense compared; `x == empty` is handled in the binary case.
      return () => null
    case 'variable':
      return compileVariable(expression.name)
    case 'new':
      switch (expression.className) {
        case 'HashSet':
          return () => new JavaSet()
        case 'HashMap':
          return () => new JavaMap()
        case 'ArrayList':
          return () => new JavaList()
      }
      break
    case 'static': {
      const args = expression.args.map(compileExpression)
      const { position, fn } = expression
      if (fn === 'optionalEmpty') return () => JavaOptional.emptyOptional
      const arg = args[0] as Compiled
      return fn === 'optionalOf'
        ? (scope) => optionalOfAt(position, arg(scope))
        : (scope) => JavaOptional.ofNullable(arg(scope))
    }
    case 'member': {
      const header = literalHeaderName(expression)
      if (header !== undefined) {
        // The commonest call of all rule files, resolved at load: the lower-cased name is a constant
        // and the lookup is one own-property read (the servlet API is case-insensitive).
        const slot = headerSlotOf(header)
        return (scope) => readHeader(scope, header, slot)
      }
      const put = literalMapPut(expression)
      if (put !== undefined) {
        // `result.put("routingGroup", ...)`, the action of nearly every rule: no method dispatch.
        const { variable, key } = put
        const value = compileExpression((expression.args as Expression[])[1] as Expression)
        return (scope) => {
          const map = variable === 'result' ? scope.result : scope.state
          const next = value(scope)
          const previous = map.entries.get(key)
          map.entries.set(key, next)
          return previous ?? null
        }
      }
      const object = compileExpression(expression.object)
      const { name, position } = expression
      if (expression.args === null) {
        return (scope) => callAt(position, object(scope), name, null)
      }
      const argExpressions = expression.args
      // Literal arguments (getHeader("X-Trino-Source")) are built once, not per request.
      if (argExpressions.every((arg) => arg.type === 'literal')) {
        const constant = argExpressions.map((arg) => (arg as { value: Value }).value)
        return (scope) => callAt(position, object(scope), name, constant)
      }
      const args = argExpressions.map(compileExpression)
      return (scope) => {
        const target = object(scope)
        const argv = args.map((arg) => arg(scope))
        return callAt(position, target, name, argv)
      }
    }
    case 'not': {
      const operand = compileBoolean(expression.operand, "the operand of '!'")
      return (scope) => !operand(scope)
    }
    case 'logical': {
      const left = compileBoolean(expression.left, `the left side of '${expression.op}'`)
      const right = compileBoolean(expression.right, `the right side of '${expression.op}'`)
      return expression.op === '&&'
        ? (scope) => left(scope) && right(scope)
        : (scope) => left(scope) || right(scope)
    }
    case 'conditional': {
      const test = compileBoolean(expression.test, "the condition of '? :'")
      const consequent = compileExpression(expression.consequent)
      const alternate = compileExpression(expression.alternate)
      return (scope) => (test(scope) ? consequent(scope) : alternate(scope))
    }
    case 'binary':
      return compileBinary(expression)
  }
  throw new Error('unreachable: unknown expression type')
}

function compileVariable(name: RootVariable): Compiled {
  switch (name) {
    case 'request':
      return (scope) => scope.request
    case 'state':
      return (scope) => scope.state
    case 'result':
      return (scope) => scope.result
    case 'trinoQueryProperties':
      return (scope) => scope.trinoQueryProperties()
    case 'trinoRequestUser':
      return (scope) => scope.trinoRequestUser()
  }
}

function compileBinary(expression: Extract<Expression, { type: 'binary' }>): Compiled {
  const { op, position } = expression
  if (
    (op === '==' || op === '!=') &&
    (expression.left.type === 'empty' || expression.right.type === 'empty')
  ) {
    const other = compileExpression(expression.left.type === 'empty' ? expression.right : expression.left)
    return op === '==' ? (scope) => isEmptyValue(other(scope)) : (scope) => !isEmptyValue(other(scope))
  }
  if (op === '==' || op === '!=') {
    // A string or null literal on one side: Java equals against it is identity of JavaScript
    // primitives, since no other model value equals a string or null.
    const literalOnRight = isStringOrNullLiteral(expression.right)
    if (literalOnRight || isStringOrNullLiteral(expression.left)) {
      const [literal, otherSide] = literalOnRight
        ? [expression.right, expression.left]
        : [expression.left, expression.right]
      const { value } = literal as { value: string | null }
      const header = otherSide.type === 'member' ? literalHeaderName(otherSide) : undefined
      if (header !== undefined) {
        // `request.getHeader("X") == "v"`, the shape of most rules: one closure, no dispatch.
        const slot = headerSlotOf(header)
        return op === '=='
          ? (scope) => readHeader(scope, header, slot) === value
          : (scope) => readHeader(scope, header, slot) !== value
      }
      const other = compileExpression(otherSide)
      return op === '==' ? (scope) => other(scope) === value : (scope) => other(scope) !== value
    }
  }
  const left = compileExpression(expression.left)
  const right = compileExpression(expression.right)
  switch (op) {
    case '==':
      return (scope) => valuesEqual(left(scope), right(scope))
    case '!=':
      return (scope) => !valuesEqual(left(scope), right(scope))
    case 'contains': {
      if (expression.right.type === 'literal' && typeof expression.right.value === 'string') {
        const item = expression.right.value
        const header = expression.left.type === 'member' ? literalHeaderName(expression.left) : undefined
        if (header !== undefined) {
          // Null-safe, as MVEL's infix contains: an absent header contains nothing.
          const slot = headerSlotOf(header)
          return (scope) => {
            const value = readHeader(scope, header, slot)
            return value === null ? false : value.includes(item)
          }
        }
        return (scope) => {
          const container = left(scope)
          if (typeof container === 'string') return container.includes(item)
          return containsAt(position, container, item)
        }
      }
      return (scope) => containsAt(position, left(scope), right(scope))
    }
    case '+':
      return (scope) => {
        const a = left(scope)
        const b = right(scope)
        if (typeof a === 'number' && typeof b === 'number') return a + b
        if (typeof a === 'string' || typeof b === 'string') return stringOf(a) + stringOf(b)
        throw new RuleEvaluationError(`cannot add ${typeName(a)} and ${typeName(b)}`, position)
      }
    case '<':
    case '>':
    case '<=':
    case '>=':
      return (scope) => {
        const a = left(scope)
        const b = right(scope)
        if (
          !(
            (typeof a === 'number' && typeof b === 'number') ||
            (typeof a === 'string' && typeof b === 'string')
          )
        ) {
          throw new RuleEvaluationError(`cannot compare ${typeName(a)} ${op} ${typeName(b)}`, position)
        }
        switch (op) {
          case '<':
            return a < b
          case '>':
            return a > b
          case '<=':
            return a <= b
          default:
            return a >= b
        }
      }
  }
}

function callAt(
  position: Expression['position'],
  target: Value,
  name: string,
  args: readonly Value[] | null,
): Value {
  try {
    return callMember(target, name, args)
  } catch (error) {
    if (error instanceof ModelError) throw new RuleEvaluationError(error.message, position)
    throw error
  }
}

function containsAt(position: Expression['position'], container: Value, item: Value): boolean {
  try {
    return infixContains(container, item)
  } catch (error) {
    if (error instanceof ModelError) throw new RuleEvaluationError(error.message, position)
    throw error
  }
}

function optionalOfAt(position: Expression['position'], value: Value): Value {
  try {
    return JavaOptional.of(value)
  } catch (error) {
    if (error instanceof ModelError) throw new RuleEvaluationError(error.message, position)
    throw error
  }
}

/** `result.put(literal, x)` or `state.put(literal, x)`: the map and the key; undefined otherwise. */
function literalMapPut(
  expression: Extract<Expression, { type: 'member' }>,
): { variable: 'result' | 'state'; key: string | number | boolean } | undefined {
  if (expression.name !== 'put' || expression.args?.length !== 2) return undefined
  const { object } = expression
  if (object.type !== 'variable' || (object.name !== 'result' && object.name !== 'state')) return undefined
  const key = expression.args[0] as Expression
  // A null key is refused by the general path (requireMapKey); only non-null literals come here.
  if (key.type !== 'literal' || key.value === null) return undefined
  return { variable: object.name, key: key.value }
}

/** `request.getHeader("Literal")`: the lower-cased header name, or undefined for any other call. */
function literalHeaderName(expression: Extract<Expression, { type: 'member' }>): string | undefined {
  if (expression.name !== 'getHeader' || expression.args?.length !== 1) return undefined
  if (expression.object.type !== 'variable' || expression.object.name !== 'request') return undefined
  const arg = expression.args[0] as Expression
  return arg.type === 'literal' && typeof arg.value === 'string' ? arg.value.toLowerCase() : undefined
}

/**
 * Header names rules read get a slot each, once, when they are compiled; a request looks each name
 * up once and the other reads are an array index. Bounded: names past the limit are looked up on
 * every read, which is only slower.
 */
export const headerSlotsMax = 64
const headerSlots = new Map<string, number>()

function headerSlotOf(name: string): number {
  let slot = headerSlots.get(name)
  if (slot === undefined) {
    if (headerSlots.size >= headerSlotsMax) return -1
    slot = headerSlots.size
    headerSlots.set(name, slot)
  }
  return slot
}

/** A fresh per-request slot array, one entry per header name compiled so far (undefined: not read yet). */
export function newHeaderSlots(): Array<string | null | undefined> {
  const slots: Array<string | null | undefined> = []
  for (let i = 0; i < headerSlots.size; i += 1) slots.push(undefined)
  return slots
}

function readHeader(scope: RuleScope, name: string, slot: number): string | null {
  const slots = scope.headerSlots
  // A slot past the array belongs to a name compiled after this scope was made: read directly.
  if (slot < 0 || slot >= slots.length) return headerValue(scope.headers, name)
  const cached = slots[slot]
  if (cached !== undefined) return cached
  const value = headerValue(scope.headers, name)
  slots[slot] = value
  return value
}

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | null {
  const value = headers[name]
  // Own properties only: `constructor` or `__proto__` must not reach Object.prototype.
  return typeof value === 'string' && Object.hasOwn(headers, name) ? value : null
}

function alwaysBoolean(expression: Expression): boolean {
  switch (expression.type) {
    case 'not':
    case 'logical':
      return true
    case 'binary':
      return expression.op !== '+'
    case 'literal':
      return typeof expression.value === 'boolean'
    default:
      return false
  }
}

function isStringOrNullLiteral(expression: Expression): boolean {
  return expression.type === 'literal' && (typeof expression.value === 'string' || expression.value === null)
}

export { HostObject }
