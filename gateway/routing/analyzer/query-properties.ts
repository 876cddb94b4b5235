/**
 * TrinoQueryProperties: what a statement touches, for routing rules. Pure over (method, headers,
 * body, config). Statement kinds come from the leading keywords (Trino's AST class names and its
 * resource-group query types); table references of queries come from node-sql-parser's `trino`
 * dialect; names of DDL and utility statements are read from the tokens. A statement neither can
 * read sets `isQueryParsingSuccessful=false` with an error message, and routing still runs.
 */
import { createRequire } from 'node:module'
import type TrinoSqlParser from 'node-sql-parser/build/trino.js'
import type { RequestAnalyzerConfig } from './config.ts'
import { SqlSyntaxError, type SqlToken, TokenCursor, tokenizeSql } from './sql-tokens.ts'

export type ResourceGroupQueryType =
  | 'SELECT'
  | 'EXPLAIN'
  | 'DESCRIBE'
  | 'INSERT'
  | 'UPDATE'
  | 'DELETE'
  | 'ANALYZE'
  | 'DATA_DEFINITION'
  | 'ALTER_TABLE_EXECUTE'
  | 'MERGE'
  | 'UNKNOWN'

export interface TrinoQueryProperties {
  body: string
  /** Trino's statement class name (`Query`, `Insert`, `CreateTable`, ...), '' without a statement. */
  queryType: string
  resourceGroupQueryType: ResourceGroupQueryType | ''
  /** Fully qualified, lower-cased [catalog, schema, table] triples. */
  tables: ReadonlyArray<readonly [string, string, string]>
  defaultCatalog: string | null
  defaultSchema: string | null
  catalogs: readonly string[]
  schemas: readonly string[]
  catalogSchemas: readonly string[]
  isNewQuerySubmission: boolean
  isQueryParsingSuccessful: boolean
  errorMessage: string | null
}

export type AnalyzerOptions = Pick<RequestAnalyzerConfig, 'maxBodySize' | 'clientsUseV2Format'>

interface Extraction {
  queryType: string
  resourceGroupQueryType: ResourceGroupQueryType
  tables: string[][]
  /** Catalog names of catalog-level statements ([] = the default catalog). */
  catalogs: string[][]
  /** Schema names of schema-level statements ([] = the default schema). */
  schemas: string[][]
}

class NotQualifiedError extends Error {
  constructor() {
    super('Name not fully qualified')
  }
}

// The Trino-only build (the package's default entry loads every dialect, about 100 MB of heap),
// loaded on the first analysis: it costs about 11 MB of resident memory, which a gateway whose
// requestAnalyzerConfig.analyzeRequest is off never needs.
const requireModule = createRequire(import.meta.url)
let parser: InstanceType<typeof TrinoSqlParser.Parser> | undefined
function sqlParser(): InstanceType<typeof TrinoSqlParser.Parser> {
  if (parser === undefined) {
    const loaded = requireModule('node-sql-parser/build/trino.js') as typeof TrinoSqlParser
    parser = new loaded.Parser()
  }
  return parser
}

export function analyzeQuery(
  request: { method: string; headers: Readonly<Record<string, string>>; body: string },
  options: AnalyzerOptions,
): TrinoQueryProperties {
  const defaultCatalog = request.headers['x-trino-catalog'] ?? null
  const defaultSchema = request.headers['x-trino-schema'] ?? null
  const properties: TrinoQueryProperties = {
    body: '',
    queryType: '',
    resourceGroupQueryType: '',
    tables: [],
    defaultCatalog,
    defaultSchema,
    catalogs: [],
    schemas: [],
    catalogSchemas: [],
    isNewQuerySubmission: request.method === 'POST',
    isQueryParsingSuccessful: true,
    errorMessage: null,
  }
  if (request.method !== 'POST' || request.body === '' || !isUtf8(request.headers['content-type']))
    return properties
  if (request.body.length >= options.maxBodySize) return properties

  let body = request.body
  let preparedStatements: Map<string, string>
  try {
    preparedStatements = preparedStatementsFromHeader(request.headers['x-trino-prepared-statement'])
  } catch (error) {
    return { ...properties, body, isQueryParsingSuccessful: false, errorMessage: messageOf(error) }
  }
  if (options.clientsUseV2Format) {
    const v2 = parseV2Body(body)
    if (v2 !== undefined) {
      body = v2.query
      for (const [name, sql] of v2.preparedStatements) preparedStatements.set(name, sql)
    }
  }
  properties.body = body

  let extraction: Extraction
  try {
    let statement = stripTrailingSemicolon(body)
    const tokens = tokenizeSql(statement)
    const cursor = new TokenCursor(tokens)
    if (cursor.accept('EXECUTE', 'IMMEDIATE')) {
      const literal = cursor.peek()
      if (literal?.kind !== 'string') throw new SqlSyntaxError('EXECUTE IMMEDIATE expects a string literal')
      statement = stripTrailingSemicolon(literal.text)
      properties.body = statement
    } else if (cursor.accept('EXECUTE')) {
      const name = cursor.name('prepared statement')
      const prepared =
        preparedStatements.get((name[0] as string).toLowerCase()) ?? preparedStatements.get(name[0] as string)
      if (prepared === undefined) {
        // Trino Gateway's behaviour: the type is known, nothing else is.
        return { ...properties, queryType: 'Execute' }
      }
      statement = stripTrailingSemicolon(prepared)
      properties.body = statement
    }
    extraction = extract(statement)
  } catch (error) {
    return { ...properties, isQueryParsingSuccessful: false, errorMessage: messageOf(error) }
  }

  properties.queryType = extraction.queryType
  properties.resourceGroupQueryType = extraction.resourceGroupQueryType
  try {
    const tables = uniqueNames(
      extraction.tables.map((name) => qualify(name, defaultCatalog, defaultSchema, 3)),
    )
    const schemaPairs = uniqueNames(
      extraction.schemas.map((name) => qualify(name, defaultCatalog, defaultSchema, 2)),
    )
    const catalogs = new Set(
      extraction.catalogs.map((name) => qualify(name, defaultCatalog, defaultSchema, 1)[0] as string),
    )
    const schemas = new Set<string>()
    const catalogSchemas = new Set<string>()
    for (const [catalog, schema] of [...schemaPairs, ...tables] as string[][]) {
      catalogs.add(catalog as string)
      schemas.add(schema as string)
      catalogSchemas.add(`${catalog}.${schema}`)
    }
    properties.tables = tables as Array<[string, string, string]>
    properties.catalogs = [...catalogs]
    properties.schemas = [...schemas]
    properties.catalogSchemas = [...catalogSchemas]
  } catch (error) {
    return { ...properties, isQueryParsingSuccessful: false, errorMessage: messageOf(error) }
  }
  return properties
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A missing charset or media type counts as UTF-8; any other declared charset is not parsed. */
function isUtf8(contentType: string | undefined): boolean {
  if (contentType === undefined) return true
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)
  return match === null || (match[1] as string).toLowerCase().replace('-', '') === 'utf8'
}

function stripTrailingSemicolon(sql: string): string {
  return sql.replace(/;\s*$/, '')
}

/** `X-Trino-Prepared-Statement: name=urlencoded(sql),name2=...` (repeated headers joined by ', '). */
export function preparedStatementsFromHeader(header: string | undefined): Map<string, string> {
  const statements = new Map<string, string>()
  if (header === undefined || header.trim() === '') return statements
  for (const entry of header.split(',')) {
    const trimmed = entry.trim()
    if (trimmed === '') continue
    const parts = trimmed.split('=')
    if (parts.length !== 2) {
      throw new SqlSyntaxError(`preparedStatement must be formatted as name=value, but is ${trimmed}`)
    }
    const value = parts[1] as string
    if (value.startsWith('$zstd:')) {
      throw new SqlSyntaxError('zstd-compressed prepared statements ($zstd:) are not supported')
    }
    statements.set(decodeFormComponent(parts[0] as string), decodeFormComponent(value))
  }
  return statements
}

function decodeFormComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    throw new SqlSyntaxError(`malformed URL encoding in prepared statement ${JSON.stringify(text)}`)
  }
}

function parseV2Body(body: string): { query: string; preparedStatements: Map<string, string> } | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined
  const record = parsed as Record<string, unknown>
  if (typeof record.query !== 'string') return undefined
  const preparedStatements = new Map<string, string>()
  const prepared = record.preparedStatements
  if (prepared !== null && typeof prepared === 'object' && !Array.isArray(prepared)) {
    for (const [name, sql] of Object.entries(prepared))
      if (typeof sql === 'string') preparedStatements.set(name, sql)
  }
  return { query: record.query, preparedStatements }
}

function qualify(
  name: readonly string[],
  catalog: string | null,
  schema: string | null,
  size: 1 | 2 | 3,
): string[] {
  const parts = name.map((part) => part.toLowerCase())
  if (parts.length > size) throw new SqlSyntaxError(`too many dots in name ${name.join('.')}`)
  const defaults = [catalog, schema].slice(0, size - parts.length)
  if (defaults.some((part) => part === null)) throw new NotQualifiedError()
  return [...(defaults as string[]).map((part) => part.toLowerCase()), ...parts]
}

function uniqueNames(names: string[][]): string[][] {
  const seen = new Map<string, string[]>()
  for (const name of names) seen.set(JSON.stringify(name), name)
  return [...seen.values()]
}

/** Qualifies a rename target relative to its source, as Trino resolves `RENAME TO schema.table`. */
function relativeTo(source: readonly string[], target: readonly string[]): string[] {
  const missing = source.length - target.length
  return missing > 0 ? [...source.slice(0, missing), ...target] : [...target]
}

function basic(queryType: string, resourceGroupQueryType: ResourceGroupQueryType): Extraction {
  return { queryType, resourceGroupQueryType, tables: [], catalogs: [], schemas: [] }
}

/** Statements with no object names, by leading keywords: [keywords, queryType]. All DATA_DEFINITION
 * unless listed in `describeTypes`. */
const plainStatements: ReadonlyArray<[string[], string]> = [
  [['SHOW', 'CATALOGS'], 'ShowCatalogs'],
  [['SHOW', 'FUNCTIONS'], 'ShowFunctions'],
  [['SHOW', 'SESSION'], 'ShowSession'],
  [['SHOW', 'GRANTS'], 'ShowGrants'],
  [['SHOW', 'ROLE', 'GRANTS'], 'ShowRoleGrants'],
  [['SHOW', 'CURRENT', 'ROLES'], 'ShowRoles'],
  [['SHOW', 'ROLES'], 'ShowRoles'],
  [['SHOW', 'BRANCHES'], 'ShowBranches'],
  [['DESCRIBE', 'INPUT'], 'DescribeInput'],
  [['DESCRIBE', 'OUTPUT'], 'DescribeOutput'],
  [['USE'], 'Use'],
  [['SET', 'SESSION', 'AUTHORIZATION'], 'SetSessionAuthorization'],
  [['RESET', 'SESSION', 'AUTHORIZATION'], 'ResetSessionAuthorization'],
  [['SET', 'SESSION'], 'SetSession'],
  [['RESET', 'SESSION'], 'ResetSession'],
  [['SET', 'ROLE'], 'SetRole'],
  [['SET', 'TIME', 'ZONE'], 'SetTimeZone'],
  [['SET', 'PATH'], 'SetPath'],
  [['START', 'TRANSACTION'], 'StartTransaction'],
  [['COMMIT'], 'Commit'],
  [['ROLLBACK'], 'Rollback'],
  [['CALL'], 'Call'],
  [['PREPARE'], 'Prepare'],
  [['DEALLOCATE'], 'Deallocate'],
  [['GRANT'], 'Grant'],
  [['REVOKE'], 'Revoke'],
  [['DENY'], 'Deny'],
  [['CREATE', 'ROLE'], 'CreateRole'],
  [['DROP', 'ROLE'], 'DropRole'],
  [['CREATE', 'FUNCTION'], 'CreateFunction'],
  [['CREATE', 'OR', 'REPLACE', 'FUNCTION'], 'CreateFunction'],
  [['DROP', 'FUNCTION'], 'DropFunction'],
]

const describeTypes = new Set([
  'ShowCatalogs',
  'ShowFunctions',
  'ShowSession',
  'ShowGrants',
  'ShowRoleGrants',
  'ShowRoles',
  'DescribeInput',
  'DescribeOutput',
])

function extract(sql: string): Extraction {
  const tokens = tokenizeSql(sql)
  if (tokens.length === 0) throw new SqlSyntaxError('empty statement')
  const c = new TokenCursor(tokens)

  if (c.accept('EXPLAIN')) {
    const analyze = c.accept('ANALYZE')
    c.accept('VERBOSE')
    if (c.acceptSymbol('(')) skipParenthesized(c)
    const inner = extract(sql.slice(c.peek()?.start ?? sql.length))
    return {
      ...inner,
      queryType: analyze ? 'ExplainAnalyze' : 'Explain',
      resourceGroupQueryType: analyze ? inner.resourceGroupQueryType : 'EXPLAIN',
    }
  }

  const first = c.peek() as SqlToken
  if (
    first.upper === 'SELECT' ||
    first.upper === 'WITH' ||
    first.upper === 'VALUES' ||
    first.upper === 'TABLE' ||
    first.text === '('
  ) {
    return { ...basic('Query', 'SELECT'), tables: queryTables(sql) }
  }
  if (c.is('INSERT')) return { ...basic('Insert', 'INSERT'), tables: queryTables(sql) }
  if (c.is('UPDATE')) return { ...basic('Update', 'UPDATE'), tables: queryTables(sql) }
  if (c.is('DELETE')) return { ...basic('Delete', 'DELETE'), tables: queryTables(sql) }
  if (c.accept('MERGE', 'INTO')) {
    // node-sql-parser cannot read MERGE: the target and the USING relation are read from tokens.
    const target = c.name('table')
    const tables = [target]
    skipAlias(c)
    if (c.accept('USING')) {
      if (c.acceptSymbol('(')) {
        const open = c.index - 1
        skipParenthesized(c)
        tables.push(...queryTables(sqlBetween(sql, tokens, open + 1, c.index - 1)))
      } else {
        tables.push(c.name('table'))
      }
    }
    return { ...basic('Merge', 'MERGE'), tables }
  }

  for (const [words, queryType] of plainStatements) {
    if (c.is(...words)) return basic(queryType, describeTypes.has(queryType) ? 'DESCRIBE' : 'DATA_DEFINITION')
  }

  if (c.accept('ANALYZE')) return { ...basic('Analyze', 'ANALYZE'), tables: [c.name('table')] }
  if (c.accept('DESCRIBE') || c.accept('DESC'))
    return { ...basic('ShowColumns', 'DESCRIBE'), tables: [c.name('table')] }
  if (c.accept('SHOW', 'COLUMNS', 'FROM') || c.accept('SHOW', 'COLUMNS', 'IN')) {
    return { ...basic('ShowColumns', 'DESCRIBE'), tables: [c.name('table')] }
  }
  if (c.accept('SHOW', 'STATS', 'FOR')) {
    if (c.acceptSymbol('(')) {
      const open = c.index - 1
      skipParenthesized(c)
      return {
        ...basic('ShowStats', 'DESCRIBE'),
        tables: queryTables(sqlBetween(sql, tokens, open + 1, c.index - 1)),
      }
    }
    return { ...basic('ShowStats', 'DESCRIBE'), tables: [c.name('table')] }
  }
  if (c.accept('SHOW', 'CREATE', 'SCHEMA'))
    return { ...basic('ShowCreate', 'DESCRIBE'), schemas: [c.name('schema')] }
  if (
    c.accept('SHOW', 'CREATE', 'TABLE') ||
    c.accept('SHOW', 'CREATE', 'VIEW') ||
    c.accept('SHOW', 'CREATE', 'MATERIALIZED', 'VIEW') ||
    c.accept('SHOW', 'CREATE', 'FUNCTION')
  ) {
    return { ...basic('ShowCreate', 'DESCRIBE'), tables: [c.name('table')] }
  }
  if (c.accept('SHOW', 'SCHEMAS')) {
    const extraction = basic('ShowSchemas', 'DESCRIBE')
    return { ...extraction, catalogs: [c.accept('FROM') || c.accept('IN') ? c.name('catalog') : []] }
  }
  if (c.accept('SHOW', 'TABLES')) {
    const extraction = basic('ShowTables', 'DESCRIBE')
    if (c.accept('FROM') || c.accept('IN')) return { ...extraction, schemas: [c.name('schema')] }
    return { ...extraction, schemas: [[]] }
  }

  if (c.accept('CREATE', 'CATALOG')) {
    c.accept('IF', 'NOT', 'EXISTS')
    return { ...basic('CreateCatalog', 'DATA_DEFINITION'), catalogs: [c.name('catalog')] }
  }
  if (c.accept('DROP', 'CATALOG')) {
    c.accept('IF', 'EXISTS')
    return { ...basic('DropCatalog', 'DATA_DEFINITION'), catalogs: [c.name('catalog')] }
  }
  if (c.accept('CREATE', 'SCHEMA')) {
    c.accept('IF', 'NOT', 'EXISTS')
    return { ...basic('CreateSchema', 'DATA_DEFINITION'), schemas: [c.name('schema')] }
  }
  if (c.accept('DROP', 'SCHEMA')) {
    c.accept('IF', 'EXISTS')
    return { ...basic('DropSchema', 'DATA_DEFINITION'), schemas: [c.name('schema')] }
  }
  if (c.accept('ALTER', 'SCHEMA')) {
    const schema = c.name('schema')
    if (c.accept('RENAME', 'TO')) {
      const target = c.name('schema')
      return { ...basic('RenameSchema', 'DATA_DEFINITION'), schemas: [schema, relativeTo(schema, target)] }
    }
    if (c.accept('SET', 'AUTHORIZATION'))
      return { ...basic('SetSchemaAuthorization', 'DATA_DEFINITION'), schemas: [schema] }
    throw new SqlSyntaxError('unsupported ALTER SCHEMA statement')
  }

  const create = c.accept('CREATE', 'OR', 'REPLACE') || c.accept('CREATE')
  if (create) {
    if (c.accept('TABLE')) {
      c.accept('IF', 'NOT', 'EXISTS')
      const target = c.name('table')
      const query = queryAfterAs(sql, tokens, c)
      if (query === undefined) return { ...basic('CreateTable', 'DATA_DEFINITION'), tables: [target] }
      return { ...basic('CreateTableAsSelect', 'INSERT'), tables: [target, ...queryTables(query)] }
    }
    const materialized = c.accept('MATERIALIZED', 'VIEW')
    if (materialized || c.accept('VIEW')) {
      c.accept('IF', 'NOT', 'EXISTS')
      const target = c.name('view')
      const query = queryAfterAs(sql, tokens, c)
      if (query === undefined) throw new SqlSyntaxError('CREATE VIEW without AS query')
      return {
        ...basic(materialized ? 'CreateMaterializedView' : 'CreateView', 'DATA_DEFINITION'),
        tables: [target, ...queryTables(query)],
      }
    }
    throw new SqlSyntaxError(`unsupported CREATE statement at '${c.peek()?.text ?? ''}'`)
  }

  if (c.accept('DROP', 'TABLE') || c.accept('DROP', 'VIEW') || c.accept('DROP', 'MATERIALIZED', 'VIEW')) {
    const kind =
      tokens[1]?.upper === 'TABLE'
        ? 'DropTable'
        : tokens[1]?.upper === 'VIEW'
          ? 'DropView'
          : 'DropMaterializedView'
    c.accept('IF', 'EXISTS')
    return { ...basic(kind, 'DATA_DEFINITION'), tables: [c.name('table')] }
  }
  if (c.accept('TRUNCATE', 'TABLE'))
    return { ...basic('TruncateTable', 'DATA_DEFINITION'), tables: [c.name('table')] }
  if (c.accept('REFRESH', 'MATERIALIZED', 'VIEW')) {
    return { ...basic('RefreshMaterializedView', 'INSERT'), tables: [c.name('view')] }
  }
  if (c.accept('COMMENT', 'ON')) {
    if (c.accept('COLUMN')) {
      const column = c.name('column')
      if (column.length < 2) throw new SqlSyntaxError('COMMENT ON COLUMN needs table.column')
      return { ...basic('Comment', 'DATA_DEFINITION'), tables: [column.slice(0, -1)] }
    }
    if (c.accept('TABLE') || c.accept('VIEW'))
      return { ...basic('Comment', 'DATA_DEFINITION'), tables: [c.name('table')] }
    throw new SqlSyntaxError('unsupported COMMENT statement')
  }
  const alterView = c.is('ALTER', 'VIEW')
  const alterMaterialized = c.is('ALTER', 'MATERIALIZED', 'VIEW')
  if (c.accept('ALTER', 'TABLE') || c.accept('ALTER', 'VIEW') || c.accept('ALTER', 'MATERIALIZED', 'VIEW')) {
    c.accept('IF', 'EXISTS')
    const table = c.name('table')
    if (c.accept('RENAME', 'TO')) {
      const target = relativeTo(table, c.name('table'))
      const kind = alterMaterialized ? 'RenameMaterializedView' : alterView ? 'RenameView' : 'RenameTable'
      return { ...basic(kind, 'DATA_DEFINITION'), tables: [table, target] }
    }
    const kinds: ReadonlyArray<[string[], string, ResourceGroupQueryType]> = [
      [['ADD', 'COLUMN'], 'AddColumn', 'DATA_DEFINITION'],
      [['DROP', 'COLUMN'], 'DropColumn', 'DATA_DEFINITION'],
      [['RENAME', 'COLUMN'], 'RenameColumn', 'DATA_DEFINITION'],
      [['ALTER', 'COLUMN'], 'SetColumnType', 'DATA_DEFINITION'],
      [['SET', 'PROPERTIES'], 'SetProperties', 'DATA_DEFINITION'],
      [
        ['SET', 'AUTHORIZATION'],
        alterView ? 'SetViewAuthorization' : 'SetTableAuthorization',
        'DATA_DEFINITION',
      ],
      [['EXECUTE'], 'TableExecute', 'ALTER_TABLE_EXECUTE'],
    ]
    for (const [words, kind, type] of kinds) {
      if (c.is(...words)) return { ...basic(kind, type), tables: [table] }
    }
    throw new SqlSyntaxError(`unsupported ALTER statement at '${c.peek()?.text ?? 'end of statement'}'`)
  }
  throw new SqlSyntaxError(`unsupported or malformed statement starting with '${first.text}'`)
}

function skipAlias(c: TokenCursor): void {
  c.accept('AS')
  const token = c.peek()
  if (token !== undefined && (token.kind === 'quoted' || (token.kind === 'word' && token.upper !== 'USING')))
    c.index += 1
}

/** Advances past the matching ')' of a '(' already consumed. */
function skipParenthesized(c: TokenCursor): void {
  let depth = 1
  while (!c.atEnd()) {
    const token = c.peek() as SqlToken
    c.index += 1
    if (token.kind !== 'symbol') continue
    if (token.text === '(') depth += 1
    if (token.text === ')') {
      depth -= 1
      if (depth === 0) return
    }
  }
  throw new SqlSyntaxError("unbalanced '('")
}

function sqlBetween(sql: string, tokens: readonly SqlToken[], from: number, to: number): string {
  const start = tokens[from]
  const end = tokens[to - 1]
  if (start === undefined || end === undefined || from >= to) throw new SqlSyntaxError('empty subquery')
  return sql.slice(start.start, end.end)
}

/** The query of `CREATE TABLE|VIEW name [...] AS query`, skipping column lists and WITH (...). */
function queryAfterAs(sql: string, tokens: readonly SqlToken[], c: TokenCursor): string | undefined {
  while (!c.atEnd()) {
    if (c.acceptSymbol('(')) {
      skipParenthesized(c)
      continue
    }
    if (c.accept('AS')) {
      const start = c.peek()
      if (start === undefined) throw new SqlSyntaxError('missing query after AS')
      let query = sql.slice(start.start)
      // `CREATE TABLE t AS (SELECT ...) WITH [NO] DATA`
      query = query.replace(/\s+WITH\s+(NO\s+)?DATA\s*$/i, '')
      return query
    }
    c.index += 1
  }
  void tokens
  return undefined
}

/** Trino's `TABLE(fn(...))` table functions, which node-sql-parser cannot read, become placeholders. */
function replaceTableFunctions(sql: string): { sql: string; functions: string[][] } {
  const tokens = tokenizeSql(sql)
  const functions: string[][] = []
  let out = ''
  let copiedUpTo = 0
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as SqlToken
    const open = tokens[i + 1]
    if (token.kind !== 'word' || token.upper !== 'TABLE' || open?.text !== '(' || open.kind !== 'symbol')
      continue
    const c = new TokenCursor(tokens)
    c.index = i + 2
    let name: string[]
    try {
      name = c.name('table function')
    } catch {
      continue
    }
    if (!c.acceptSymbol('(')) continue
    skipParenthesized(c)
    if (!c.acceptSymbol(')')) throw new SqlSyntaxError("expected ')' after the table function call")
    const last = tokens[c.index - 1] as SqlToken
    out += `${sql.slice(copiedUpTo, token.start)}__tg_table_function_${functions.length}`
    copiedUpTo = last.end
    functions.push(name)
    i = c.index - 1
  }
  return { sql: out + sql.slice(copiedUpTo), functions }
}

/** Table names (not yet qualified) a query, INSERT, UPDATE or DELETE reads or writes; CTE names excluded. */
function queryTables(sql: string): string[][] {
  const { sql: rewritten, functions } = replaceTableFunctions(sql)
  let ast: unknown
  try {
    ast = sqlParser().astify(rewritten, { database: 'trino' })
  } catch (error) {
    throw new SqlSyntaxError(`cannot parse statement: ${messageOf(error).split('\n')[0]}`)
  }
  const found: string[][] = []
  const cteNames = new Set<string>()
  walk(ast, found, cteNames, 0)
  return found
    .filter((name) => !(name.length === 1 && cteNames.has((name[0] as string).toLowerCase())))
    .map((name) => {
      const placeholder = /^__tg_table_function_(\d+)$/.exec(name[name.length - 1] as string)
      return placeholder === null ? name : (functions[Number(placeholder[1])] ?? name)
    })
}

/** AST nesting deeper than this is not walked (a pathological query, refused as unparsable). */
const astDepthMax = 500

function walk(node: unknown, found: string[][], cteNames: Set<string>, depth: number): void {
  if (depth > astDepthMax) throw new SqlSyntaxError('statement nests too deeply')
  if (Array.isArray(node)) {
    for (const item of node) walk(item, found, cteNames, depth + 1)
    return
  }
  if (node === null || typeof node !== 'object') return
  const record = node as Record<string, unknown>
  if (Array.isArray(record.with)) {
    for (const cte of record.with) {
      const name = (cte as { name?: { value?: unknown } }).name?.value
      if (typeof name === 'string') cteNames.add(name.toLowerCase())
    }
  }
  if (
    typeof record.table === 'string' &&
    Object.hasOwn(record, 'db') &&
    !Object.hasOwn(record, 'column') &&
    record.type !== 'column_ref'
  ) {
    const parts: string[] = []
    if (typeof record.db === 'string' && record.db !== '') parts.push(record.db)
    if (typeof record.schema === 'string' && record.schema !== '') parts.push(record.schema)
    parts.push(record.table)
    found.push(parts)
  }
  for (const value of Object.values(record)) {
    if (value !== null && typeof value === 'object') walk(value, found, cteNames, depth + 1)
  }
}

/**
 * `tablesContains("c.s.t")` reads a dotted name as Trino Gateway does: parts may be double-quoted,
 * a backslash-escaped quote does not end a quoted part, and parts compare lower-cased.
 */
export function parseDottedName(name: string): string[] | undefined {
  const parts: string[] = []
  let current = ''
  let inQuotes = false
  let quoted = false
  for (let i = 0; i < name.length; i += 1) {
    const ch = name[i] as string
    if (ch === '"') {
      if (inQuotes && name[i - 1] === '\\') {
        current += ch
        continue
      }
      if (!inQuotes && current !== '') return undefined
      inQuotes = !inQuotes
      quoted = true
      continue
    }
    if (ch === '.' && !inQuotes) {
      parts.push(current.toLowerCase())
      current = ''
      quoted = false
      continue
    }
    current += ch
  }
  if (inQuotes) return undefined
  void quoted
  parts.push(current.toLowerCase())
  return parts
}

export function tablesContain(properties: Pick<TrinoQueryProperties, 'tables'>, name: string): boolean {
  const parts = parseDottedName(name)
  if (parts === undefined || parts.length !== 3) return false
  return properties.tables.some(
    (table) => table[0] === parts[0] && table[1] === parts[1] && table[2] === parts[2],
  )
}

/** The external routing service's JSON form of the properties (Trino Gateway's field names). */
export function queryPropertiesJson(properties: TrinoQueryProperties): Record<string, unknown> {
  return {
    body: properties.body,
    queryType: properties.queryType,
    resourceGroupQueryType: properties.resourceGroupQueryType,
    tables: properties.tables.map((table) => table.join('.')),
    defaultCatalog: properties.defaultCatalog,
    defaultSchema: properties.defaultSchema,
    catalogs: properties.catalogs,
    schemas: properties.schemas,
    catalogSchemas: properties.catalogSchemas,
    isNewQuerySubmission: properties.isNewQuerySubmission,
    isQueryParsingSuccessful: properties.isQueryParsingSuccessful,
    errorMessage: properties.errorMessage,
  }
}
