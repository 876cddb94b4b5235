import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../../common/wait.ts'
import { requestAnalyzerConfigSchema } from '../analyzer/config.ts'
import type { RoutingRequest } from '../selector.ts'
import { createFileRoutingGroupSelector, type FileRoutingGroupSelector } from './file-selector.ts'

const fixtures = join(import.meta.dirname, 'fixtures')
const analyzeOn = requestAnalyzerConfigSchema.parse({ analyzeRequest: true })

function request(headers: Record<string, string> = {}, body = '', method = 'POST'): RoutingRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
  return { method, path: '/v1/statement', queryString: '', headers: lower, body, remoteAddress: '127.0.0.1' }
}

const selectors: FileRoutingGroupSelector[] = []
function open(file: string, extra: Partial<Parameters<typeof createFileRoutingGroupSelector>[0]> = {}) {
  const selector = createFileRoutingGroupSelector({
    rulesConfigPath: file.includes('/') ? file : join(fixtures, file),
    rulesRefreshPeriodMs: 0,
    ...extra,
  })
  selectors.push(selector)
  return selector
}
afterEach(async () => {
  await Promise.all(selectors.splice(0).map((s) => s.close()))
})

// Trino Gateway's TestRoutingGroupSelector: four rule files, the same three expectations.
describe.each([
  'routing_rules_atomic.yml',
  'routing_rules_priorities.yml',
  'routing_rules_if_statements.yml',
  'routing_rules_state.yml',
])('%s', (file) => {
  it.each([
    [{ 'X-Trino-Source': 'airflow' }, 'etl'],
    [
      { 'X-Trino-Source': 'airflow', 'X-Trino-Client-Tags': 'email=test@example.com,label=special' },
      'etl-special',
    ],
    [{ 'X-Trino-Client-Tags': 'email=test@example.com,label=special' }, undefined],
    [{}, undefined],
  ])('routes %j to %s', (headers, group) => {
    expect(open(file).select(request(headers))).toEqual({ routingGroup: group })
  })
})

describe('routing_rules_trino_query_properties.yml (analyzeRequest on)', () => {
  const basic = `Basic ${Buffer.from('will:supersecret').toString('base64')}`
  const preparedHeader =
    'statement1=SELECT+%27s1%27+c%0A%0A,statement2=SELECT+%27s2%27+c%0A%0A,statement3=SELECT%0A++%27%2C%27+comma%0A%2C+%27%3D%27+eq%0A%0A,statement4=SELECT%0A++c1%0A%2C+c2%0AFROM%0A++foo%0A'
  it.each([
    ['Basic credentials of will', { Authorization: basic }, '', 'will-group'],
    [
      'tables qualified by the defaults',
      { 'X-Trino-Catalog': 'cat_default', 'X-Trino-Schema': 'schem_\\"default' },
      'SELECT x.*, y.*, z.* FROM catx.schemx.tblx x, schemy.tbly y, tblz z',
      'tbl-group',
    ],
    [
      'catalogSchemas',
      { 'X-Trino-Catalog': 'catx', 'X-Trino-Schema': 'default' },
      'SELECT x.*, y.* FROM catx.nondefault.tblx x, caty.default.tbly y',
      'catalog-schema-group',
    ],
    [
      'session defaults without a body',
      { 'X-Trino-Catalog': 'other_catalog', 'X-Trino-Schema': 'other_schema' },
      '',
      'defaults-group',
    ],
    ['an INSERT', {}, 'INSERT INTO foo SELECT 1', 'type-group'],
    ['a CREATE TABLE', {}, 'CREATE TABLE cat.schem.foo (c1 int)', 'resource-group-type-group'],
    [
      'EXECUTE from the prepared-statement header',
      { 'X-Trino-Prepared-Statement': preparedHeader, 'X-Trino-Catalog': 'cat', 'X-Trino-Schema': 'schem' },
      'EXECUTE statement4',
      'statement-header-group',
    ],
    ['a parse error', {}, 'SELECT * FROM table WHERE column = ', 'no-match'],
    ['the system catalog', {}, 'SELECT * from system.runtime.nodes', 'system'],
  ])('routes %s', (_what, headers, body, group) => {
    const selector = open('routing_rules_trino_query_properties.yml', { requestAnalyzer: analyzeOn })
    expect(selector.select(request(headers, body))).toEqual({ routingGroup: group })
  })

  it('reads the V2 body format when clientsUseV2Format is on', () => {
    const selector = open('routing_rules_trino_query_properties.yml', {
      requestAnalyzer: { ...analyzeOn, clientsUseV2Format: true },
    })
    const body =
      '{"preparedStatements" : {"statement1":"INSERT INTO foo SELECT 1"}, "query": "EXECUTE statement1"}'
    expect(selector.select(request({}, body)).routingGroup).toBe('type-group')
  })

  it('refuses the file when analyzeRequest is off, naming the variable', () => {
    expect(() => open('routing_rules_trino_query_properties.yml')).toThrow(
      /rule "user" condition: variable 'trinoRequestUser' is not available: set requestAnalyzerConfig.analyzeRequest/,
    )
  })
})

describe("the article's rules", () => {
  it.each([
    [{ 'X-Trino-Source': 'customers' }, 'adhoc'],
    [{ 'X-Trino-Source': 'collegues' }, 'internal'],
    [{ 'X-Trino-Tag': 'smallCluster' }, 'internal'],
    [{ 'X-Trino-Source': 'customers', 'X-Trino-Tag': 'smallCluster' }, 'internal'],
    [{ 'X-Trino-Source': 'collegues', 'X-Trino-Tag': 'smallCluster' }, 'internal'],
    [{ 'X-Trino-Source': 'other' }, undefined],
    [{ 'X-Trino-Routing-Group': 'adhoc' }, undefined],
    [{}, undefined],
  ])('routes %j to %s', (headers, group) => {
    expect(open('article_rule_precedence.yml').select(request(headers)).routingGroup).toBe(group)
  })

  it('stops at the first rule that sets a group with evaluation first-match', () => {
    const selector = open('article_rule_precedence.yml', { evaluation: 'first-match' })
    expect(
      selector.select(request({ 'X-Trino-Source': 'customers', 'X-Trino-Tag': 'smallCluster' })).routingGroup,
    ).toBe('adhoc')
  })

  it('does not stop first-match evaluation at a rule that only writes state', () => {
    const selector = open('routing_rules_state.yml', { evaluation: 'first-match' })
    const tagged = { 'X-Trino-Source': 'airflow', 'X-Trino-Client-Tags': 'label=special' }
    expect(selector.select(request(tagged)).routingGroup).toBe('etl')
  })
})

describe('file handling', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'routing-rules-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const rule = (name: string, group: string, priority?: number) =>
    `---\nname: "${name}"\n${priority === undefined ? '' : `priority: ${priority}\n`}condition: 'request.getHeader("X-Trino-Source") == "airflow"'\nactions:\n  - 'result.put("routingGroup", "${group}")'\n`

  it('keeps equal priorities in file order, so the later rule wins', async () => {
    const file = join(dir, 'rules.yml')
    await writeFile(file, rule('first', 'one', 5) + rule('second', 'two', 5) + rule('early', 'zero', 1))
    const selector = open(file)
    expect(selector.rules().map((r) => r.name)).toEqual(['early', 'first', 'second'])
    expect(selector.select(request({ 'X-Trino-Source': 'airflow' })).routingGroup).toBe('two')
  })

  it('picks up a changed file on the refresh period', async () => {
    const file = join(dir, 'rules.yml')
    await writeFile(file, rule('airflow1', 'etl'))
    const selector = open(file, { rulesRefreshPeriodMs: 10 })
    expect(selector.select(request({ 'X-Trino-Source': 'airflow' })).routingGroup).toBe('etl')
    await writeFile(file, rule('airflow2', 'etl2'))
    await waitFor(() => selector.select(request({ 'X-Trino-Source': 'airflow' })).routingGroup === 'etl2', {
      timeoutMs: 5000,
      what: 'the changed rules file to be reloaded',
    })
    expect(selector.metrics().reloadsTotal).toBe(1)
  })

  it('keeps the last good rules when the file turns bad, reports it, and recovers', async () => {
    const file = join(dir, 'rules.yml')
    await writeFile(file, rule('airflow', 'etl'))
    const selector = open(file)
    await writeFile(
      file,
      `${rule('airflow', 'etl2')}---\nname: broken\ncondition: 'request.getHeader("a") ==='\nactions: []\n`,
    )
    const status = await selector.reload()
    expect(status.stale).toBe(true)
    expect(status.lastError?.code).toBe('ROUTING_RULE_SYNTAX')
    expect(status.lastError?.message).toMatch(
      /rules\.yml:\d+:\d+: rule "broken" condition: unexpected character "="/,
    )
    expect(selector.metrics().reloadFailuresTotal).toBe(1)
    expect(selector.select(request({ 'X-Trino-Source': 'airflow' })).routingGroup).toBe('etl')

    await rm(file)
    expect((await selector.reload()).lastError?.code).toBe('ROUTING_RULES_FILE_UNREADABLE')
    expect(selector.select(request({ 'X-Trino-Source': 'airflow' })).routingGroup).toBe('etl')

    await writeFile(file, rule('airflow', 'etl3'))
    const recovered = await selector.reload()
    expect(recovered).toMatchObject({ stale: false, lastError: null, ruleCount: 1 })
    expect(selector.select(request({ 'X-Trino-Source': 'airflow' })).routingGroup).toBe('etl3')
  })

  it('refuses to start on a bad file with the file, rule, line and column', async () => {
    const file = join(dir, 'rules.yml')
    await writeFile(
      file,
      `---\nname: ok\ncondition: "true"\nactions: []\n---\nname: "evil"\ncondition: |\n  request.getHeader("a") == "b"\n    && process.exit(1)\nactions: []\n`,
    )
    expect(() => open(file)).toThrow(
      /rules\.yml:7:\d+: rule "evil" condition: unknown name 'process'.*\(line 2, column 6 of the condition\)/,
    )
  })

  it.each([
    [
      'an unknown key',
      'name: a\ncondition: "true"\nactions: []\ncompositeRuleType: ActivationRuleGroup\n',
      /Unrecognized key/,
    ],
    ['a missing condition', 'name: a\nactions: []\n', /condition/],
    ['a non-integer priority', 'name: a\npriority: high\ncondition: "true"\nactions: []\n', /priority/],
    ['invalid YAML', 'name: [a\n', /ROUTING_RULES_YAML_INVALID|document 1/],
  ])('refuses a rule with %s', async (_what, text, message) => {
    const file = join(dir, 'rules.yml')
    await writeFile(file, text)
    expect(() => open(file)).toThrow(message)
  })

  it('skips a rule that throws for one request, counts it and still routes', async () => {
    const file = join(dir, 'rules.yml')
    await writeFile(
      file,
      `---\nname: tags\npriority: 0\ncondition: 'request.getHeader("X-Trino-Client-Tags").isEmpty()'\nactions:\n  - 'result.put("routingGroup", "untagged")'\n${rule('airflow', 'etl', 1)}`,
    )
    const selector = open(file)
    const selection = selector.select(request({ 'X-Trino-Source': 'airflow' }))
    expect(selection.routingGroup).toBe('etl')
    expect(selection.warnings?.[0]).toMatch(/rule "tags" skipped: cannot call isEmpty on null/)
    expect(selector.metrics()).toMatchObject({
      evaluationErrorsTotal: 1,
      evaluationErrorsByRule: { tags: 1 },
    })
    expect(selector.select(request({ 'X-Trino-Client-Tags': 'x' })).routingGroup).toBeUndefined()
  })

  it('reads the file written by the rules API unchanged', async () => {
    const file = join(dir, 'rules.yml')
    await writeFile(file, await readFile(join(fixtures, 'routing_rules_state.yml'), 'utf8'))
    expect(open(file).rules()).toHaveLength(3)
  })
})
