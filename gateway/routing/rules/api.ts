/**
 * The routing-rules web-app API of Trino Gateway (§3.5): `GET /webapp/getRoutingRules` and
 * `POST /webapp/updateRoutingRules`, as functions and as a fastify plugin. An update replaces the
 * rule of the same name (unknown names change nothing, as in Trino Gateway), is compiled before
 * anything is written, and lands atomically (temporary file + rename), so a reader or the reload
 * timer never sees half a file. The selector is reloaded right after a successful write.
 */
import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { stringify } from 'yaml'
import { CodedError, describeIssues } from '../../../common/errors.ts'
import { routingRuleError } from './errors.ts'
import { loadRules, parseRulesFile, type RoutingRule, routingRuleSchema } from './loader.ts'

/** Rules in file order (not sorted), with Trino Gateway's defaults applied. */
export async function readRoutingRules(rulesConfigPath: string): Promise<RoutingRule[]> {
  let text: string
  try {
    text = await readFile(rulesConfigPath, 'utf8')
  } catch (error) {
    throw routingRuleError(
      'ROUTING_RULES_FILE_UNREADABLE',
      `${rulesConfigPath} cannot be read: ${(error as Error).message}`,
    )
  }
  return parseRulesFile(text, rulesConfigPath).map(({ rule }) => rule)
}

/** Writes rules as YAML documents with Trino Gateway's key order; comments are not kept. */
export function serializeRoutingRules(rules: readonly RoutingRule[]): string {
  return rules
    .map((rule) =>
      stringify(
        {
          name: rule.name,
          description: rule.description,
          priority: rule.priority,
          actions: rule.actions,
          condition: rule.condition,
        },
        { lineWidth: 0 },
      ),
    )
    .map((document) => `---\n${document}`)
    .join('')
}

// Updates of one file are serialized in this process; the rename makes each write atomic for readers.
const fileLocks = new Map<string, Promise<unknown>>()

export interface UpdateRoutingRuleOptions {
  /** Whether the rules may use trinoQueryProperties / trinoRequestUser. */
  analyzeRequest: boolean
}

export async function updateRoutingRule(
  rulesConfigPath: string,
  rule: RoutingRule,
  options: UpdateRoutingRuleOptions,
): Promise<RoutingRule[]> {
  const previous = fileLocks.get(rulesConfigPath) ?? Promise.resolve()
  const next = previous.catch(() => undefined).then(() => writeUpdate(rulesConfigPath, rule, options))
  fileLocks.set(rulesConfigPath, next)
  try {
    return await next
  } finally {
    if (fileLocks.get(rulesConfigPath) === next) fileLocks.delete(rulesConfigPath)
  }
}

async function writeUpdate(
  path: string,
  rule: RoutingRule,
  options: UpdateRoutingRuleOptions,
): Promise<RoutingRule[]> {
  const current = await readRoutingRules(path)
  if (!current.some((existing) => existing.name === rule.name)) return current
  const updated = current.map((existing) => (existing.name === rule.name ? rule : existing))
  const text = serializeRoutingRules(updated)
  try {
    loadRules(text, {
      analyzeRequest: options.analyzeRequest,
      source: `${path} (updated rule "${rule.name}")`,
    })
  } catch (error) {
    throw routingRuleError('ROUTING_RULE_UPDATE_INVALID', (error as Error).message, {
      ...(error instanceof CodedError ? { cause: error.code } : {}),
    })
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await writeFile(temporary, text, { encoding: 'utf8', flag: 'wx' })
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
  return updated
}

export interface RulesApiOptions {
  rulesConfigPath: string | undefined
  /** With rules managed by an external service, getRoutingRules answers 204 as Trino Gateway does. */
  rulesEngineEnabled: boolean
  rulesType: 'FILE' | 'EXTERNAL'
  analyzeRequest: boolean
  /** The file selector in force, reloaded after an update so the change applies at once. */
  selector?: { reload?: () => Promise<unknown> } | undefined
  /**
   * Wraps each update (file write and reload); a data-plane worker takes the gateway-wide lock and
   * has every other worker reload before the update answers. Absent: the update runs as is.
   */
  coordinateUpdate?: ((update: () => Promise<RoutingRule[]>) => Promise<RoutingRule[]>) | undefined
}

function envelope(data: unknown): { code: number; msg: string; data: unknown } {
  return { code: 200, msg: 'Successful.', data }
}

function sendError(
  reply: { code(status: number): { send(body: unknown): unknown } },
  error: unknown,
): unknown {
  if (error instanceof CodedError) return reply.code(error.statusCode).send(error.toJSON())
  throw error
}

/** `app.register(rulesApi, { rulesConfigPath, rulesEngineEnabled, rulesType, analyzeRequest, selector })` */
export const rulesApi: FastifyPluginAsync<RulesApiOptions> = async (app: FastifyInstance, options) => {
  const path = (): string => {
    if (options.rulesConfigPath === undefined) {
      throw routingRuleError('ROUTING_RULES_PATH_MISSING', 'routingRules.rulesConfigPath is not set')
    }
    return options.rulesConfigPath
  }
  const external = options.rulesEngineEnabled && options.rulesType === 'EXTERNAL'

  app.get('/webapp/getRoutingRules', async (_request, reply) => {
    if (external) return reply.code(204).send()
    try {
      return envelope(await readRoutingRules(path()))
    } catch (error) {
      return sendError(reply, error)
    }
  })

  app.post('/webapp/updateRoutingRules', async (request, reply) => {
    if (external) {
      return sendError(
        reply,
        routingRuleError(
          'ROUTING_RULE_UPDATE_BODY_INVALID',
          'Routing rules are managed by an external service',
        ),
      )
    }
    // The gateway's server hands admin bodies over as text; a standalone fastify parses JSON itself.
    let body: unknown = request.body
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body)
      } catch {
        return sendError(
          reply,
          routingRuleError(
            'ROUTING_RULE_UPDATE_BODY_INVALID',
            'the body is not JSON; expected a routing rule object',
          ),
        )
      }
    }
    const parsed = routingRuleSchema.safeParse(body)
    if (!parsed.success) {
      return sendError(
        reply,
        routingRuleError(
          'ROUTING_RULE_UPDATE_BODY_INVALID',
          `invalid routing rule: ${describeIssues(parsed.error.issues, body).join('; ')}; expected {name, description, priority, actions, condition}`,
        ),
      )
    }
    try {
      const update = async () => {
        const rules = await updateRoutingRule(path(), parsed.data, { analyzeRequest: options.analyzeRequest })
        await options.selector?.reload?.()
        return rules
      }
      return envelope(await (options.coordinateUpdate?.(update) ?? update()))
    } catch (error) {
      return sendError(reply, error)
    }
  })
}
