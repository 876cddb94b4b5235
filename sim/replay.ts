/**
 * Replay: recorded requests through the routing core, each decision compared with the recorded one.
 * The input is a run's `trace.jsonl` (the gateway's decision records) or a `query_history` export;
 * the routing setup (default group, rules, picker) comes from a scenario, optionally with another
 * rules file, which is how a rule change is tried against real traffic before it ships.
 *
 * What a record does not say is taken from the scenario: a backend outside the recorded decision's
 * groups counts as routable when the scenario registers it active. Backends of the recorded groups
 * are routable exactly when they were candidates.
 */
import { z } from 'zod'
import type { TrinoStatus } from '../gateway/clusters/trino-status.ts'
import type { RoutingDecisionRecord } from '../gateway/routing/decision.ts'
import type { RoutingRequest } from '../gateway/routing/selector.ts'
import type { BackendRecord } from '../gateway/store/types.ts'
import { simError } from './errors.ts'
import { decide, decidingRule, explainChoice, pickerWithLoads, type RoutingSetup } from './routing.ts'

/** Lines a replay reads at most; a bigger trace is cut into parts. */
export const replayLinesMax = 5_000_000
/** Differences printed one by one; the count covers all. */
export const replayDifferencesListedMax = 1000

const statsSchema = z.object({
  runningQueryCount: z.number().int().min(0),
  queuedQueryCount: z.number().int().min(0),
  userQueuedCount: z.record(z.string(), z.number().int().min(0)),
})

/** A trace line as the gateway writes it (unknown keys are kept out, missing optional ones allowed). */
const traceRecordSchema = z.object({
  timestampMs: z.number(),
  method: z.string(),
  path: z.string(),
  traceToken: z.string().nullable(),
  user: z.string().nullable(),
  routingGroupHeader: z.string().nullable(),
  queryId: z.string().nullable(),
  kind: z.enum(['sticky', 'routed']),
  requestedGroup: z.string().nullable(),
  candidates: z.array(z.string()),
  selectedGroup: z.string().nullable(),
  fallback: z.boolean(),
  backend: z.string().nullable(),
  reason: z.string(),
  errorCode: z.string().nullable(),
  request: z
    .object({
      queryString: z.string(),
      headers: z.record(z.string(), z.string()),
      body: z.string(),
      remoteAddress: z.string(),
    })
    .optional(),
  loads: z.record(z.string(), statsSchema).optional(),
})

/** A `query_history` row, with Trino Gateway's column names or the camelCase of our API. */
const historyRowSchema = z.union([
  z
    .object({
      query_id: z.string(),
      query_text: z.string().nullable(),
      user_name: z.string().nullable(),
      source: z.string().nullable(),
      routing_group: z.string().nullable(),
      backend_url: z.string().nullable(),
    })
    .transform((row) => ({
      queryId: row.query_id,
      queryText: row.query_text ?? '',
      user: row.user_name,
      source: row.source,
      routingGroup: row.routing_group,
      backendUrl: row.backend_url,
    })),
  z
    .object({
      queryId: z.string(),
      queryText: z.string().nullable(),
      userName: z.string().nullable(),
      source: z.string().nullable(),
      routingGroup: z.string().nullable(),
      backendUrl: z.string().nullable(),
    })
    .transform((row) => ({
      queryId: row.queryId,
      queryText: row.queryText ?? '',
      user: row.userName,
      source: row.source,
      routingGroup: row.routingGroup,
      backendUrl: row.backendUrl,
    })),
])

/** One recorded routing decision, whatever file it came from. */
export interface RecordedDecision {
  /** Where it was read: `trace.jsonl:12`. */
  where: string
  key: string
  request: RoutingRequest
  /** Whether the headers are the recorded ones (false: rebuilt from user, token and group header). */
  requestRecorded: boolean
  traceToken: string | null
  user: string | null
  recorded: Pick<
    RoutingDecisionRecord,
    | 'requestedGroup'
    | 'selectedGroup'
    | 'fallback'
    | 'backend'
    | 'candidates'
    | 'errorCode'
    | 'reason'
    | 'loads'
  >
  /** What the recorded decision can be compared on: a history row has no candidates or backend name. */
  compareBackend: boolean
}

export interface ParsedInput {
  format: 'trace' | 'query_history'
  decisions: RecordedDecision[]
  /** Lines that are not new-query decisions (sticky follow-ups, a black-box run's observations). */
  skipped: number
}

export function parseReplayInput(text: string, source: string): ParsedInput {
  const trimmed = text.trim()
  const rows: Array<{ where: string; value: unknown }> = []
  if (trimmed.startsWith('[')) {
    let array: unknown
    try {
      array = JSON.parse(trimmed)
    } catch (error) {
      throw simError('REPLAY_INPUT_INVALID', `${source}: not JSON: ${(error as Error).message}`)
    }
    if (!Array.isArray(array))
      throw simError('REPLAY_INPUT_INVALID', `${source}: expected a JSON array of rows`)
    array.forEach((value, index) => {
      rows.push({ where: `${source}[${index}]`, value })
    })
  } else {
    const lines = trimmed === '' ? [] : trimmed.split('\n')
    if (lines.length > replayLinesMax) {
      throw simError(
        'REPLAY_INPUT_INVALID',
        `${source}: ${lines.length} lines, more than ${replayLinesMax} (replayLinesMax)`,
      )
    }
    lines.forEach((line, index) => {
      if (line.trim() === '') return
      try {
        rows.push({ where: `${source}:${index + 1}`, value: JSON.parse(line) })
      } catch (error) {
        throw simError(
          'REPLAY_INPUT_INVALID',
          `${source}:${index + 1}: not JSON: ${(error as Error).message}`,
        )
      }
    })
  }
  const first = rows[0]?.value
  const isHistory =
    first !== null &&
    typeof first === 'object' &&
    ('query_id' in (first as object) || ('queryId' in (first as object) && 'queryText' in (first as object)))
  return isHistory ? historyDecisions(rows) : traceDecisions(rows)
}

function traceDecisions(rows: ReadonlyArray<{ where: string; value: unknown }>): ParsedInput {
  const decisions: RecordedDecision[] = []
  let skipped = 0
  for (const { where, value } of rows) {
    if (value !== null && typeof value === 'object' && (value as { observed?: unknown }).observed === true) {
      skipped++
      continue
    }
    const parsed = traceRecordSchema.safeParse(value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw simError(
        'REPLAY_INPUT_INVALID',
        `${where}: not a routing decision record: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      )
    }
    const record = parsed.data
    if (record.kind !== 'routed') {
      skipped++
      continue
    }
    const headers: Record<string, string> = record.request?.headers ?? {}
    if (record.request === undefined) {
      if (record.user !== null) headers['x-trino-user'] = record.user
      if (record.traceToken !== null) headers['x-trino-trace-token'] = record.traceToken
      if (record.routingGroupHeader !== null) headers['x-trino-routing-group'] = record.routingGroupHeader
    }
    decisions.push({
      where,
      key: record.traceToken ?? where,
      request: {
        method: record.method,
        path: record.path,
        queryString: record.request?.queryString ?? '',
        headers,
        body: record.request?.body ?? '',
        remoteAddress: record.request?.remoteAddress ?? '',
      },
      requestRecorded: record.request !== undefined,
      traceToken: record.traceToken,
      user: record.user,
      recorded: {
        requestedGroup: record.requestedGroup,
        selectedGroup: record.selectedGroup,
        fallback: record.fallback,
        backend: record.backend,
        candidates: record.candidates,
        errorCode: record.errorCode,
        reason: record.reason,
        ...(record.loads === undefined ? {} : { loads: record.loads }),
      },
      compareBackend: true,
    })
  }
  return { format: 'trace', decisions, skipped }
}

function historyDecisions(rows: ReadonlyArray<{ where: string; value: unknown }>): ParsedInput {
  const decisions = rows.map(({ where, value }): RecordedDecision => {
    const parsed = historyRowSchema.safeParse(value)
    if (!parsed.success) {
      throw simError(
        'REPLAY_INPUT_INVALID',
        `${where}: not a query_history row (query_id, query_text, user_name, source, routing_group, backend_url)`,
      )
    }
    const row = parsed.data
    const headers: Record<string, string> = {}
    if (row.user !== null) headers['x-trino-user'] = row.user
    if (row.source !== null) headers['x-trino-source'] = row.source
    return {
      where,
      key: row.queryId,
      request: {
        method: 'POST',
        path: '/v1/statement',
        queryString: '',
        headers,
        body: row.queryText,
        remoteAddress: '',
      },
      requestRecorded: false,
      traceToken: null,
      user: row.user,
      recorded: {
        requestedGroup: null,
        selectedGroup: row.routingGroup,
        fallback: false,
        backend: null,
        candidates: [],
        errorCode: null,
        reason: `query_history row ${row.queryId} (backend_url ${row.backendUrl ?? 'none'})`,
      },
      compareBackend: false,
    }
  })
  return { format: 'query_history', decisions, skipped: 0 }
}

export interface ReplayBackend {
  record: BackendRecord
}

export interface ReplayDifference {
  where: string
  key: string
  /** The fields that differ, e.g. `selectedGroup`, `backend`. */
  fields: string[]
  recorded: string
  replayed: string
  /** The rule or tie that made the replayed decision. */
  why: string
  note: string | undefined
}

export interface ReplayResult {
  format: ParsedInput['format']
  replayed: number
  skipped: number
  differences: ReplayDifference[]
}

/** Replays every recorded decision; pure over its inputs. */
export function replay(
  input: ParsedInput,
  setup: RoutingSetup,
  backends: readonly BackendRecord[],
): ReplayResult {
  const differences: ReplayDifference[] = []
  for (const recordedDecision of input.decisions) {
    const { recorded } = recordedDecision
    const known = new Set(recorded.candidates)
    const recordedGroups = new Set(
      [recorded.requestedGroup, recorded.selectedGroup].filter((g) => g !== null),
    )
    const statusOf = (name: string): TrinoStatus | undefined => {
      const backend = backends.find((candidate) => candidate.name === name)
      if (backend === undefined) return undefined
      if (input.format === 'trace' && recordedGroups.has(backend.routingGroup)) {
        return known.has(name) ? 'HEALTHY' : 'UNHEALTHY'
      }
      return 'HEALTHY'
    }
    // A recorded candidate was active then, whatever the scenario registers now.
    const asThen = backends.map((backend) =>
      known.has(backend.name) && !backend.active ? { ...backend, active: true } : backend,
    )
    const picker = pickerWithLoads(setup, recorded.loads ?? {})
    const { record, group } = decide(
      setup,
      picker,
      recordedDecision.request,
      { timestampMs: 0, traceToken: recordedDecision.traceToken, user: recordedDecision.user },
      asThen,
      statusOf,
      false,
    )
    // The live proxy draws for a request without a trace token from its arrival number, which no
    // record keeps: such a random choice cannot be replayed, its group can.
    const backendComparable =
      recordedDecision.compareBackend && (setup.picker !== 'random' || recordedDecision.traceToken !== null)
    const compared: ReadonlyArray<'selectedGroup' | 'fallback' | 'errorCode' | 'backend'> =
      input.format === 'query_history'
        ? ['selectedGroup']
        : ['selectedGroup', 'fallback', 'errorCode', ...(backendComparable ? (['backend'] as const) : [])]
    const fields = compared.filter((field) => record[field] !== recorded[field])
    if (fields.length === 0) continue
    const rule =
      setup.selection.kind === 'rules' ? decidingRule(setup.selection, recordedDecision.request) : undefined
    const groupWhy =
      setup.selection.kind === 'header'
        ? `X-Trino-Routing-Group ${JSON.stringify(recordedDecision.request.headers['x-trino-routing-group'] ?? null)}`
        : rule === undefined
          ? `no rule set a routing group (matched: ${group.matchedRules.join(', ') || 'none'})`
          : `rule "${rule}" set routingGroup last (matched: ${group.matchedRules.join(', ')})`
    differences.push({
      where: recordedDecision.where,
      key: recordedDecision.key,
      fields: [...fields],
      recorded: describe(recorded.selectedGroup, recorded.backend, recorded.errorCode),
      replayed: describe(record.selectedGroup, record.backend, record.errorCode),
      why: `${groupWhy}; ${record.fallback ? 'fell back to the default group; ' : ''}${explainChoice(setup, record)}`,
      note: recordedDecision.requestRecorded
        ? undefined
        : input.format === 'trace'
          ? 'headers not in the trace: rebuilt from its user, trace token and routing-group header'
          : 'from query_history: user, source and query text only',
    })
  }
  return { format: input.format, replayed: input.decisions.length, skipped: input.skipped, differences }
}

function describe(group: string | null, backend: string | null, errorCode: string | null): string {
  return errorCode !== null
    ? `${errorCode} (group ${group ?? 'none'})`
    : `${group ?? 'none'} -> ${backend ?? '(not recorded)'}`
}

export function formatDifference(difference: ReplayDifference): string {
  return `${difference.key} (${difference.where}): ${difference.fields.join(', ')} differ: recorded ${difference.recorded}, replayed ${difference.replayed}; because ${difference.why}${difference.note === undefined ? '' : ` [${difference.note}]`}`
}
