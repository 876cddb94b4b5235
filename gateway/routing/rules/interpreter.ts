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

/** The variables of one request's evaluation. Host objects may be computed lazily. */
export interface RuleScope {
  request: HostObject
  state: JavaMap
  result: JavaMap
  trinoQueryProperties: () => HostObject
  trinoRequestUser: () => HostObject
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
      return (scope) => {
        const value = arg(scope)
        return guard(position, () =>
          fn === 'optionalOf' ? JavaOptional.of(value) : JavaOptional.ofNullable(value),
        )
      }
    }
    case 'member': {
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
  const left = compileExpression(expression.left)
  const right = compileExpression(expression.right)
  switch (op) {
    case '==':
      return (scope) => valuesEqual(left(scope), right(scope))
    case '!=':
      return (scope) => !valuesEqual(left(scope), right(scope))
    case 'contains':
      return (scope) => {
        const container = left(scope)
        const item = right(scope)
        return guard(position, () => infixContains(container, item))
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

function guard(position: Expression['position'], call: () => Value): Value {
  try {
    return call()
  } catch (error) {
    if (error instanceof ModelError) throw new RuleEvaluationError(error.message, position)
    throw error
  }
}

export { HostObject }
