/**
 * What the gateway needs from the rules engine: a selector built from `routingRules` and
 * `requestAnalyzerConfig`, or undefined when the rules engine is off (header routing applies).
 */
import type { RequestAnalyzerConfig } from '../analyzer/config.ts'
import type { RoutingGroupSelector } from '../selector.ts'
import type { RoutingRulesConfig } from './config.ts'
import { createExternalRoutingGroupSelector } from './external-selector.ts'
import {
  createFileRoutingGroupSelector,
  type FileRoutingGroupSelector,
  type RulesLogger,
} from './file-selector.ts'

export { rulesApi } from './api.ts'
export { routingRulesConfigSchema } from './config.ts'
export { routingRuleErrors } from './errors.ts'
export { createExternalRoutingGroupSelector } from './external-selector.ts'
export type { FileRoutingGroupSelector, RulesMetrics, RulesStatus } from './file-selector.ts'
export { createFileRoutingGroupSelector } from './file-selector.ts'

export function createRulesSelector(
  routingRules: RoutingRulesConfig,
  requestAnalyzer: RequestAnalyzerConfig,
  logger?: RulesLogger,
): RoutingGroupSelector | FileRoutingGroupSelector | undefined {
  if (!routingRules.rulesEngineEnabled) return undefined
  if (routingRules.rulesType === 'EXTERNAL') {
    const external = routingRules.rulesExternalConfiguration
    if (external === undefined)
      throw new Error('routingRules.rulesExternalConfiguration is validated as present')
    return createExternalRoutingGroupSelector({ ...external, requestAnalyzer })
  }
  if (routingRules.rulesConfigPath === undefined)
    throw new Error('routingRules.rulesConfigPath is validated as present')
  return createFileRoutingGroupSelector({
    rulesConfigPath: routingRules.rulesConfigPath,
    rulesRefreshPeriodMs: routingRules.rulesRefreshPeriodMs,
    evaluation: routingRules.evaluation,
    requestAnalyzer,
    ...(logger === undefined ? {} : { logger }),
  })
}
