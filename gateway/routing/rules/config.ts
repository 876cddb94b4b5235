/**
 * `routingRules` of config.yaml (Trino Gateway's RoutingRulesConfiguration), with its defaults,
 * plus our extensions `evaluation` and `rulesExternalConfiguration.requestTimeout`. The output is
 * normalized: durations in milliseconds.
 */
import { z } from 'zod'
import { isDuration, parseDurationMs } from '../../../common/duration.ts'

const durationExpected =
  'expected an Airlift duration: a number and a unit (ns, us, ms, s, m, h, d), e.g. 500ms or 1m'

/** `${ENV:X}` substitution yields text; Jackson reads "true" as a boolean, and so do we. */
export const configBoolean = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean({ error: 'expected true or false' }),
)

const durationMs = z
  .string({ error: durationExpected })
  .refine(isDuration, { error: durationExpected })
  .transform(parseDurationMs)

export const rulesExternalConfigurationSchema = z
  .strictObject({
    urlPath: z
      .string({ error: 'expected an absolute http(s) URL' })
      .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
        error: 'expected an absolute http(s) URL, e.g. http://127.0.0.1:9000/route',
      }),
    excludeHeaders: z.array(z.string({ error: 'expected a header name' })).default([]),
    propagateErrors: configBoolean.default(false),
    /** Our extension: Trino Gateway takes this from `router.http-client.*` in serverConfig. */
    requestTimeout: durationMs.prefault('5s'),
  })
  .transform(({ requestTimeout, ...rest }) => ({ ...rest, requestTimeoutMs: requestTimeout }))

export const routingRulesConfigSchema = z
  .strictObject({
    rulesEngineEnabled: configBoolean.default(false),
    rulesType: z.enum(['FILE', 'EXTERNAL'], { error: 'expected FILE or EXTERNAL' }).default('FILE'),
    rulesConfigPath: z
      .string({ error: 'expected a file path' })
      .min(1, { error: 'expected a file path' })
      .optional(),
    rulesRefreshPeriod: durationMs.prefault('1m'),
    rulesExternalConfiguration: rulesExternalConfigurationSchema.optional(),
    evaluation: z
      .enum(['all-matches', 'first-match'], { error: 'expected all-matches or first-match' })
      .default('all-matches'),
  })
  .superRefine((section, context) => {
    // Trino Gateway starts anyway and silently falls back to header routing (its issue #582);
    // a routing setup that cannot work is refused at start-up instead.
    if (!section.rulesEngineEnabled) return
    if (section.rulesType === 'FILE' && section.rulesConfigPath === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['rulesConfigPath'],
        message: 'required when rulesEngineEnabled is true and rulesType is FILE',
      })
    }
    if (section.rulesType === 'EXTERNAL' && section.rulesExternalConfiguration === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['rulesExternalConfiguration', 'urlPath'],
        message: 'required when rulesEngineEnabled is true and rulesType is EXTERNAL',
      })
    }
  })
  .transform(({ rulesRefreshPeriod, ...rest }) => ({ ...rest, rulesRefreshPeriodMs: rulesRefreshPeriod }))

export type RoutingRulesConfig = z.output<typeof routingRulesConfigSchema>
