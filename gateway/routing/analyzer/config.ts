/**
 * `requestAnalyzerConfig` of config.yaml (Trino Gateway's RequestAnalyzerConfig), with its defaults.
 */
import { z } from 'zod'

/** `${ENV:X}` substitution yields text; Jackson reads "true" and "42" as typed values, so do we. */
const configBoolean = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean({ error: 'expected true or false' }),
)

export const requestAnalyzerDefaults = {
  analyzeRequest: false,
  /** Bodies of this many characters or more are not parsed (Trino Gateway's `maxBodySize`). */
  maxBodySize: 1_000_000,
  clientsUseV2Format: false,
  tokenUserField: 'email',
} as const

export const requestAnalyzerConfigSchema = z
  .strictObject({
    analyzeRequest: configBoolean.default(requestAnalyzerDefaults.analyzeRequest),
    maxBodySize: z
      .preprocess(
        (value) => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value),
        z.number({ error: 'expected a positive integer' }).int().positive(),
      )
      .default(requestAnalyzerDefaults.maxBodySize),
    clientsUseV2Format: configBoolean.default(requestAnalyzerDefaults.clientsUseV2Format),
    tokenUserField: z.string().min(1).default(requestAnalyzerDefaults.tokenUserField),
    // The userinfo exchange is not implemented; accepting the key and ignoring it would route users
    // silently as nobody, so it is refused by name.
    oauthTokenInfoUrl: z
      .never({
        error:
          'requestAnalyzerConfig.oauthTokenInfoUrl is not supported by trino-gateway-lab: users come from X-Trino-User, Basic auth or a JWT claim (tokenUserField)',
      })
      .optional(),
  })
  .default({ ...requestAnalyzerDefaults })

export type RequestAnalyzerConfig = z.output<typeof requestAnalyzerConfigSchema>
