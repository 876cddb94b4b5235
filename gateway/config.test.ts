// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests write ${ENV:NAME} references as plain text on purpose
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CodedError } from '../common/errors.ts'
import {
  type GatewayConfig,
  keysNotYetSupported,
  loadGatewayConfig,
  parseConfigText,
  parseGatewayConfig,
  substituteEnvironment,
} from './config.ts'
import type { DataStoreConfig } from './store/types.ts'

let scratch: string

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tgl-config-'))
})

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

function refusal(work: () => unknown): CodedError {
  try {
    work()
  } catch (error) {
    if (error instanceof CodedError) return error
    throw error
  }
  throw new Error('expected a CodedError, but nothing was thrown')
}

const defaults: Omit<GatewayConfig, 'source'> = {
  serverConfig: { httpPort: 8080, nodeEnvironment: undefined },
  dataStore: {
    jdbcUrl: undefined,
    user: undefined,
    password: undefined,
    driver: undefined,
    queryHistoryEnabled: true,
    queryHistoryHoursRetention: 4,
    runMigrationsEnabled: true,
  },
  routing: {
    defaultRoutingGroup: 'adhoc',
    asyncTimeoutMs: 120_000,
    forwardedHeadersEnabled: true,
    rewriteNextUri: true,
    tieBreak: 'first',
    tokenKeys: [],
    history: 'write-behind',
    historyWriteIntervalMs: 50,
  },
  monitor: {
    taskDelayMs: 60_000,
    retries: 0,
    queryTimeoutMs: 10_000,
    metricsEndpoint: '/metrics',
    runningQueriesMetricName: 'trino_execution_name_QueryManager_RunningQueries',
    queuedQueriesMetricName: 'trino_execution_name_QueryManager_QueuedQueries',
    metricMinimumValues: { trino_metadata_name_DiscoveryNodeManager_ActiveNodeCount: 1 },
    metricMaximumValues: {},
    failureThreshold: 1,
    successThreshold: 1,
  },
  clusterStatsConfiguration: { monitorType: 'INFO_API' },
  backendState: undefined,
  modules: [],
  extraWhitelistPaths: [],
  statementPaths: ['/v1/statement'],
  security: undefined,
  uiConfiguration: { disablePages: [] },
  workers: undefined,
  routingRules: {
    rulesEngineEnabled: false,
    rulesType: 'FILE',
    rulesConfigPath: undefined,
    rulesRefreshPeriodMs: 60_000,
    rulesExternalConfiguration: undefined,
    evaluation: 'all-matches',
  },
  requestAnalyzerConfig: {
    analyzeRequest: false,
    maxBodySize: 1_000_000,
    clientsUseV2Format: false,
    tokenUserField: 'email',
    oauthTokenInfoUrl: undefined,
  },
}

describe('parseGatewayConfig defaults', () => {
  it.each([
    ['an empty document', null],
    ['an empty mapping', {}],
    [
      'empty sections',
      { serverConfig: {}, dataStore: {}, routing: {}, monitor: {}, clusterStatsConfiguration: {} },
    ],
  ])('applies Trino Gateway defaults to %s', (_name, raw) => {
    expect(parseGatewayConfig(raw, 'test.yaml')).toEqual({ source: 'test.yaml', ...defaults })
  })
})

describe('parseGatewayConfig values', () => {
  it.each([
    [
      'port 0 means an ephemeral port',
      { serverConfig: { 'http-server.http.port': 0 } },
      (c: GatewayConfig) => c.serverConfig.httpPort,
      0,
    ],
    [
      'a port given as text',
      { serverConfig: { 'http-server.http.port': '9090' } },
      (c: GatewayConfig) => c.serverConfig.httpPort,
      9090,
    ],
    [
      'node.environment',
      { serverConfig: { 'node.environment': 'test' } },
      (c: GatewayConfig) => c.serverConfig.nodeEnvironment,
      'test',
    ],
    [
      'a sub-second monitor delay',
      { monitor: { taskDelay: '250ms' } },
      (c: GatewayConfig) => c.monitor.taskDelayMs,
      250,
    ],
    [
      'a fractional duration',
      { routing: { asyncTimeout: '1.5s' } },
      (c: GatewayConfig) => c.routing.asyncTimeoutMs,
      1500,
    ],
    [
      'booleans given as text',
      { dataStore: { queryHistoryEnabled: 'false' } },
      (c: GatewayConfig) => c.dataStore.queryHistoryEnabled,
      false,
    ],
    [
      'the NOOP monitor',
      { clusterStatsConfiguration: { monitorType: 'NOOP' } },
      (c: GatewayConfig) => c.clusterStatsConfiguration.monitorType,
      'NOOP',
    ],
    [
      'driver is accepted',
      { dataStore: { driver: 'org.postgresql.Driver' } },
      (c: GatewayConfig) => c.dataStore.driver,
      'org.postgresql.Driver',
    ],
    [
      'statement paths lose trailing slashes and follow the default',
      { additionalStatementPaths: ['/custom/statement/', '/v2/statement'] },
      (c: GatewayConfig) => c.statementPaths,
      ['/v1/statement', '/custom/statement', '/v2/statement'],
    ],
    [
      'routing token keys, the signing key first',
      {
        routing: {
          tokenKeys: [
            { id: 'k2026-12', secret: 'n'.repeat(32) },
            { id: 'k2026_11', secret: 'o'.repeat(40) },
          ],
        },
      },
      (c: GatewayConfig) => c.routing.tokenKeys,
      [
        { id: 'k2026-12', secret: 'n'.repeat(32) },
        { id: 'k2026_11', secret: 'o'.repeat(40) },
      ],
    ],
    [
      'synchronous query_history writes',
      { routing: { history: 'sync' } },
      (c: GatewayConfig) => c.routing.history,
      'sync',
    ],
    [
      'a write-behind interval',
      { routing: { historyWriteInterval: '200ms' } },
      (c: GatewayConfig) => c.routing.historyWriteIntervalMs,
      200,
    ],
    [
      'back-to-back write-behind writes',
      { routing: { historyWriteInterval: '0s' } },
      (c: GatewayConfig) => c.routing.historyWriteIntervalMs,
      0,
    ],
    ['a worker count', { workers: 4 }, (c: GatewayConfig) => c.workers, 4],
    [
      'a worker count from an environment variable (text)',
      { workers: '2' },
      (c: GatewayConfig) => c.workers,
      2,
    ],
    [
      'extra whitelist regexes are kept as written',
      { extraWhitelistPaths: ['/api/v[1-9]/.*'] },
      (c: GatewayConfig) => c.extraWhitelistPaths,
      ['/api/v[1-9]/.*'],
    ],
  ])('reads %s', (_name, raw, pick, expected) => {
    expect(pick(parseGatewayConfig(raw, 'test.yaml'))).toEqual(expected)
  })
})

describe('parseGatewayConfig refusals', () => {
  it.each([
    // [name, raw, code, message fragments]
    [
      'an unknown top-level key',
      { routingGroups: {} },
      'CONFIG_INVALID',
      ['routingGroups: unknown key; expected one of serverConfig'],
    ],
    [
      'an unknown nested key',
      { routing: { defaultGroup: 'x' } },
      'CONFIG_INVALID',
      ['routing.defaultGroup: unknown key', '(got "x")'],
    ],
    [
      'a renamed key',
      { routing: { addXForwardedHeaders: false } },
      'CONFIG_INVALID',
      ['routing.addXForwardedHeaders', 'renamed to routing.forwardedHeadersEnabled'],
    ],
    [
      'a port out of range',
      { serverConfig: { 'http-server.http.port': 70000 } },
      'CONFIG_INVALID',
      ['serverConfig.http-server.http.port: expected an integer from 0 to 65535 (got 70000)'],
    ],
    [
      'a port that is not a number',
      { serverConfig: { 'http-server.http.port': 'eighty' } },
      'CONFIG_INVALID',
      ['expected an integer from 0 to 65535 (got "eighty")'],
    ],
    [
      'an invalid node.environment',
      { serverConfig: { 'node.environment': 'Prod-1' } },
      'CONFIG_INVALID',
      ['serverConfig.node.environment', 'Airlift rule', '(got "Prod-1")'],
    ],
    [
      'a duration without a unit',
      { routing: { asyncTimeout: 30 } },
      'CONFIG_INVALID',
      ['routing.asyncTimeout: expected an Airlift duration', '(got 30)'],
    ],
    [
      'a duration with a bad unit',
      { monitor: { taskDelay: '1 minute' } },
      'CONFIG_INVALID',
      ['monitor.taskDelay: expected an Airlift duration', '(got "1 minute")'],
    ],
    [
      'a monitor delay below the floor',
      { monitor: { taskDelay: '1ms' } },
      'CONFIG_INVALID',
      ['monitor.taskDelay: expected a duration of at least 10ms'],
    ],
    ['no workers', { workers: 0 }, 'CONFIG_INVALID', ['workers: expected an integer from 1 to 256 (got 0)']],
    [
      'a fractional worker count',
      { workers: 1.5 },
      'CONFIG_INVALID',
      ['workers: expected an integer from 1 to 256 (got 1.5)'],
    ],
    [
      'workers given as a word',
      { workers: 'auto' },
      'CONFIG_INVALID',
      ['workers: expected an integer from 1 to 256 (got "auto")'],
    ],
    [
      'negative retries',
      { monitor: { retries: -1 } },
      'CONFIG_INVALID',
      ['monitor.retries: expected an integer from 0 to 100 (got -1)'],
    ],
    [
      'a boolean that is not one',
      { routing: { forwardedHeadersEnabled: 'yes' } },
      'CONFIG_INVALID',
      ['routing.forwardedHeadersEnabled: expected true or false (got "yes")'],
    ],
    [
      'a routing token secret shorter than 32 characters',
      { routing: { tokenKeys: [{ id: 'a', secret: 'short' }] } },
      'CONFIG_INVALID',
      ['routing.tokenKeys.0.secret: expected a secret of at least 32 characters (got "***")'],
    ],
    [
      'a routing token key id with a dot',
      { routing: { tokenKeys: [{ id: 'a.b', secret: 's'.repeat(32) }] } },
      'CONFIG_INVALID',
      ['routing.tokenKeys.0.id: expected 1 to 16 characters of A-Z, a-z, 0-9, _ and - (got "a.b")'],
    ],
    [
      'a routing token key id longer than 16 characters',
      { routing: { tokenKeys: [{ id: 'k'.repeat(17), secret: 's'.repeat(32) }] } },
      'CONFIG_INVALID',
      ['routing.tokenKeys.0.id: expected 1 to 16 characters'],
    ],
    [
      'two routing token keys with one id',
      {
        routing: {
          tokenKeys: [
            { id: 'k1', secret: 's'.repeat(32) },
            { id: 'k1', secret: 't'.repeat(32) },
          ],
        },
      },
      'CONFIG_INVALID',
      ['routing.tokenKeys.1.id: duplicate key id k1'],
    ],
    [
      'an unknown query_history write mode',
      { routing: { history: 'async' } },
      'CONFIG_INVALID',
      ['routing.history: expected write-behind or sync (got "async")'],
    ],
    [
      'a write-behind interval above its bound',
      { routing: { historyWriteInterval: '1m' } },
      'CONFIG_INVALID',
      ['routing.historyWriteInterval: expected a duration of at most 10000ms (got "1m")'],
    ],
    [
      'a retention of zero hours',
      { dataStore: { queryHistoryHoursRetention: 0 } },
      'CONFIG_INVALID',
      ['dataStore.queryHistoryHoursRetention: expected an integer from 1'],
    ],
    [
      'an empty default routing group',
      { routing: { defaultRoutingGroup: '' } },
      'CONFIG_INVALID',
      ['routing.defaultRoutingGroup: expected a non-empty string'],
    ],
    [
      'an unknown monitor type',
      { clusterStatsConfiguration: { monitorType: 'PING' } },
      'CONFIG_INVALID',
      [
        'clusterStatsConfiguration.monitorType: expected one of INFO_API, NOOP, UI_API, METRICS, JMX, JDBC (got "PING")',
      ],
    ],
    [
      'a section that is not a mapping',
      { routing: 'adhoc' },
      'CONFIG_INVALID',
      ['routing: expected a mapping of keys (got "adhoc")'],
    ],
    [
      'an unknown key in a nested section',
      { routingRules: { rulesEngine: true } },
      'CONFIG_INVALID',
      ['routingRules.rulesEngine: unknown key; expected one of rulesEngineEnabled'],
    ],
    [
      'a MySQL jdbcUrl',
      { dataStore: { jdbcUrl: 'jdbc:mysql://db:3306/gateway' } },
      'DATASTORE_NOT_SUPPORTED',
      ['dataStore.jdbcUrl: only PostgreSQL is supported by trino-gateway-lab'],
    ],
    [
      'a JDBC parameter that cannot be passed on',
      { dataStore: { jdbcUrl: 'jdbc:postgresql://db/gw?loginTimeout=5' } },
      'DATASTORE_URL_INVALID',
      ['parameter loginTimeout is not supported'],
    ],
    [
      'a whitelist that is not a list',
      { extraWhitelistPaths: '/metrics' },
      'CONFIG_INVALID',
      ['extraWhitelistPaths: expected a list of regular expressions'],
    ],
    [
      'an invalid whitelist regex',
      { extraWhitelistPaths: ['/ok/.*', '/api/(v1'] },
      'CONFIG_INVALID',
      ['extraWhitelistPaths.1: invalid regex pattern', '(got "/api/(v1")'],
    ],
    [
      'a relative statement path',
      { additionalStatementPaths: ['custom/statement'] },
      'CONFIG_INVALID',
      ['additionalStatementPaths.0: Statement paths must be absolute'],
    ],
    [
      'a statement path under the default',
      { additionalStatementPaths: ['/v1/statement/batch'] },
      'CONFIG_INVALID',
      [
        'additionalStatementPaths.0: Statement paths cannot be prefixes of other statement paths (clashes with /v1/statement)',
      ],
    ],
    [
      'statement paths that prefix each other',
      { additionalStatementPaths: ['/a', '/a/b'] },
      'CONFIG_INVALID',
      [
        'additionalStatementPaths.0: Statement paths cannot be prefixes',
        'additionalStatementPaths.1: Statement paths cannot be prefixes',
      ],
    ],
    ['a document that is a list', ['serverConfig'], 'CONFIG_INVALID', ['the config must be a mapping']],
    [
      'OAuth as the login type',
      { authentication: { defaultType: 'oauth' } },
      'CONFIG_INVALID',
      ['authentication.defaultType: defaultType: oauth is a Trino Gateway key not yet supported'],
    ],
    [
      'LDAP for form login',
      { authentication: { form: { ldapConfigPath: '/etc/ldap.yml' } } },
      'CONFIG_INVALID',
      ['authentication.form.ldapConfigPath: ldapConfigPath is a Trino Gateway key not yet supported'],
    ],
    [
      'a role regex that does not compile',
      { authentication: {}, authorization: { admin: '(ADMIN' } },
      'CONFIG_INVALID',
      ['authorization.admin: invalid regex pattern'],
    ],
    [
      'a session lifetime over a day',
      { authentication: { sessionLifetime: '2d' } },
      'CONFIG_INVALID',
      ['authentication.sessionLifetime: expected a duration from 60s to 24h'],
    ],
    [
      'a preset user without a password',
      { authentication: {}, presetUsers: { alice: { privileges: 'USER' } } },
      'CONFIG_INVALID',
      ['presetUsers.alice.password: expected a password'],
    ],
    [
      'an Airlift property we do not implement',
      { serverConfig: { 'http-server.process-forwarded': 'true' } },
      'CONFIG_KEY_NOT_SUPPORTED',
      [
        'serverConfig.http-server.process-forwarded: an Airlift property not yet supported by trino-gateway-lab',
      ],
    ],
  ])('refuses %s', (_name, raw, code, fragments) => {
    const error = refusal(() => parseGatewayConfig(raw, 'gateway.yaml'))
    expect(error.code).toBe(code)
    expect(error.message).toMatch(/^gateway\.yaml: /)
    for (const fragment of fragments) expect(error.message).toContain(fragment)
  })

  it.each(keysNotYetSupported)('refuses the Trino Gateway key %s by name as not yet supported', (key) => {
    const [section, child] = key.split('.') as [string, string | undefined]
    const raw = child === undefined ? { [section]: {} } : { [section]: { [child]: 'x' } }
    const error = refusal(() => parseGatewayConfig(raw, 'gateway.yaml'))
    expect(error.code).toBe('CONFIG_KEY_NOT_SUPPORTED')
    expect(error.message).toContain(`${key}: a Trino Gateway key not yet supported by trino-gateway-lab`)
  })

  it('never echoes a preset user password in an error', () => {
    const error = refusal(() =>
      parseGatewayConfig(
        { authentication: {}, presetUsers: { alice: { password: 'hunter2-secret', privileges: 7 } } },
        'g.yaml',
      ),
    )
    expect(error.message).toContain('presetUsers.alice.privileges')
    expect(error.message).not.toContain('hunter2-secret')
  })

  it('reads authentication, authorization defaults and preset users into security', () => {
    const config = parseGatewayConfig(
      {
        authentication: { defaultType: 'form', sessionLifetime: '30m' },
        presetUsers: { alice: { password: 'pw', privileges: 'USER' } },
      },
      'g.yaml',
    )
    expect(config.security).toEqual({
      authentication: { defaultType: 'form', selfSignKeyPair: undefined, sessionLifetimeMs: 30 * 60_000 },
      roleRegexes: { admin: '(.*)ADMIN(.*)', user: '(.*)USER(.*)', api: '(.*)API(.*)' },
      presetUsers: { alice: { password: 'pw', privileges: 'USER' } },
      pagePermissions: undefined,
    })
  })

  it('reads uiConfiguration.disablePages and pagePermissions, refusing unknown pages by name', () => {
    const config = parseGatewayConfig(
      {
        authentication: {},
        uiConfiguration: { disablePages: ['routing-rules'] },
        pagePermissions: { user: 'dashboard_history', admin: 'dashboard_cluster_resource-group_selector' },
      },
      'g.yaml',
    )
    expect(config.uiConfiguration.disablePages).toEqual(['routing-rules'])
    expect(config.security?.pagePermissions).toEqual({
      user: ['dashboard', 'history'],
      admin: ['dashboard', 'cluster', 'resource-group', 'selector'],
    })
    const unknownPage = refusal(() =>
      parseGatewayConfig({ pagePermissions: { user: 'dashboard_jobs' } }, 'g.yaml'),
    )
    expect(unknownPage.message).toContain('pagePermissions.user: unknown page jobs')
    const disabled = refusal(() =>
      parseGatewayConfig({ uiConfiguration: { disablePages: ['home'] } }, 'g.yaml'),
    )
    expect(disabled.message).toContain('uiConfiguration.disablePages.0: expected one of dashboard')
  })

  it('never echoes the database password in an error', () => {
    const error = refusal(() =>
      parseGatewayConfig({ dataStore: { password: 123456789, bogus: 1 } }, 'g.yaml'),
    )
    expect(error.message).toContain('dataStore.password: expected a string (got "***")')
    expect(error.message).not.toContain('123456789')
  })

  it('names every problem of a config at once', () => {
    const error = refusal(() =>
      parseGatewayConfig(
        { routing: { asyncTimeout: 'soon' }, monitor: { retries: 'x' }, extra: 1 },
        'g.yaml',
      ),
    )
    expect(error.details?.problems).toHaveLength(3)
  })
})

describe('substituteEnvironment', () => {
  it('replaces ${ENV:NAME} references, Trino Gateway style', () => {
    const text = 'jdbcUrl: ${ENV:DB_URL}\npassword: "${ENV:DB-PASSWORD}"\nkeep: ${ENV:1X} ${env:lower}'
    expect(
      substituteEnvironment(text, { DB_URL: 'jdbc:postgresql://h/db', 'DB-PASSWORD': 'p' }, 'g.yaml'),
    ).toBe('jdbcUrl: jdbc:postgresql://h/db\npassword: "p"\nkeep: ${ENV:1X} ${env:lower}')
  })

  it("fails on an unset variable with Trino Gateway's message and the line", () => {
    const error = refusal(() => substituteEnvironment('a: 1\nb: ${ENV:MISSING_VAR}\n', {}, 'g.yaml'))
    expect(error.code).toBe('CONFIG_ENV_UNSET')
    expect(error.message).toBe(
      "Configuration references unset environment variable 'MISSING_VAR' (g.yaml, line 2)",
    )
  })

  it('substitutes any value verbatim and leaves text without references unchanged', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (value, text) => {
        fc.pre(!text.includes('${ENV:'))
        expect(substituteEnvironment(text, {}, 'g.yaml')).toBe(text)
        expect(substituteEnvironment(`${text}\${ENV:V}${text}`, { V: value }, 'g.yaml')).toBe(
          `${text}${value}${text}`,
        )
      }),
    )
  })
})

describe('parseConfigText', () => {
  it.each([
    ['a duplicate key', 'routing: {}\nrouting: {}\n', /Map keys must be unique at line 2/],
    ['an unclosed list', 'extraWhitelistPaths: [/a\n', /at line 2, column 1/],
  ])('refuses YAML with %s, naming the line', (_name, text, message) => {
    const error = refusal(() => parseConfigText(text, 'g.yaml'))
    expect(error.code).toBe('CONFIG_YAML_INVALID')
    expect(error.message).toMatch(message)
  })
})

describe('loadGatewayConfig', () => {
  it('reads a full Trino Gateway config file with environment references', async () => {
    const path = join(scratch, 'full.yaml')
    await writeFile(
      path,
      [
        'serverConfig:',
        '  node.environment: test',
        '  http-server.http.port: ${ENV:GATEWAY_PORT}',
        'dataStore:',
        '  jdbcUrl: jdbc:postgresql://127.0.0.1:5432/gateway',
        '  user: postgres',
        '  password: ${ENV:DB_PASSWORD}',
        '  driver: org.postgresql.Driver',
        '  queryHistoryEnabled: true',
        '  queryHistoryHoursRetention: 24',
        '  runMigrationsEnabled: true',
        'routing:',
        '  defaultRoutingGroup: test-group',
        '  asyncTimeout: 30s',
        '  forwardedHeadersEnabled: false',
        '  rewriteNextUri: false',
        'monitor:',
        '  taskDelay: 500ms',
        '  retries: 2',
        'clusterStatsConfiguration:',
        '  monitorType: NOOP',
        'extraWhitelistPaths:',
        "  - '/api/v1/custom/.*'",
        '  - /metrics',
        'additionalStatementPaths:',
        '  - /custom/v1/statement',
        'routingRules:',
        '  rulesEngineEnabled: true',
        '  rulesType: FILE',
        '  rulesConfigPath: /etc/trino-gateway/routing_rules.yml',
        '  rulesRefreshPeriod: 30s',
        'requestAnalyzerConfig:',
        '  analyzeRequest: true',
        '',
      ].join('\n'),
    )
    const config = await loadGatewayConfig(path, { GATEWAY_PORT: '0', DB_PASSWORD: 's3cret' })
    // The store takes the normalized dataStore section as it is.
    const forStore: DataStoreConfig = config.dataStore
    expect(forStore.runMigrationsEnabled).toBe(true)
    expect(config).toEqual({
      source: path,
      serverConfig: { httpPort: 0, nodeEnvironment: 'test' },
      dataStore: {
        jdbcUrl: 'jdbc:postgresql://127.0.0.1:5432/gateway',
        user: 'postgres',
        password: 's3cret',
        driver: 'org.postgresql.Driver',
        queryHistoryEnabled: true,
        queryHistoryHoursRetention: 24,
        runMigrationsEnabled: true,
      },
      routing: {
        defaultRoutingGroup: 'test-group',
        asyncTimeoutMs: 30_000,
        forwardedHeadersEnabled: false,
        rewriteNextUri: false,
        tieBreak: 'first',
        tokenKeys: [],
        history: 'write-behind',
        historyWriteIntervalMs: 50,
      },
      monitor: { ...defaults.monitor, taskDelayMs: 500, retries: 2 },
      clusterStatsConfiguration: { monitorType: 'NOOP' },
      backendState: undefined,
      modules: [],
      extraWhitelistPaths: ['/api/v1/custom/.*', '/metrics'],
      statementPaths: ['/v1/statement', '/custom/v1/statement'],
      uiConfiguration: { disablePages: [] },
      routingRules: {
        rulesEngineEnabled: true,
        rulesType: 'FILE',
        rulesConfigPath: '/etc/trino-gateway/routing_rules.yml',
        rulesRefreshPeriodMs: 30_000,
        evaluation: 'all-matches',
      },
      requestAnalyzerConfig: {
        analyzeRequest: true,
        maxBodySize: 1_000_000,
        clientsUseV2Format: false,
        tokenUserField: 'email',
      },
    })
  })

  it('refuses a file that cannot be read, naming the path', async () => {
    const path = join(scratch, 'missing.yaml')
    await expect(loadGatewayConfig(path, {})).rejects.toMatchObject({
      code: 'CONFIG_FILE_UNREADABLE',
      message: expect.stringContaining(path),
    })
  })

  it('parses every YAML example of docs/configuration.md', async () => {
    const doc = await readFile(new URL('../docs/configuration.md', import.meta.url), 'utf8')
    const examples = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] as string)
    expect(examples.length).toBeGreaterThan(0)
    for (const [index, example] of examples.entries()) {
      const source = `docs/configuration.md example ${index + 1}`
      const text = substituteEnvironment(
        example,
        {
          GATEWAY_DB_PASSWORD: 'secret',
          ROUTING_KEY_2026_12: 'a-routing-key-of-32-characters-12',
          ROUTING_KEY_2026_11: 'a-routing-key-of-32-characters-11',
        },
        source,
      )
      expect(() => parseGatewayConfig(parseConfigText(text, source), source)).not.toThrow()
    }
  })
})

describe('least-loaded routing keys (modules, backendState, monitor metrics and thresholds)', () => {
  const fullMonitor = {
    clusterStatsConfiguration: { monitorType: 'METRICS' },
    backendState: { username: 'monitor', password: 'secret-pw' },
    modules: ['io.trino.gateway.ha.module.QueryCountBasedRouterProvider'],
    routing: { tieBreak: 'random' },
    monitor: {
      queryTimeout: '5s',
      metricsEndpoint: '/custom/metrics',
      runningQueriesMetricName: 'my_running',
      queuedQueriesMetricName: 'my_queued',
      metricMinimumValues: { my_nodes: '2' },
      metricMaximumValues: { my_queued: 100 },
      failureThreshold: 3,
      successThreshold: '2',
    },
  }

  it('reads every key of the query-count router and the stats monitors', () => {
    const config = parseGatewayConfig(fullMonitor, 'g.yaml')
    expect(config.modules).toEqual(['io.trino.gateway.ha.module.QueryCountBasedRouterProvider'])
    expect(config.routing.tieBreak).toBe('random')
    expect(config.backendState).toEqual({
      username: 'monitor',
      password: 'secret-pw',
      ssl: false,
      xForwardedProtoHeader: false,
    })
    expect(config.monitor).toMatchObject({
      queryTimeoutMs: 5_000,
      metricsEndpoint: '/custom/metrics',
      runningQueriesMetricName: 'my_running',
      queuedQueriesMetricName: 'my_queued',
      // Replaced, not merged with the default ActiveNodeCount minimum.
      metricMinimumValues: { my_nodes: 2 },
      metricMaximumValues: { my_queued: 100 },
      failureThreshold: 3,
      successThreshold: 2,
    })
  })

  it.each(['UI_API', 'METRICS', 'JMX', 'JDBC'])(
    'requires backendState for monitor type %s',
    (monitorType) => {
      const error = refusal(() =>
        parseGatewayConfig({ clusterStatsConfiguration: { monitorType } }, 'g.yaml'),
      )
      expect(error.code).toBe('CONFIG_INVALID')
      expect(error.message).toContain(
        `BackendStateConfiguration is required for monitor type: ${monitorType}`,
      )
    },
  )

  it.each([
    [
      { modules: ['com.example.MyRouter'] },
      'modules.0: unknown module; expected io.trino.gateway.ha.module.QueryCountBasedRouterProvider',
    ],
    [
      { modules: ['io.trino.gateway.ha.module.HaGatewayProviderModule'] },
      'modules.0: io.trino.gateway.ha.module.HaGatewayProviderModule was a default module',
    ],
    [{ routing: { tieBreak: 'last' } }, 'routing.tieBreak'],
    [{ monitor: { failureThreshold: 0 } }, 'monitor.failureThreshold'],
    [{ monitor: { successThreshold: 61 } }, 'expected an integer from 1 to 60'],
    [
      { monitor: { metricMinimumValues: { 'bad name': 1 } } },
      'monitor.metricMinimumValues.bad name: expected a Prometheus metric name',
    ],
    [{ monitor: { metricMaximumValues: { ok: 'lots' } } }, 'monitor.metricMaximumValues.ok'],
    [{ monitor: { metricsEndpoint: 'metrics' } }, 'expected an absolute path such as /metrics'],
    [
      { clusterStatsConfiguration: { monitorType: 'HTTP' } },
      'expected one of INFO_API, NOOP, UI_API, METRICS, JMX, JDBC',
    ],
    [{ backendState: { password: 'x' } }, 'backendState.username'],
  ])('refuses %j naming the key', (raw, fragment) => {
    const error = refusal(() => parseGatewayConfig(raw, 'g.yaml'))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain(fragment)
  })

  it('never echoes the monitor password in an error', () => {
    const error = refusal(() =>
      parseGatewayConfig(
        { ...fullMonitor, backendState: { username: 'm', password: 'hunter2', ssl: 'maybe' } },
        'g.yaml',
      ),
    )
    expect(error.message).toContain('backendState.ssl')
    expect(error.message).not.toContain('hunter2')
  })
})
