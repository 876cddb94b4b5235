/**
 * Trino Gateway's admin-security keys (trino-gateway.md §1.6, §1.8, §2): `authentication`,
 * `authorization` and `presetUsers`. Absent `authentication` means security is off, exactly as in
 * Trino Gateway: every admin request is admitted.
 *
 * Implemented: form login (and HTTP Basic for API clients) against `presetUsers`. Not implemented,
 * and refused by name at start-up: OAuth (`authentication.oauth`, `defaultType: oauth`) and LDAP
 * (`authentication.form.ldapConfigPath`, `authorization.ldapConfigPath`).
 */
import { z } from 'zod'
import { isDuration, parseDurationMs } from '../../common/duration.ts'
import { type UiPage, uiPages } from '../ui/pages.ts'

/** How long a login lasts unless `authentication.sessionLifetime` says otherwise. */
export const sessionLifetimeMsDefault = 60 * 60 * 1000
/** The shortest session lifetime accepted. */
export const sessionLifetimeMsMin = 60 * 1000
/** The longest session lifetime accepted: a stolen cookie must stop working within a day. */
export const sessionLifetimeMsMax = 24 * 60 * 60 * 1000

/** The three roles of Trino Gateway, as `authorization` names them. */
export const roles = ['admin', 'user', 'api'] as const
export type Role = (typeof roles)[number]

/** Trino Gateway's documented example regexes, used when `authorization` leaves a role out. */
export const defaultRoleRegexes: Readonly<Record<Role, string>> = {
  admin: '(.*)ADMIN(.*)',
  user: '(.*)USER(.*)',
  api: '(.*)API(.*)',
}

const notSupported = (key: string, instead: string) =>
  `${key} is a Trino Gateway key not yet supported by trino-gateway-lab (${instead})`

function regexKey(role: Role) {
  return z
    .string({ error: 'expected a regular expression (string)' })
    .superRefine((pattern, context) => {
      try {
        new RegExp(`^(?:${pattern})$`)
      } catch (error) {
        context.addIssue({
          code: 'custom',
          message: `invalid regex pattern (${(error as Error).message}); expected a regular expression matching a whole privileges string, e.g. ${defaultRoleRegexes[role]}`,
        })
      }
    })
    .optional()
}

const mapping = {
  error: (issue: { code?: string }) =>
    issue.code === 'invalid_type' ? 'expected a mapping of keys' : undefined,
}

export const authenticationSchema = z
  .strictObject(
    {
      defaultType: z
        .string({ error: 'expected form' })
        .refine((value) => value !== 'oauth', { error: notSupported('defaultType: oauth', 'use form') })
        .refine((value) => value === 'form', { error: 'expected form' })
        .default('form'),
      form: z
        .strictObject(
          {
            selfSignKeyPair: z
              .strictObject(
                {
                  privateKeyRsa: z.string({ error: 'expected the path of a PEM private key' }).min(1),
                  publicKeyRsa: z.string({ error: 'expected the path of a PEM public key' }).min(1),
                },
                mapping,
              )
              .optional(),
            ldapConfigPath: z
              .unknown()
              .refine(() => false, { error: notSupported('ldapConfigPath', 'use presetUsers') })
              .optional(),
          },
          mapping,
        )
        .prefault({}),
      /** Ours: how long a login cookie (or token) stays valid, an Airlift duration. */
      sessionLifetime: z
        .string({ error: 'expected an Airlift duration such as 1h' })
        .refine(isDuration, { error: 'expected an Airlift duration such as 1h' })
        .transform(parseDurationMs)
        .refine((ms) => ms >= sessionLifetimeMsMin && ms <= sessionLifetimeMsMax, {
          error: `expected a duration from ${sessionLifetimeMsMin / 1000}s to ${sessionLifetimeMsMax / 3_600_000}h`,
        })
        .optional(),
    },
    mapping,
  )
  .transform((section) => ({
    defaultType: 'form' as const,
    selfSignKeyPair: section.form.selfSignKeyPair,
    sessionLifetimeMs: section.sessionLifetime ?? sessionLifetimeMsDefault,
  }))

export const authorizationSchema = z
  .strictObject(
    {
      admin: regexKey('admin'),
      user: regexKey('user'),
      api: regexKey('api'),
      ldapConfigPath: z
        .unknown()
        .refine(() => false, { error: notSupported('ldapConfigPath', 'use presetUsers privileges') })
        .optional(),
    },
    mapping,
  )
  .transform(
    (section): Record<Role, string> => ({
      admin: section.admin ?? defaultRoleRegexes.admin,
      user: section.user ?? defaultRoleRegexes.user,
      api: section.api ?? defaultRoleRegexes.api,
    }),
  )

export const presetUsersSchema = z.record(
  z.string().min(1, { error: 'expected a non-empty user name' }),
  z.strictObject(
    {
      password: z
        .preprocess(
          (value) => (typeof value === 'number' ? String(value) : value),
          z.string({ error: 'expected a password (string)' }),
        )
        .refine((value) => value.length > 0, { error: 'expected a non-empty password' }),
      privileges: z.string({ error: 'expected a privileges string such as ADMIN_USER_API' }).default(''),
    },
    mapping,
  ),
  { error: 'expected a mapping of user names to {password, privileges}' },
)

export type AuthenticationConfig = z.output<typeof authenticationSchema>
export type PresetUsers = z.output<typeof presetUsersSchema>

/** Admin security as the gateway runs it: undefined when `authentication` is absent (off). */
export interface SecurityConfig {
  authentication: AuthenticationConfig
  roleRegexes: Record<Role, string>
  presetUsers: PresetUsers
  /** Pages per role (`pagePermissions`); undefined: every role sees every page. */
  pagePermissions: PagePermissions | undefined
}

const pageListExpected = `expected page names joined by _, from ${uiPages.join(', ')}`

/** `pagePermissions.<role>`: the pages a role may see, `_`-separated (e.g. `dashboard_history`). */
export const pagePermissionsSchema = z
  .strictObject(
    Object.fromEntries(
      roles.map((role) => [
        role,
        z
          .string({ error: pageListExpected })
          .transform((text) => text.split('_').filter((page) => page !== ''))
          .superRefine((pages, context) => {
            for (const page of pages) {
              if (!(uiPages as readonly string[]).includes(page)) {
                context.addIssue({ code: 'custom', message: `unknown page ${page}; ${pageListExpected}` })
              }
            }
          })
          .optional(),
      ]),
    ) as Record<Role, z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string[], string>>>>,
    mapping,
  )
  .optional()

/** `uiConfiguration.disablePages`: pages the UI shows nobody. */
export const uiConfigurationSchema = z
  .strictObject(
    {
      disablePages: z
        .array(z.enum(uiPages, { error: `expected one of ${uiPages.join(', ')}` }), {
          error: 'expected a list of page names',
        })
        .default([]),
    },
    mapping,
  )
  .prefault({})

export type PagePermissions = Partial<Record<Role, UiPage[]>>
