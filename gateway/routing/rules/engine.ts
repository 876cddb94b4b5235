/**
 * Evaluates sorted rules against one request: the pure core of file-based routing. A rule that
 * throws is skipped (its earlier side effects on state and result stay, as in MVEL) and reported;
 * evaluation carries on with the next rule.
 */
import type { RequestAnalyzerConfig } from '../analyzer/config.ts'
import { analyzeQuery } from '../analyzer/query-properties.ts'
import { extractRequestUser } from '../analyzer/request-user.ts'
import type { RoutingRequest } from '../selector.ts'
import { createQueryPropertiesObject, createRequestUserObject } from './analysis-objects.ts'
import { RuleEvaluationError } from './errors.ts'
import type { HostObject, RuleScope } from './interpreter.ts'
import type { CompiledRule } from './loader.ts'
import { JavaMap, typeName } from './model.ts'
import { createRequestObject } from './request-object.ts'

/**
 * `all-matches`: Trino Gateway's semantics, every matching rule fires and the last write wins.
 * `first-match` (our extension, Trino Gateway #878): evaluation stops after the first matching rule
 * whose actions leave a routingGroup in result; matching rules that only touch state do not stop it.
 */
export type RuleEvaluationMode = 'all-matches' | 'first-match'

export const routingGroupKey = 'routingGroup'

export interface RuleFailure {
  rule: string
  message: string
}

export interface RulesOutcome {
  routingGroup: string | undefined
  /** Names of the rules whose condition held, in evaluation order. */
  matchedRules: string[]
  failures: RuleFailure[]
}

export function createScope(request: RoutingRequest, analyzer: RequestAnalyzerConfig): RuleScope {
  let queryProperties: HostObject | undefined
  let requestUser: HostObject | undefined
  return {
    request: createRequestObject(request),
    state: new JavaMap(),
    result: new JavaMap(),
    // Parsing SQL is the costly part of a request's routing: done only if a rule reads it.
    trinoQueryProperties: () => {
      queryProperties ??= createQueryPropertiesObject(analyzeQuery(request, analyzer))
      return queryProperties
    },
    trinoRequestUser: () => {
      requestUser ??= createRequestUserObject(extractRequestUser(request.headers, analyzer.tokenUserField))
      return requestUser
    },
  }
}

export function evaluateRules(
  rules: readonly CompiledRule[],
  scope: RuleScope,
  mode: RuleEvaluationMode,
): RulesOutcome {
  const matchedRules: string[] = []
  const failures: RuleFailure[] = []
  for (const rule of rules) {
    try {
      const matched = rule.compiledCondition.run(scope)
      if (typeof matched !== 'boolean') {
        throw new RuleEvaluationError(`the condition must be a boolean, got ${typeName(matched)}`, {
          line: 1,
          column: 1,
        })
      }
      if (!matched) continue
      matchedRules.push(rule.name)
      for (const action of rule.compiledActions) action.run(scope)
    } catch (error) {
      failures.push({ rule: rule.name, message: describeFailure(error) })
      continue
    }
    if (mode === 'first-match' && routingGroupOf(scope.result) !== undefined) break
  }
  return { routingGroup: routingGroupOf(scope.result), matchedRules, failures }
}

function routingGroupOf(result: JavaMap): string | undefined {
  const value = result.entries.get(routingGroupKey)
  return typeof value === 'string' && value !== '' ? value : undefined
}

function describeFailure(error: unknown): string {
  if (error instanceof RuleEvaluationError) return error.message
  // A RangeError (stack) or any bug in the model is still contained to this rule.
  return `internal error: ${error instanceof Error ? error.message : String(error)}`
}
