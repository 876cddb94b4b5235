/**
 * The closed syntax tree of the MVEL subset. Every name a rule may touch is resolved at parse time
 * into one of these nodes, so evaluation never looks a name up in a JavaScript object.
 */
import type { SourcePosition } from './errors.ts'

/** The variables a rule can read, as Trino Gateway binds them. */
export type RootVariable = 'request' | 'state' | 'result' | 'trinoQueryProperties' | 'trinoRequestUser'

export const rootVariables: readonly RootVariable[] = [
  'request',
  'state',
  'result',
  'trinoQueryProperties',
  'trinoRequestUser',
]

/** Java classes `new X()` may build (with or without `java.util.`); MVEL takes no type parameters. */
export type NewableClass = 'HashSet' | 'HashMap' | 'ArrayList'

export type StaticFunction = 'optionalOf' | 'optionalOfNullable' | 'optionalEmpty'

export type BinaryOperator = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'contains' | '+'

export type Expression =
  | { type: 'literal'; value: string | number | boolean | null; position: SourcePosition }
  /** MVEL's `empty` literal: equal to null, '', an empty collection or an empty Optional. */
  | { type: 'empty'; position: SourcePosition }
  | { type: 'variable'; name: RootVariable; position: SourcePosition }
  /** `object.name(args)`, or `object.name` (args null): a no-argument call, a getter or a map key. */
  | { type: 'member'; object: Expression; name: string; args: Expression[] | null; position: SourcePosition }
  | { type: 'static'; fn: StaticFunction; args: Expression[]; position: SourcePosition }
  | { type: 'new'; className: NewableClass; position: SourcePosition }
  | { type: 'not'; operand: Expression; position: SourcePosition }
  | { type: 'logical'; op: '&&' | '||'; left: Expression; right: Expression; position: SourcePosition }
  | { type: 'binary'; op: BinaryOperator; left: Expression; right: Expression; position: SourcePosition }
  | {
      type: 'conditional'
      test: Expression
      consequent: Expression
      alternate: Expression
      position: SourcePosition
    }

export type Statement =
  | { type: 'expression'; expression: Expression; position: SourcePosition }
  | {
      type: 'if'
      branches: Array<{ test: Expression; body: Statement[] }>
      otherwise: Statement[] | null
      position: SourcePosition
    }

/** A parsed condition or action: statements separated by `;`; a condition's value is its last one. */
export interface Program {
  statements: Statement[]
  /** Root variables the program reads, so the caller can compute only what is needed. */
  variables: ReadonlySet<RootVariable>
}
