import { describe, expect, it } from 'vitest'
import { analyzeQuery, parseDottedName, tablesContain } from './query-properties.ts'

const options = { maxBodySize: 1_000_000, clientsUseV2Format: false }
const defaults = { 'x-trino-catalog': 'default_catalog', 'x-trino-schema': 'default_schema' }

function analyze(body: string, headers: Record<string, string> = defaults, extra = options) {
  return analyzeQuery({ method: 'POST', headers, body }, extra)
}

const sorted = (values: readonly string[]) => [...values].sort()

// Trino Gateway's testTrinoQueryPropertiesTableExtraction, defaults default_catalog / default_schema:
// [statement, catalogs, schemas, tables].
const tableExtractionCases: Array<[string, string[], string[], string[]]> = [
  [
    "ALTER TABLE cat.schem.tbl ADD COLUMN extraInfo VARCHAR WITH (nullable = true, encoding = 'plain')",
    ['cat'],
    ['schem'],
    ['cat.schem.tbl'],
  ],
  ['ANALYZE cat.schem.tbl', ['cat'], ['schem'], ['cat.schem.tbl']],
  ['CREATE CATALOG kat USING iceberg', ['kat'], [], []],
  [
    'CREATE MATERIALIZED VIEW cat.mvschem.mv AS SELECT c1, c2 from cat.schem.tbl',
    ['cat'],
    ['mvschem', 'schem'],
    ['cat.mvschem.mv', 'cat.schem.tbl'],
  ],
  ['CREATE SCHEMA kat.schem', ['kat'], ['schem'], []],
  ['CREATE SCHEMA schem', ['default_catalog'], ['schem'], []],
  ['CREATE TABLE cat.schem.tbl(c1 varchar)', ['cat'], ['schem'], ['cat.schem.tbl']],
  [
    'CREATE VIEW cat.vwschem.vw AS SELECT c1, c2 from cat.schem.tbl',
    ['cat'],
    ['schem', 'vwschem'],
    ['cat.schem.tbl', 'cat.vwschem.vw'],
  ],
  [
    'CREATE TABLE cat.schem2.tbl2 AS SELECT c1, c2 from cat.schem.tbl',
    ['cat'],
    ['schem', 'schem2'],
    ['cat.schem.tbl', 'cat.schem2.tbl2'],
  ],
  ['DROP CATALOG kat', ['kat'], [], []],
  ['DROP SCHEMA kat.schem', ['kat'], ['schem'], []],
  ['DROP SCHEMA schem', ['default_catalog'], ['schem'], []],
  ['DROP TABLE cat.schem.tbl', ['cat'], ['schem'], ['cat.schem.tbl']],
  [
    'ALTER MATERIALIZED VIEW cat.mvschem.mv RENAME TO cat.mvschem2.mv2',
    ['cat'],
    ['mvschem', 'mvschem2'],
    ['cat.mvschem.mv', 'cat.mvschem2.mv2'],
  ],
  ['ALTER SCHEMA kat.schem RENAME TO schem2', ['kat'], ['schem', 'schem2'], []],
  [
    'ALTER TABLE cat.schem.tbl RENAME TO schem2.tbl2',
    ['cat'],
    ['schem', 'schem2'],
    ['cat.schem.tbl', 'cat.schem2.tbl2'],
  ],
  [
    'ALTER VIEW cat.schem.vw RENAME TO schem2.vw2',
    ['cat'],
    ['schem', 'schem2'],
    ['cat.schem.vw', 'cat.schem2.vw2'],
  ],
  [
    "ALTER TABLE cat.schem.tbl SET PROPERTIES property_name = 'expression'",
    ['cat'],
    ['schem'],
    ['cat.schem.tbl'],
  ],
  ['DESCRIBE cat.schem.tbl', ['cat'], ['schem'], ['cat.schem.tbl']],
  ['SHOW CREATE SCHEMA cat.schem', ['cat'], ['schem'], []],
  ['SHOW CREATE SCHEMA schem', ['default_catalog'], ['schem'], []],
  ['SHOW CREATE TABLE cat.schem.tbl', ['cat'], ['schem'], ['cat.schem.tbl']],
  ['SHOW CREATE VIEW cat.schem.vw', ['cat'], ['schem'], ['cat.schem.vw']],
  ['SHOW SCHEMAS FROM kat', ['kat'], [], []],
  ['SHOW SCHEMAS', ['default_catalog'], [], []],
  ['SHOW TABLES FROM kat.schem', ['kat'], ['schem'], []],
  ['SHOW TABLES', ['default_catalog'], ['default_schema'], []],
  ['ALTER SCHEMA kat.schem SET AUTHORIZATION will', ['kat'], ['schem'], []],
  ['ALTER SCHEMA schem SET AUTHORIZATION will', ['default_catalog'], ['schem'], []],
  ['ALTER TABLE cat.schem.tbl SET AUTHORIZATION will', ['cat'], ['schem'], ['cat.schem.tbl']],
  ['ALTER VIEW cat.schem.vw SET AUTHORIZATION will', ['cat'], ['schem'], ['cat.schem.vw']],
  ["SELECT * FROM TABLE(kat.system.funk(arg => 'expr'))", ['kat'], ['system'], ['kat.system.funk']],
  ["EXECUTE IMMEDIATE 'SELECT * FROM cat.schem.tbl'", ['cat'], ['schem'], ['cat.schem.tbl']],
]

describe('trinoQueryProperties table extraction (Trino Gateway cases)', () => {
  it.each(tableExtractionCases)('%s', (sql, catalogs, schemas, tables) => {
    const properties = analyze(sql)
    expect(properties.errorMessage).toBeNull()
    expect(properties.isQueryParsingSuccessful).toBe(true)
    expect(sorted(properties.catalogs)).toEqual(sorted(catalogs))
    expect(sorted(properties.schemas)).toEqual(sorted(schemas))
    expect(sorted(properties.tables.map((t) => t.join('.')))).toEqual(sorted(tables))
  })
})

describe('trinoQueryProperties', () => {
  it('qualifies one- and two-part names with the default catalog and schema headers', () => {
    const properties = analyze('SELECT x.*, y.*, z.* FROM catx.schemx.tblx x, schemy.tbly y, tblz z', {
      'x-trino-catalog': 'cat_default',
      'x-trino-schema': 'schem_\\"default',
    })
    expect(tablesContain(properties, 'cat_default."schem_\\"default".tblz')).toBe(true)
    expect(tablesContain(properties, 'cat_default.schemy.tbly')).toBe(true)
    expect(tablesContain(properties, 'catx.schemx.tblx')).toBe(true)
    expect(properties.queryType).toBe('Query')
    expect(properties.resourceGroupQueryType).toBe('SELECT')
  })

  it('excludes CTE names and keeps the tables they read', () => {
    const sql = `WITH dos (c1) as (select c1 from uno),
      uno(c1) as (select c1 from cat.schem.tbl1)
      SELECT c1 from uno, dos`
    const withDefaults = analyze(sql)
    expect(withDefaults.tables.map((t) => t.join('.'))).toEqual(['cat.schem.tbl1'])
    const noDefaults = analyze(sql, {})
    expect(noDefaults.tables.map((t) => t.join('.'))).toEqual(['cat.schem.tbl1'])
  })

  it.each([
    ['INSERT INTO foo SELECT 1', 'Insert', 'INSERT'],
    ['CREATE TABLE cat.schem.foo (c1 int)', 'CreateTable', 'DATA_DEFINITION'],
    ['CREATE TABLE cat.schem.foo AS SELECT 1 AS a', 'CreateTableAsSelect', 'INSERT'],
    ['DELETE FROM cat.schem.t WHERE a = 1', 'Delete', 'DELETE'],
    ['UPDATE cat.schem.t SET a = 1', 'Update', 'UPDATE'],
    ['MERGE INTO cat.schem.t t USING cat.schem.s s ON t.a = s.a WHEN MATCHED THEN DELETE', 'Merge', 'MERGE'],
    ['EXPLAIN SELECT 1', 'Explain', 'EXPLAIN'],
    ['EXPLAIN ANALYZE INSERT INTO foo SELECT 1', 'ExplainAnalyze', 'INSERT'],
    ['ALTER TABLE cat.schem.t EXECUTE optimize', 'TableExecute', 'ALTER_TABLE_EXECUTE'],
    ['SHOW CATALOGS', 'ShowCatalogs', 'DESCRIBE'],
    ["SET SESSION query_max_run_time = '1h'", 'SetSession', 'DATA_DEFINITION'],
    ['SELECT 1;', 'Query', 'SELECT'],
  ])('classifies %s as %s / %s', (sql, queryType, resourceGroupQueryType) => {
    const properties = analyze(sql, { 'x-trino-catalog': 'c', 'x-trino-schema': 's' })
    expect(properties.queryType).toBe(queryType)
    expect(properties.resourceGroupQueryType).toBe(resourceGroupQueryType)
    expect(properties.isQueryParsingSuccessful).toBe(true)
  })

  it('reads the V2 body format and resolves EXECUTE from its prepared statements', () => {
    const body = JSON.stringify({
      preparedStatements: { statement1: 'INSERT INTO foo SELECT 1' },
      query: 'EXECUTE statement1',
    })
    const properties = analyze(body, defaults, { ...options, clientsUseV2Format: true })
    expect(properties.queryType).toBe('Insert')
    expect(properties.tables.map((t) => t.join('.'))).toEqual(['default_catalog.default_schema.foo'])
  })

  it('resolves EXECUTE from the X-Trino-Prepared-Statement header', () => {
    const header =
      'statement1=SELECT+%27s1%27+c%0A%0A,statement2=SELECT+%27s2%27+c%0A%0A,statement3=SELECT%0A++%27%2C%27+comma%0A%2C+%27%3D%27+eq%0A%0A,statement4=SELECT%0A++c1%0A%2C+c2%0AFROM%0A++foo%0A'
    const properties = analyze('EXECUTE statement4', {
      'x-trino-catalog': 'cat',
      'x-trino-schema': 'schem',
      'x-trino-prepared-statement': header,
    })
    expect(properties.queryType).toBe('Query')
    expect(tablesContain(properties, 'cat.schem.foo')).toBe(true)
  })

  it('reports EXECUTE of an unknown prepared statement as queryType Execute', () => {
    const properties = analyze('EXECUTE nosuch')
    expect(properties.queryType).toBe('Execute')
    expect(properties.tables).toEqual([])
  })

  it('marks a syntax error as unparsed and keeps the body', () => {
    const properties = analyze('SELECT * FROM table WHERE column = ')
    expect(properties.isQueryParsingSuccessful).toBe(false)
    expect(properties.errorMessage).toMatch(/cannot parse/)
    expect(properties.body).toBe('SELECT * FROM table WHERE column = ')
  })

  it('fails with "Name not fully qualified" when a default is missing, keeping the query type', () => {
    const properties = analyze('CREATE SCHEMA myschema', {})
    expect(properties.isQueryParsingSuccessful).toBe(false)
    expect(properties.errorMessage).toBe('Name not fully qualified')
    expect(properties.queryType).toBe('CreateSchema')
    expect(properties.catalogs).toEqual([])
  })

  it('takes the table of COMMENT ON COLUMN from the column name', () => {
    const properties = analyze("COMMENT ON COLUMN a.b IS 'x'", {
      'x-trino-catalog': 'dc',
      'x-trino-schema': 'ds',
    })
    expect(properties.tables.map((t) => t.join('.'))).toEqual(['dc.ds.a'])
  })

  it('skips bodies in another charset and bodies at or over maxBodySize', () => {
    const latin1 = analyzeQuery(
      {
        method: 'POST',
        headers: { ...defaults, 'content-type': 'text/plain; charset=ISO-8859-1' },
        body: 'SELECT 1',
      },
      options,
    )
    expect(latin1.body).toBe('')
    expect(latin1.queryType).toBe('')
    const big = analyzeQuery(
      { method: 'POST', headers: defaults, body: 'SELECT 1' },
      { ...options, maxBodySize: 8 },
    )
    expect(big.queryType).toBe('')
    const noMediaType = analyzeQuery({ method: 'POST', headers: defaults, body: 'SELECT 1' }, options)
    expect(noMediaType.queryType).toBe('Query')
  })

  it('marks only POSTs as new query submissions and reads the default headers for any method', () => {
    const get = analyzeQuery({ method: 'GET', headers: defaults, body: '' }, options)
    expect(get.isNewQuerySubmission).toBe(false)
    expect(get.defaultCatalog).toBe('default_catalog')
    expect(analyze('SELECT 1').isNewQuerySubmission).toBe(true)
  })

  it('finds the table of a very wide select', () => {
    const columns = Array.from({ length: 1000 }, (_, i) => `column_number_${i}`).join(',\n  ')
    const properties = analyze(`SELECT\n  ${columns}\nFROM kat.schem.widetable`)
    expect(tablesContain(properties, 'kat.schem.widetable')).toBe(true)
  })
})

describe('parseDottedName', () => {
  it.each([
    ['a.b.c', ['a', 'b', 'c']],
    ['A."B.x".c', ['a', 'b.x', 'c']],
    ['cat."schem_\\"default".t', ['cat', 'schem_\\"default', 't']],
  ])('%s', (input, parts) => {
    expect(parseDottedName(input)).toEqual(parts)
  })

  it('refuses an unterminated quote', () => {
    expect(parseDottedName('a."b')).toBeUndefined()
  })
})
