import { describe, expect, it } from 'vitest'
import { requestAnalyzerConfigSchema } from '../analyzer/config.ts'
import { routingRulesConfigSchema } from './config.ts'

describe('routingRules config', () => {
  it('applies Trino Gateway defaults', () => {
    expect(routingRulesConfigSchema.parse({})).toEqual({
      rulesEngineEnabled: false,
      rulesType: 'FILE',
      rulesRefreshPeriodMs: 60_000,
      evaluation: 'all-matches',
    })
  })

  it('normalizes the external configuration', () => {
    const config = routingRulesConfigSchema.parse({
      rulesEngineEnabled: 'true',
      rulesType: 'EXTERNAL',
      rulesExternalConfiguration: {
        urlPath: 'http://127.0.0.1:9000/route',
        excludeHeaders: ['Authorization'],
      },
    })
    expect(config.rulesExternalConfiguration).toEqual({
      urlPath: 'http://127.0.0.1:9000/route',
      excludeHeaders: ['Authorization'],
      propagateErrors: false,
      requestTimeoutMs: 5000,
    })
  })

  it.each([
    [
      { rulesEngineEnabled: true },
      'rulesConfigPath',
      /required when rulesEngineEnabled is true and rulesType is FILE/,
    ],
    [
      { rulesEngineEnabled: true, rulesType: 'EXTERNAL' },
      'rulesExternalConfiguration.urlPath',
      /rulesType is EXTERNAL/,
    ],
    [{ rulesType: 'DB' }, 'rulesType', /expected FILE or EXTERNAL/],
    [{ rulesRefreshPeriod: 'soon' }, 'rulesRefreshPeriod', /Airlift duration/],
    [{ evaluation: 'last-match' }, 'evaluation', /all-matches or first-match/],
    [
      { rulesExternalConfiguration: { urlPath: 'ftp://x' } },
      'rulesExternalConfiguration.urlPath',
      /http\(s\) URL/,
    ],
    [{ compositeRuleType: 'x' }, '', /compositeRuleType/],
  ])('refuses %j at %s', (raw, path, message) => {
    const result = routingRulesConfigSchema.safeParse(raw)
    expect(result.success).toBe(false)
    const issue = result.error?.issues[0]
    expect(issue?.path.join('.')).toBe(path)
    expect(JSON.stringify(result.error?.issues)).toMatch(message)
  })
})

describe('requestAnalyzerConfig', () => {
  it('applies Trino Gateway defaults', () => {
    expect(requestAnalyzerConfigSchema.parse(undefined)).toEqual({
      analyzeRequest: false,
      maxBodySize: 1_000_000,
      clientsUseV2Format: false,
      tokenUserField: 'email',
    })
  })

  it('refuses oauthTokenInfoUrl by name, since the userinfo exchange is not implemented', () => {
    const result = requestAnalyzerConfigSchema.safeParse({ oauthTokenInfoUrl: 'https://idp/userinfo' })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toMatch(/oauthTokenInfoUrl is not supported/)
  })
})
