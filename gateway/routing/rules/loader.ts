/**
 * Reads a Trino Gateway routing-rules file (multi-document YAML) into compiled rules. Validation
 * is all-or-nothing: one bad rule refuses the whole file with the file, the rule name, the field
 * and the line and column, and the caller keeps whatever rules it had.
 */
import { isMap, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml'
import { describeIssues } from '../../../common/errors.ts'
import { hostMemberNames } from './analysis-objects.ts'
import type { RootVariable } from './ast.ts'
import { RuleSyntaxError, routingRuleError } from './errors.ts'
import { type CompiledProgram, compileProgram } from './interpreter.ts'
import { parseProgram } from './parser.ts'

import { type RoutingRule, routingRuleSchema } from './rule-schema.ts'

export { type RoutingRule, routingRuleSchema }

export interface CompiledRule extends RoutingRule {
  /** Position in the file, 0-based; ties of priority keep this order. */
  fileIndex: number
  compiledCondition: CompiledProgram
  compiledActions: CompiledProgram[]
}

export interface CompileOptions {
  /** Whether trinoQueryProperties and trinoRequestUser are bound (requestAnalyzerConfig.analyzeRequest). */
  analyzeRequest: boolean
  /** File name for messages. */
  source: string
}

/** Rule files larger than this are refused: they are configuration a person edits. */
export const rulesFileBytesMax = 4 * 1024 * 1024
/** More rules than this are refused, so one request's evaluation stays bounded. */
export const rulesCountMax = 10_000

interface FieldLocation {
  /** 1-based line of the file where the field's value starts. */
  line: number
  column: number
}

interface ParsedRule {
  rule: RoutingRule
  locations: Map<string, FieldLocation>
}

/** Parses the YAML and validates every document; throws a CodedError naming the first problem. */
export function parseRulesFile(text: string, source: string): ParsedRule[] {
  if (Buffer.byteLength(text, 'utf8') > rulesFileBytesMax) {
    throw routingRuleError(
      'ROUTING_RULE_INVALID',
      `${source}: the file is larger than ${rulesFileBytesMax} bytes`,
    )
  }
  const lineCounter = new LineCounter()
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true })
  if (!Array.isArray(documents)) {
    throw routingRuleError('ROUTING_RULES_YAML_INVALID', `${source}: not a YAML stream`)
  }
  const parsed: ParsedRule[] = []
  documents.forEach((document, index) => {
    const yamlError = document.errors[0]
    if (yamlError !== undefined) {
      const where = lineCounter.linePos(yamlError.pos[0])
      throw routingRuleError(
        'ROUTING_RULES_YAML_INVALID',
        `${source}:${where.line}:${where.col}: document ${index + 1}: ${yamlError.message.split('\n')[0]}`,
      )
    }
    if (document.contents === null) return
    const raw: unknown = document.toJS()
    if (raw === null || raw === undefined) return
    const result = routingRuleSchema.safeParse(raw)
    const name =
      typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : undefined
    if (!result.success) {
      const label = name === undefined ? `document ${index + 1}` : `rule "${name}" (document ${index + 1})`
      throw routingRuleError(
        'ROUTING_RULE_INVALID',
        `${source}: ${label}: ${describeIssues(result.error.issues, raw).join('; ')}; a rule has exactly name, description, priority, condition and actions`,
      )
    }
    const locations = new Map<string, FieldLocation>()
    if (isMap(document.contents)) {
      const condition = document.contents.get('condition', true) as YamlNode | undefined
      if (condition?.range) locations.set('condition', position(lineCounter, condition))
      const actions = document.contents.get('actions', true) as { items?: YamlNode[] } | undefined
      actions?.items?.forEach((item, i) => {
        if (item.range) locations.set(`actions[${i}]`, position(lineCounter, item))
      })
    }
    parsed.push({ rule: result.data, locations })
  })
  if (parsed.length > rulesCountMax) {
    throw routingRuleError('ROUTING_RULE_INVALID', `${source}: more than ${rulesCountMax} rules`)
  }
  return parsed
}

function position(lineCounter: LineCounter, node: YamlNode): FieldLocation {
  const where = lineCounter.linePos((node.range as [number, number, number])[0])
  return { line: where.line, column: where.col }
}

const conditionVariables = (analyze: boolean): ReadonlySet<RootVariable> =>
  new Set<RootVariable>(
    analyze ? ['request', 'state', 'trinoQueryProperties', 'trinoRequestUser'] : ['request', 'state'],
  )
const actionVariables = (analyze: boolean): ReadonlySet<RootVariable> =>
  new Set<RootVariable>([...conditionVariables(analyze), 'result'])

function unboundReason(name: RootVariable): string {
  if (name === 'result') return 'conditions cannot read result; write to it in actions'
  return 'set requestAnalyzerConfig.analyzeRequest: true to analyze requests'
}

/** Compiles validated rules; throws ROUTING_RULE_SYNTAX naming file, rule, field, line and column. */
export function compileRules(parsed: readonly ParsedRule[], options: CompileOptions): CompiledRule[] {
  return parsed.map(({ rule, locations }, fileIndex) => {
    const compile = (field: string, text: string, allowIf: boolean, variables: ReadonlySet<RootVariable>) => {
      try {
        return compileProgram(parseProgram(text, { variables, hostMemberNames, allowIf, unboundReason }))
      } catch (error) {
        if (!(error instanceof RuleSyntaxError)) throw error
        const at = locations.get(field)
        const fileLine = at === undefined ? '' : `:${at.line}:${at.column}`
        throw routingRuleError(
          'ROUTING_RULE_SYNTAX',
          `${options.source}${fileLine}: rule "${rule.name}" ${field}: ${error.reason} (line ${error.position.line}, column ${error.position.column} of the ${field === 'condition' ? 'condition' : 'action'})`,
          {
            file: options.source,
            rule: rule.name,
            field,
            line: error.position.line,
            column: error.position.column,
            ...(at === undefined ? {} : { fileLine: at.line }),
          },
        )
      }
    }
    return {
      ...rule,
      fileIndex,
      compiledCondition: compile(
        'condition',
        rule.condition,
        false,
        conditionVariables(options.analyzeRequest),
      ),
      compiledActions: rule.actions.map((action, i) =>
        compile(`actions[${i}]`, action, true, actionVariables(options.analyzeRequest)),
      ),
    }
  })
}

/** Stable sort by priority ascending; equal priorities keep file order (Trino Gateway's order). */
export function sortByPriority<T extends { priority: number; fileIndex: number }>(rules: readonly T[]): T[] {
  return [...rules].sort((a, b) => a.priority - b.priority || a.fileIndex - b.fileIndex)
}

/** Parse, compile and sort: the rules a selector evaluates. */
export function loadRules(text: string, options: CompileOptions): CompiledRule[] {
  return sortByPriority(compileRules(parseRulesFile(text, options.source), options))
}
