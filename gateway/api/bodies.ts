/**
 * Admin-API request bodies, validated with zod. A bad body gets 400 REQUEST_BODY_INVALID naming
 * the field, the value and the expected form (Trino Gateway answers such bodies with a 5xx).
 */
import { z } from 'zod'
import { describeIssues } from '../../common/errors.ts'
import { gatewayError } from '../errors.ts'
import type { BackendRecord } from '../store/types.ts'

const httpUrl = z.string({ error: 'expected an http(s) URL such as http://trino-1:8080' }).refine(
  (value) => {
    try {
      const url = new URL(value)
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
    } catch {
      return false
    }
  },
  { error: 'expected an http(s) URL such as http://trino-1:8080' },
)

const nameSchema = z
  .string({ error: 'expected a non-empty string' })
  .trim()
  .min(1, { error: 'expected a non-empty string' })
  .max(256, { error: 'expected at most 256 characters (the gateway_backend.name column)' })

/**
 * Trino Gateway's backend JSON (`ProxyBackendConfiguration`). Unknown keys are ignored, since the
 * web UI posts back the `queued`, `running` and `status` fields it was given.
 */
export const backendBodySchema = z.object({
  name: nameSchema,
  proxyTo: httpUrl,
  externalUrl: httpUrl.nullish(),
  active: z.boolean({ error: 'expected true or false' }).default(true),
  routingGroup: nameSchema.default('adhoc'),
})

export type BackendBody = z.output<typeof backendBodySchema>

export const queryHistoryBodySchema = z
  .object({
    page: z
      .number({ error: 'expected a positive integer' })
      .int()
      .min(1, { error: 'expected a positive integer' })
      .default(1),
    size: z
      .number({ error: 'expected an integer from 1 to 1000' })
      .int()
      .min(1, { error: 'expected an integer from 1 to 1000' })
      .max(1000, { error: 'expected an integer from 1 to 1000' })
      .default(10),
    user: z.string({ error: 'expected a string' }).nullish(),
    externalUrl: z.string({ error: 'expected a string' }).nullish(),
    queryId: z.string({ error: 'expected a string' }).nullish(),
    source: z.string({ error: 'expected a string' }).nullish(),
    routingGroup: z.string({ error: 'expected a string' }).nullish(),
  })
  .transform((body) => ({
    page: body.page,
    size: body.size,
    // Empty strings count as absent, as in Trino Gateway.
    user: emptyToUndefined(body.user),
    externalUrl: emptyToUndefined(body.externalUrl),
    queryId: emptyToUndefined(body.queryId),
    source: emptyToUndefined(body.source),
    routingGroup: emptyToUndefined(body.routingGroup),
  }))

export const distributionBodySchema = z.object({
  latestHour: z
    .number({ error: 'expected an integer from 1 to 720' })
    .int()
    .min(1, { error: 'expected an integer from 1 to 720' })
    .max(720, { error: 'expected an integer from 1 to 720' })
    .default(1),
})

function emptyToUndefined(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value
}

/** Parses the raw text of a JSON body; throws REQUEST_BODY_INVALID naming what is wrong. */
export function parseJsonBody<T extends z.ZodType>(
  schema: T,
  text: string | undefined,
  what: string,
  allowEmpty = false,
): z.output<T> {
  let document: unknown
  const trimmed = (text ?? '').trim()
  if (trimmed === '' && allowEmpty) {
    document = {}
  } else {
    try {
      document = JSON.parse(trimmed)
    } catch (error) {
      throw gatewayError(
        'REQUEST_BODY_INVALID',
        `${what}: the body is not valid JSON (${(error as Error).message}); expected a JSON object`,
        {
          problems: [`(root): not valid JSON (got ${JSON.stringify(trimmed.slice(0, 200))})`],
        },
      )
    }
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw gatewayError(
      'REQUEST_BODY_INVALID',
      `${what}: expected a JSON object (got ${JSON.stringify(document)})`,
      {
        problems: [`(root): expected a JSON object (got ${JSON.stringify(document)})`],
      },
    )
  }
  const parsed = schema.safeParse(document)
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues, document)
    throw gatewayError('REQUEST_BODY_INVALID', `${what}: invalid body: ${problems.join('; ')}`, { problems })
  }
  return parsed.data
}

export function backendRecordOf(body: BackendBody): BackendRecord {
  return {
    name: body.name,
    proxyTo: body.proxyTo,
    externalUrl: body.externalUrl ?? null,
    active: body.active,
    routingGroup: body.routingGroup,
  }
}

/** The backend object of Trino Gateway's JSON: `externalUrl` falls back to `proxyTo`. */
export function backendJson(backend: BackendRecord): {
  name: string
  proxyTo: string
  externalUrl: string
  active: boolean
  routingGroup: string
} {
  return {
    name: backend.name,
    proxyTo: backend.proxyTo,
    externalUrl: backend.externalUrl ?? backend.proxyTo,
    active: backend.active,
    routingGroup: backend.routingGroup,
  }
}
