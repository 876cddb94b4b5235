/**
 * Recursive-descent parser of the MVEL subset (see docs/routing-rules.md). It resolves every name
 * while parsing: a root variable, a known static (`java.util.Optional.of`,
 * `FileBasedRoutingGroupSelector.RESULTS_ROUTING_GROUP_KEY`), a `new` of a whitelisted collection,
 * or a member name some model value answers to. Anything else is a located RuleSyntaxError.
 */
import type {
  BinaryOperator,
  Expression,
  NewableClass,
  Program,
  RootVariable,
  Statement,
  StaticFunction,
} from './ast.ts'
import { RuleSyntaxError, type SourcePosition } from './errors.ts'
import { type Token, tokenize } from './lexer.ts'
import { modelMemberNames } from './model.ts'

/** Nesting deeper than this is refused, so no input can exhaust the stack. */
export const nestingDepthMax = 64

export interface ParseOptions {
  /** Variables bound where this program runs (conditions see no `result`; analysis may be off). */
  variables: ReadonlySet<RootVariable>
  /** Why a known variable is not bound here, for the error message. */
  unboundReason?: (name: RootVariable) => string
  /** Host-object member names (request, trinoQueryProperties, ...) besides the built-in types'. */
  hostMemberNames: ReadonlySet<string>
  /** Whether `if` blocks are allowed (actions) or only expressions (conditions). */
  allowIf: boolean
}

const routingGroupKeyPaths = [
  'FileBasedRoutingGroupSelector.RESULTS_ROUTING_GROUP_KEY',
  'io.trino.gateway.ha.router.FileBasedRoutingGroupSelector.RESULTS_ROUTING_GROUP_KEY',
]

const staticFunctions: ReadonlyMap<string, StaticFunction> = new Map([
  ['Optional.of', 'optionalOf'],
  ['java.util.Optional.of', 'optionalOf'],
  ['Optional.ofNullable', 'optionalOfNullable'],
  ['java.util.Optional.ofNullable', 'optionalOfNullable'],
  ['Optional.empty', 'optionalEmpty'],
  ['java.util.Optional.empty', 'optionalEmpty'],
])

const newableClasses: ReadonlyMap<string, NewableClass> = new Map([
  ['HashSet', 'HashSet'],
  ['java.util.HashSet', 'HashSet'],
  ['LinkedHashSet', 'HashSet'],
  ['java.util.LinkedHashSet', 'HashSet'],
  ['HashMap', 'HashMap'],
  ['java.util.HashMap', 'HashMap'],
  ['LinkedHashMap', 'HashMap'],
  ['java.util.LinkedHashMap', 'HashMap'],
  ['ArrayList', 'ArrayList'],
  ['java.util.ArrayList', 'ArrayList'],
])

const reservedWords = new Set(['if', 'else', 'new', 'true', 'false', 'null', 'nil', 'empty', 'contains'])

export function parseProgram(source: string, options: ParseOptions): Program {
  return new Parser(tokenize(source), options).program()
}

class Parser {
  private index = 0
  private depth = 0
  private readonly variablesUsed = new Set<RootVariable>()

  constructor(
    private readonly tokens: readonly Token[],
    private readonly options: ParseOptions,
  ) {}

  program(): Program {
    const statements = this.statements('end')
    if (statements.length === 0) throw new RuleSyntaxError('empty expression', this.peek().position)
    return { statements, variables: this.variablesUsed }
  }

  private peek(offset = 0): Token {
    return (this.tokens[this.index + offset] ?? this.tokens[this.tokens.length - 1]) as Token
  }

  private next(): Token {
    const token = this.peek()
    if (token.kind !== 'end') this.index += 1
    return token
  }

  private isPunctuator(text: string, offset = 0): boolean {
    const token = this.peek(offset)
    return token.kind === 'punctuator' && token.text === text
  }

  private isWord(text: string, offset = 0): boolean {
    const token = this.peek(offset)
    return token.kind === 'identifier' && token.text === text
  }

  private expectPunctuator(text: string, context: string): Token {
    const token = this.peek()
    if (token.kind !== 'punctuator' || token.text !== text) {
      throw new RuleSyntaxError(`expected '${text}' ${context} but found ${describe(token)}`, token.position)
    }
    return this.next()
  }

  private expectIdentifier(context: string): Token {
    const token = this.peek()
    if (token.kind !== 'identifier') {
      throw new RuleSyntaxError(`expected a name ${context} but found ${describe(token)}`, token.position)
    }
    return this.next()
  }

  private enter(position: SourcePosition): void {
    this.depth += 1
    if (this.depth > nestingDepthMax) {
      throw new RuleSyntaxError(`expression nests deeper than ${nestingDepthMax} levels`, position)
    }
  }

  private leave(): void {
    this.depth -= 1
  }

  /** Statements up to `terminator` ('end' or '}'), separated by ';' (a trailing ';' is allowed). */
  private statements(terminator: 'end' | '}'): Statement[] {
    const statements: Statement[] = []
    for (;;) {
      while (this.isPunctuator(';')) this.next()
      const token = this.peek()
      if (terminator === 'end' ? token.kind === 'end' : this.isPunctuator('}')) return statements
      if (token.kind === 'end') {
        throw new RuleSyntaxError(`expected '}' before the end of the expression`, token.position)
      }
      const statement = this.statement()
      statements.push(statement)
      const after = this.peek()
      const closesBlock = statement.type === 'if'
      if (
        !closesBlock &&
        !this.isPunctuator(';') &&
        !(terminator === 'end' ? after.kind === 'end' : this.isPunctuator('}'))
      ) {
        throw new RuleSyntaxError(
          `expected ';' or the end of the statement but found ${describe(after)}`,
          after.position,
        )
      }
    }
  }

  private statement(): Statement {
    const token = this.peek()
    if (this.isWord('if')) {
      if (!this.options.allowIf) {
        throw new RuleSyntaxError("'if' blocks are allowed in actions, not in conditions", token.position)
      }
      return this.ifStatement()
    }
    if (this.isWord('else'))
      throw new RuleSyntaxError("'else' without a preceding 'if' block", token.position)
    if (this.isPunctuator('{')) throw new RuleSyntaxError('a block must follow an if or else', token.position)
    return { type: 'expression', expression: this.expression(), position: token.position }
  }

  private ifStatement(): Statement {
    const position = this.next().position
    this.enter(position)
    const branches: Array<{ test: Expression; body: Statement[] }> = []
    this.expectPunctuator('(', "after 'if'")
    const test = this.expression()
    this.expectPunctuator(')', 'after the if condition')
    branches.push({ test, body: this.block() })
    let otherwise: Statement[] | null = null
    while (this.isWord('else')) {
      this.next()
      if (this.isWord('if')) {
        this.next()
        this.expectPunctuator('(', "after 'else if'")
        const elseTest = this.expression()
        this.expectPunctuator(')', 'after the else-if condition')
        branches.push({ test: elseTest, body: this.block() })
        continue
      }
      otherwise = this.block()
      break
    }
    this.leave()
    return { type: 'if', branches, otherwise, position }
  }

  private block(): Statement[] {
    this.expectPunctuator('{', 'to open the block')
    const body = this.statements('}')
    this.expectPunctuator('}', 'to close the block')
    return body
  }

  private expression(): Expression {
    const position = this.peek().position
    this.enter(position)
    const test = this.logicalOr()
    let result = test
    if (this.isPunctuator('?')) {
      this.next()
      const consequent = this.expression()
      this.expectPunctuator(':', "in the '? :' expression")
      const alternate = this.expression()
      result = { type: 'conditional', test, consequent, alternate, position }
    }
    this.leave()
    return result
  }

  private logicalOr(): Expression {
    let left = this.logicalAnd()
    while (this.isPunctuator('||')) {
      const { position } = this.next()
      left = { type: 'logical', op: '||', left, right: this.logicalAnd(), position }
    }
    return left
  }

  private logicalAnd(): Expression {
    let left = this.comparison()
    while (this.isPunctuator('&&')) {
      const { position } = this.next()
      left = { type: 'logical', op: '&&', left, right: this.comparison(), position }
    }
    return left
  }

  private comparison(): Expression {
    let left = this.additive()
    for (;;) {
      const token = this.peek()
      let op: BinaryOperator | undefined
      if (token.kind === 'punctuator' && ['==', '!=', '<', '>', '<=', '>='].includes(token.text)) {
        op = token.text as BinaryOperator
      } else if (token.kind === 'identifier' && token.text === 'contains') {
        op = 'contains'
      }
      if (op === undefined) return left
      this.next()
      left = { type: 'binary', op, left, right: this.additive(), position: token.position }
    }
  }

  private additive(): Expression {
    let left = this.unary()
    while (this.isPunctuator('+')) {
      const { position } = this.next()
      left = { type: 'binary', op: '+', left, right: this.unary(), position }
    }
    return left
  }

  private unary(): Expression {
    if (this.isPunctuator('!')) {
      const { position } = this.next()
      this.enter(position)
      const operand = this.unary()
      this.leave()
      return { type: 'not', operand, position }
    }
    return this.postfix(this.primary())
  }

  private postfix(start: Expression): Expression {
    let object = start
    while (this.isPunctuator('.')) {
      this.next()
      const nameToken = this.expectIdentifier("after '.'")
      object = this.member(object, nameToken)
    }
    return object
  }

  private member(object: Expression, nameToken: Token): Expression {
    const name = nameToken.text
    if (!modelMemberNames.has(name) && !this.options.hostMemberNames.has(name)) {
      throw new RuleSyntaxError(`unknown method or property '${name}'`, nameToken.position)
    }
    const args = this.isPunctuator('(') ? this.arguments() : null
    return { type: 'member', object, name, args, position: nameToken.position }
  }

  private arguments(): Expression[] {
    const open = this.expectPunctuator('(', 'to open the argument list')
    this.enter(open.position)
    const args: Expression[] = []
    if (!this.isPunctuator(')')) {
      for (;;) {
        args.push(this.expression())
        if (!this.isPunctuator(',')) break
        this.next()
      }
    }
    this.expectPunctuator(')', 'to close the argument list')
    this.leave()
    return args
  }

  private primary(): Expression {
    const token = this.peek()
    const { position } = token
    if (token.kind === 'string') {
      this.next()
      return { type: 'literal', value: token.text, position }
    }
    if (token.kind === 'number') {
      this.next()
      return { type: 'literal', value: Number(token.text), position }
    }
    if (this.isPunctuator('(')) {
      this.next()
      const inner = this.expression()
      this.expectPunctuator(')', 'to close the parenthesis')
      return inner
    }
    if (token.kind !== 'identifier') {
      throw new RuleSyntaxError(`expected a value but found ${describe(token)}`, position)
    }
    switch (token.text) {
      case 'true':
      case 'false':
        this.next()
        return { type: 'literal', value: token.text === 'true', position }
      case 'null':
      case 'nil':
        this.next()
        return { type: 'literal', value: null, position }
      case 'empty':
        this.next()
        return { type: 'empty', position }
      case 'new':
        return this.newExpression()
      default:
        break
    }
    if (reservedWords.has(token.text)) {
      throw new RuleSyntaxError(`'${token.text}' cannot start a value`, position)
    }
    if ((rootVariableNames as ReadonlySet<string>).has(token.text)) {
      const name = token.text as RootVariable
      if (!this.options.variables.has(name)) {
        const why = this.options.unboundReason?.(name) ?? 'it is not bound here'
        throw new RuleSyntaxError(`variable '${name}' is not available: ${why}`, position)
      }
      this.next()
      this.variablesUsed.add(name)
      return { type: 'variable', name, position }
    }
    return this.staticReference()
  }

  /** A dotted Java name: `java.util.Optional.of(...)` or the routing-group key constant. */
  private staticReference(): Expression {
    const first = this.peek()
    const parts = [this.next().text]
    let consumed = 1
    let match: { kind: 'key' } | { kind: 'fn'; fn: StaticFunction } | undefined
    let matchedParts = 0
    for (;;) {
      const path = parts.join('.')
      if (routingGroupKeyPaths.includes(path)) {
        match = { kind: 'key' }
        matchedParts = parts.length
      } else {
        const fn = staticFunctions.get(path)
        if (fn !== undefined) {
          match = { kind: 'fn', fn }
          matchedParts = parts.length
        }
      }
      if (match !== undefined || !this.isPunctuator('.') || this.peek(1).kind !== 'identifier') break
      // Stop extending once no known static starts with the path read so far.
      const candidate = `${path}.${this.peek(1).text}`
      if (!isStaticPrefix(candidate)) break
      this.next()
      parts.push(this.next().text)
      consumed += 1
    }
    if (match === undefined || matchedParts !== consumed) {
      throw new RuleSyntaxError(
        `unknown name '${parts.join('.')}': rules may use request, state, result, trinoQueryProperties, trinoRequestUser, java.util.Optional and FileBasedRoutingGroupSelector.RESULTS_ROUTING_GROUP_KEY`,
        first.position,
      )
    }
    if (match.kind === 'key') return { type: 'literal', value: 'routingGroup', position: first.position }
    if (!this.isPunctuator('(')) {
      throw new RuleSyntaxError(`'${parts.join('.')}' must be called with parentheses`, this.peek().position)
    }
    const args = this.arguments()
    const expected = match.fn === 'optionalEmpty' ? 0 : 1
    if (args.length !== expected) {
      throw new RuleSyntaxError(
        `'${parts.join('.')}' takes ${expected} argument${expected === 1 ? '' : 's'}, got ${args.length}`,
        first.position,
      )
    }
    return { type: 'static', fn: match.fn, args, position: first.position }
  }

  private newExpression(): Expression {
    const position = this.next().position
    const parts = [this.expectIdentifier("after 'new'").text]
    while (this.isPunctuator('.')) {
      this.next()
      parts.push(this.expectIdentifier('in the class name').text)
    }
    const name = parts.join('.')
    const className = newableClasses.get(name)
    if (className === undefined) {
      throw new RuleSyntaxError(
        `'new ${name}()' is not supported: rules may create HashSet, HashMap or ArrayList`,
        position,
      )
    }
    if (this.isPunctuator('<')) {
      throw new RuleSyntaxError('MVEL takes no type parameters: write new HashSet()', this.peek().position)
    }
    this.expectPunctuator('(', `after 'new ${name}'`)
    this.expectPunctuator(')', `after 'new ${name}(': constructor arguments are not supported`)
    return { type: 'new', className, position }
  }
}

const rootVariableNames: ReadonlySet<RootVariable> = new Set([
  'request',
  'state',
  'result',
  'trinoQueryProperties',
  'trinoRequestUser',
])

const staticPaths = [...routingGroupKeyPaths, ...staticFunctions.keys()]

function isStaticPrefix(path: string): boolean {
  return staticPaths.some((known) => known === path || known.startsWith(`${path}.`))
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the expression'
    case 'string':
      return `string ${JSON.stringify(token.text)}`
    case 'number':
      return `number ${token.text}`
    default:
      return `'${token.text}'`
  }
}
