/**
 * Error codes of the routing-rule engine, the request analyzer and the external routing service.
 * Same shape as `gatewayErrors` in `gateway/errors.ts`, so the integrator can spread them into the
 * gateway's one catalog (`...routingRuleErrors`). Never rename a code: logs and tests match on them.
 */
import { catalogErrors, type ErrorCatalog } from '../../../common/errors.ts'

export const routingRuleErrors = {
  ROUTING_RULES_FILE_UNREADABLE: { statusCode: 500, summary: 'the routing-rules file cannot be read' },
  ROUTING_RULES_YAML_INVALID: { statusCode: 500, summary: 'the routing-rules file is not valid YAML' },
  ROUTING_RULE_INVALID: {
    statusCode: 500,
    summary: 'a routing rule has a missing, unknown or wrongly typed key, or a duplicate name',
  },
  ROUTING_RULE_SYNTAX: {
    statusCode: 500,
    summary: 'a rule condition or action is not in the supported MVEL subset',
  },
  ROUTING_RULE_EVALUATION_FAILED: {
    statusCode: 500,
    summary: 'a rule threw while it was evaluated; it is skipped for that request',
  },
  ROUTING_RULES_MANAGED_EXTERNALLY: {
    statusCode: 204,
    summary: 'routing rules are managed by an external service',
  },
  ROUTING_RULES_PATH_MISSING: { statusCode: 500, summary: 'routingRules.rulesConfigPath is not set' },
  ROUTING_RULE_UPDATE_INVALID: {
    statusCode: 400,
    summary: 'an updated routing rule does not compile; the file was left unchanged',
  },
  ROUTING_RULE_UPDATE_BODY_INVALID: { statusCode: 400, summary: 'the updateRoutingRules body is malformed' },
  EXTERNAL_ROUTING_ERRORS: {
    statusCode: 400,
    summary: 'the external routing service returned errors and propagateErrors is on',
  },
  EXTERNAL_ROUTING_FAILED: {
    statusCode: 502,
    summary: 'the external routing service failed; the header group or the default group was used',
  },
} as const satisfies ErrorCatalog

export type RoutingRuleErrorCode = keyof typeof routingRuleErrors

export const routingRuleError = catalogErrors(routingRuleErrors)

/** Where a piece of MVEL text starts, 1-based, relative to the expression's own text. */
export interface SourcePosition {
  line: number
  column: number
}

/**
 * A located syntax error of the MVEL subset. The parser throws nothing else on any input; the
 * loader adds the file, the rule name and the field before it reaches a person.
 */
export class RuleSyntaxError extends Error {
  readonly code = 'ROUTING_RULE_SYNTAX'
  constructor(
    readonly reason: string,
    readonly position: SourcePosition,
  ) {
    super(`${reason} at line ${position.line}, column ${position.column}`)
    this.name = 'RuleSyntaxError'
  }
}

/** Raised while evaluating a rule (null dereference, wrong type); the rule is skipped and counted. */
export class RuleEvaluationError extends Error {
  readonly code = 'ROUTING_RULE_EVALUATION_FAILED'
  constructor(
    readonly reason: string,
    readonly position: SourcePosition,
  ) {
    super(`${reason} at line ${position.line}, column ${position.column}`)
    this.name = 'RuleEvaluationError'
  }
}
