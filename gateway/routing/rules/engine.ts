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
import { type HostObject, newHeaderSlots, type RuleScope } from './interpreter.ts'
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

/**
 * One request's variables. Every object is created on first read: a rule set that reads headers
 * only (the usual case) allocates nothing per request but this scope and the outcome.
 */
class RequestScope implements RuleScope {
  readonly headers: Readonly<Record<string, string>>
  readonly headerSlots = newHeaderSlots()
  #request: HostObject | undefined
  #state: JavaMap | undefined
  #result: JavaMap | undefined
  #queryProperties: HostObject | undefined
  #requestUser: HostObject | undefined

  constructor(
    private readonly routingRequest: RoutingRequest,
    private readonly analyzer: RequestAnalyzerConfig,
  ) {
    this.headers = routingRequest.headers
  }

  get request(): HostObject {
    this.#request ??= createRequestObject(this.routingRequest)
    return this.#request
  }

  get state(): JavaMap {
    this.#state ??= new JavaMap()
    return this.#state
  }

  get result(): JavaMap {
    this.#result ??= new JavaMap()
    return this.#result
  }

  /** The routing group written so far, without creating the result map. */
  routingGroup(): string | undefined {
    return this.#result === undefined ? undefined : routingGroupOf(this.#result)
  }

  // Parsing SQL is the costly part of a request's routing: done only if a rule reads it.
  trinoQueryProperties(): HostObject {
    this.#queryProperties ??= createQueryPropertiesObject(analyzeQuery(this.routingRequest, this.analyzer))
    return this.#queryProperties
  }

  trinoRequestUser(): HostObject {
    this.#requestUser ??= createRequestUserObject(
      extractRequestUser(this.routingRequest.headers, this.analyzer.tokenUserField),
    )
    return this.#requestUser
  }
}

export function createScope(request: RoutingRequest, analyzer: RequestAnalyzerConfig): RuleScope {
  return new RequestScope(request, analyzer)
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
    if (mode === 'first-match' && routingGroupIn(scope) !== undefined) break
  }
  return { routingGroup: routingGroupIn(scope), matchedRules, failures }
}

function routingGroupIn(scope: RuleScope): string | undefined {
  return scope instanceof RequestScope ? scope.routingGroup() : routingGroupOf(scope.result)
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
