/**
 * `routingRules.rulesType: FILE`: routing groups from a Trino Gateway rules file. The imperative
 * shell around the pure engine: the first load happens at construction (a bad file stops start-up
 * with a located error); a timer re-reads the file every `rulesRefreshPeriod`; a file that fails
 * to reload leaves the last good rules in force and is reported in `status()` and `metrics()`.
 * `select` touches memory only.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { type RequestAnalyzerConfig, requestAnalyzerConfigSchema } from '../analyzer/config.ts'
import type { RoutingGroupSelection, RoutingGroupSelector, RoutingRequest } from '../selector.ts'
import { createScope, evaluateRules, type RuleEvaluationMode } from './engine.ts'
import { routingRuleError } from './errors.ts'
import { type CompiledRule, loadRules } from './loader.ts'

/** Minimal logger shape; fastify's pino logger fits. */
export interface RulesLogger {
  info(object: Record<string, unknown>, message: string): void
  warn(object: Record<string, unknown>, message: string): void
  error(object: Record<string, unknown>, message: string): void
}

export interface FileRoutingGroupSelectorOptions {
  rulesConfigPath: string
  /** How often the file is re-read; 0 disables the timer (reload() still works). */
  rulesRefreshPeriodMs: number
  evaluation?: RuleEvaluationMode
  requestAnalyzer?: RequestAnalyzerConfig
  logger?: RulesLogger
  /** Clock for status timestamps (tests inject one). */
  nowMs?: () => number
}

export interface RulesLoadError {
  code: string
  message: string
  atMs: number
}

/** What `/trino-gateway/readyz` detail and the admin API can show about the rules in force. */
export interface RulesStatus {
  rulesConfigPath: string
  ruleCount: number
  /** sha256 of the file content in force. */
  contentSha256: string
  loadedAtMs: number
  /** The last failed load, cleared by the next successful one. */
  lastError: RulesLoadError | null
  /** True while a newer file failed to load and older rules are in force. */
  stale: boolean
}

export interface RulesMetrics {
  /** `trino_gateway_routing_rules_reloads_total`: successful loads that changed the rules. */
  reloadsTotal: number
  /** `trino_gateway_routing_rules_reload_failures_total`. */
  reloadFailuresTotal: number
  /** `trino_gateway_routing_rule_evaluation_errors_total{rule}`. */
  evaluationErrorsTotal: number
  evaluationErrorsByRule: Readonly<Record<string, number>>
}

export interface FileRoutingGroupSelector extends RoutingGroupSelector {
  readonly kind: 'file'
  select(request: RoutingRequest): RoutingGroupSelection
  /** Re-reads the file now; resolves with the status after the attempt. */
  reload(): Promise<RulesStatus>
  status(): RulesStatus
  metrics(): RulesMetrics
  /** The rules in force, sorted by priority. */
  rules(): readonly CompiledRule[]
  close(): Promise<void>
}

/** Distinct rule names whose evaluation errors are counted one by one; the rest share a bucket. */
export const evaluationErrorRuleNamesMax = 1000
/** The reload timer never runs more often than this, whatever rulesRefreshPeriod says. */
export const rulesRefreshPeriodMsMin = 10

export function createFileRoutingGroupSelector(
  options: FileRoutingGroupSelectorOptions,
): FileRoutingGroupSelector {
  const nowMs = options.nowMs ?? Date.now
  const analyzer = options.requestAnalyzer ?? requestAnalyzerConfigSchema.parse(undefined)
  const mode = options.evaluation ?? 'all-matches'
  const path = options.rulesConfigPath
  const log = options.logger

  const compile = (text: string): CompiledRule[] =>
    loadRules(text, { analyzeRequest: analyzer.analyzeRequest, source: path })

  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw routingRuleError(
      'ROUTING_RULES_FILE_UNREADABLE',
      `routingRules.rulesConfigPath ${JSON.stringify(path)} cannot be read: ${(error as Error).message}`,
    )
  }
  let rules = compile(text)
  let status: RulesStatus = {
    rulesConfigPath: path,
    ruleCount: rules.length,
    contentSha256: sha256(text),
    loadedAtMs: nowMs(),
    lastError: null,
    stale: false,
  }
  const metrics = {
    reloadsTotal: 0,
    reloadFailuresTotal: 0,
    evaluationErrorsTotal: 0,
    evaluationErrorsByRule: new Map<string, number>(),
  }
  log?.info({ rulesConfigPath: path, ruleCount: rules.length }, 'routing rules loaded')

  let reloading: Promise<RulesStatus> | undefined
  const reloadOnce = async (): Promise<RulesStatus> => {
    let next: string
    try {
      next = await readFile(path, 'utf8')
    } catch (error) {
      return fail(
        routingRuleError(
          'ROUTING_RULES_FILE_UNREADABLE',
          `${path} cannot be read: ${(error as Error).message}`,
        ),
      )
    }
    const digest = sha256(next)
    if (digest === status.contentSha256) {
      if (status.stale) status = { ...status, stale: false, lastError: null }
      return status
    }
    let compiled: CompiledRule[]
    try {
      compiled = compile(next)
    } catch (error) {
      return fail(error)
    }
    rules = compiled
    status = {
      rulesConfigPath: path,
      ruleCount: compiled.length,
      contentSha256: digest,
      loadedAtMs: nowMs(),
      lastError: null,
      stale: false,
    }
    metrics.reloadsTotal += 1
    log?.info({ rulesConfigPath: path, ruleCount: compiled.length }, 'routing rules reloaded')
    return status
  }
  const fail = (error: unknown): RulesStatus => {
    const code =
      typeof (error as { code?: unknown }).code === 'string'
        ? (error as { code: string }).code
        : 'ROUTING_RULE_INVALID'
    const message = error instanceof Error ? error.message : String(error)
    metrics.reloadFailuresTotal += 1
    status = { ...status, lastError: { code, message, atMs: nowMs() }, stale: true }
    log?.error(
      { rulesConfigPath: path, code, err: message },
      'routing rules reload failed; the last good rules stay in force',
    )
    return status
  }
  const reload = (): Promise<RulesStatus> => {
    reloading ??= reloadOnce().finally(() => {
      reloading = undefined
    })
    return reloading
  }

  const timer =
    options.rulesRefreshPeriodMs > 0
      ? setInterval(() => void reload(), Math.max(options.rulesRefreshPeriodMs, rulesRefreshPeriodMsMin))
      : undefined
  timer?.unref()

  const countFailure = (rule: string): void => {
    metrics.evaluationErrorsTotal += 1
    const key =
      metrics.evaluationErrorsByRule.has(rule) ||
      metrics.evaluationErrorsByRule.size < evaluationErrorRuleNamesMax
        ? rule
        : '(other)'
    metrics.evaluationErrorsByRule.set(key, (metrics.evaluationErrorsByRule.get(key) ?? 0) + 1)
  }

  return {
    kind: 'file',
    select(request) {
      const outcome = evaluateRules(rules, createScope(request, analyzer), mode)
      if (outcome.failures.length === 0) return { routingGroup: outcome.routingGroup }
      for (const failure of outcome.failures) countFailure(failure.rule)
      log?.warn(
        { failures: outcome.failures },
        'routing rules threw while evaluating; those rules were skipped',
      )
      return {
        routingGroup: outcome.routingGroup,
        warnings: outcome.failures.map((failure) => `rule "${failure.rule}" skipped: ${failure.message}`),
      }
    },
    reload,
    status: () => status,
    metrics: () => ({
      reloadsTotal: metrics.reloadsTotal,
      reloadFailuresTotal: metrics.reloadFailuresTotal,
      evaluationErrorsTotal: metrics.evaluationErrorsTotal,
      evaluationErrorsByRule: Object.fromEntries(metrics.evaluationErrorsByRule),
    }),
    rules: () => rules,
    async close() {
      if (timer !== undefined) clearInterval(timer)
      await reloading
    },
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
