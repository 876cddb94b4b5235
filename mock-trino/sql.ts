/**
 * The little SQL the mock understands, all pure: the statement's query type (for resource-group
 * selectors), literal-only SELECTs (answered with their values), session statements (answered with
 * Trino's X-Trino-Set-* headers), and EXECUTE of prepared statements. Everything else is answered
 * from the load model.
 */

export interface TypeArgument {
  kind: 'LONG' | 'TYPE' | 'NAMED_TYPE'
  value: unknown
}

export interface Column {
  name: string
  type: string
  typeSignature: { rawType: string; arguments: TypeArgument[] }
}

export function column(name: string, rawType: string, longArguments: number[] = []): Column {
  const type = longArguments.length === 0 ? rawType : `${rawType}(${longArguments.join(',')})`
  return {
    name,
    type,
    typeSignature: { rawType, arguments: longArguments.map((value) => ({ kind: 'LONG', value })) },
  }
}

/** Removes comments so keywords can be read; string literals are kept intact. */
export function stripComments(sql: string): string {
  if (!sql.includes('--') && !sql.includes('/*')) return sql
  let out = ''
  let i = 0
  while (i < sql.length) {
    const ch = sql[i] as string
    if (ch === "'") {
      const end = findStringEnd(sql, i)
      out += sql.slice(i, end)
      i = end
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i)
      i = end < 0 ? sql.length : end
      out += ' '
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2)
      i = end < 0 ? sql.length : end + 2
      out += ' '
    } else {
      out += ch
      i++
    }
  }
  return out
}

function findStringEnd(sql: string, start: number): number {
  let i = start + 1
  while (i < sql.length) {
    if (sql[i] === "'") {
      if (sql[i + 1] === "'") i += 2
      else return i + 1
    } else i++
  }
  return sql.length
}

const dataDefinitionKeywords = new Set([
  'CREATE',
  'DROP',
  'ALTER',
  'RENAME',
  'COMMENT',
  'GRANT',
  'REVOKE',
  'DENY',
  'SET',
  'RESET',
  'USE',
  'CALL',
  'START',
  'COMMIT',
  'ROLLBACK',
  'PREPARE',
  'DEALLOCATE',
  'REFRESH',
  'TRUNCATE',
])
const selectKeywords = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'SHOW', '('])

/** Trino's resource-group query type of a statement (SELECT, INSERT, DATA_DEFINITION, ...). */
export function queryTypeOf(sql: string): string | undefined {
  const match = /^\s*(\(|[A-Za-z]+)/.exec(stripComments(sql))
  if (!match) return undefined
  const keyword = (match[1] as string).toUpperCase()
  if (selectKeywords.has(keyword)) return 'SELECT'
  if (keyword === 'INSERT' || keyword === 'UPDATE' || keyword === 'DELETE' || keyword === 'MERGE')
    return keyword
  if (keyword === 'DESCRIBE' || keyword === 'EXPLAIN' || keyword === 'ANALYZE') return keyword
  if (dataDefinitionKeywords.has(keyword)) return 'DATA_DEFINITION'
  return undefined
}

export interface LiteralSelect {
  columns: Column[]
  row: unknown[]
}

/** `SELECT 1, 'a' AS x, true` and the like: every item a literal with an optional alias. */
export function parseLiteralSelect(sql: string): LiteralSelect | undefined {
  const match = /^\s*select\s+([\s\S]+?)\s*;?\s*$/i.exec(stripComments(sql))
  if (!match) return undefined
  const items = splitTopLevel(match[1] as string)
  if (items === undefined) return undefined
  const columns: Column[] = []
  const row: unknown[] = []
  for (const [index, item] of items.entries()) {
    const literal =
      /^\s*(-?\d+(?:\.\d+)?|'(?:[^']|'')*'|true|false)(?:\s+(?:as\s+)?("?)([A-Za-z_][A-Za-z0-9_]*)\2)?\s*$/i.exec(
        item,
      )
    if (!literal) return undefined
    const text = literal[1] as string
    const name =
      literal[3] === undefined ? `_col${index}` : literal[2] === '"' ? literal[3] : literal[3].toLowerCase()
    if (text.startsWith("'")) {
      const value = text.slice(1, -1).replaceAll("''", "'")
      columns.push(column(name, 'varchar', [value.length]))
      row.push(value)
    } else if (/^(true|false)$/i.test(text)) {
      columns.push(column(name, 'boolean'))
      row.push(text.toLowerCase() === 'true')
    } else if (text.includes('.')) {
      const digits = text.replace('-', '').replace('.', '')
      const scale = text.length - text.indexOf('.') - 1
      columns.push(column(name, 'decimal', [Math.max(digits.length, 1), scale]))
      // Trino writes decimals as JSON strings.
      row.push(text)
    } else {
      const value = Number(text)
      if (!Number.isSafeInteger(value)) return undefined
      const isInteger = value >= -(2 ** 31) && value < 2 ** 31
      columns.push(column(name, isInteger ? 'integer' : 'bigint'))
      row.push(value)
    }
  }
  return { columns, row }
}

function splitTopLevel(list: string): string[] | undefined {
  const items: string[] = []
  let current = ''
  let i = 0
  while (i < list.length) {
    const ch = list[i] as string
    if (ch === "'") {
      const end = findStringEnd(list, i)
      current += list.slice(i, end)
      i = end
    } else if (ch === ',') {
      items.push(current)
      current = ''
      i++
    } else if (ch === '(' || ch === ')') {
      return undefined
    } else {
      current += ch
      i++
    }
  }
  items.push(current)
  return items
}

/** Statements that change the client's session, answered with Trino's response headers. */
export interface SessionStatement {
  updateType: string
  headers: Array<[string, string]>
}

export function parseSessionStatement(sql: string): SessionStatement | undefined {
  const text = stripComments(sql).trim().replace(/;\s*$/, '')
  const use = /^use\s+(?:"?([A-Za-z0-9_]+)"?\.)?"?([A-Za-z0-9_]+)"?$/i.exec(text)
  if (use) {
    const headers: Array<[string, string]> = []
    if (use[1] !== undefined) headers.push(['X-Trino-Set-Catalog', use[1].toLowerCase()])
    headers.push(['X-Trino-Set-Schema', (use[2] as string).toLowerCase()])
    return { updateType: 'USE', headers }
  }
  const set = /^set\s+session\s+([A-Za-z0-9_.]+)\s*=\s*('(?:[^']|'')*'|[^\s']+)$/i.exec(text)
  if (set) {
    const raw = set[2] as string
    const value = raw.startsWith("'") ? raw.slice(1, -1).replaceAll("''", "'") : raw
    return {
      updateType: 'SET SESSION',
      headers: [['X-Trino-Set-Session', `${set[1]}=${encodeURIComponent(value)}`]],
    }
  }
  const reset = /^reset\s+session\s+([A-Za-z0-9_.]+)$/i.exec(text)
  if (reset) return { updateType: 'RESET SESSION', headers: [['X-Trino-Clear-Session', reset[1] as string]] }
  const prepare = /^prepare\s+([A-Za-z_][A-Za-z0-9_]*)\s+from\s+([\s\S]+)$/i.exec(text)
  if (prepare) {
    return {
      updateType: 'PREPARE',
      headers: [
        [
          'X-Trino-Added-Prepare',
          `${encodeURIComponent(prepare[1] as string)}=${encodeURIComponent(prepare[2] as string)}`,
        ],
      ],
    }
  }
  const deallocate = /^deallocate\s+prepare\s+([A-Za-z_][A-Za-z0-9_]*)$/i.exec(text)
  if (deallocate) {
    return {
      updateType: 'DEALLOCATE',
      headers: [['X-Trino-Deallocated-Prepare', encodeURIComponent(deallocate[1] as string)]],
    }
  }
  return undefined
}

export type ResolvedStatement =
  | { ok: true; sql: string }
  | { ok: false; errorName: 'NOT_FOUND'; message: string }

/**
 * Resolves `EXECUTE name [USING ...]` against the prepared statements the client sent, and
 * `EXECUTE IMMEDIATE '<sql>' [USING ...]`, by substituting the parameters for the `?` markers.
 * Any other statement is returned unchanged.
 */
export function resolveExecute(sql: string, prepared: Readonly<Record<string, string>>): ResolvedStatement {
  const text = stripComments(sql).trim().replace(/;\s*$/, '')
  const immediate = /^execute\s+immediate\s+('(?:[^']|'')*')(?:\s+using\s+([\s\S]+))?$/i.exec(text)
  if (immediate) {
    const body = (immediate[1] as string).slice(1, -1).replaceAll("''", "'")
    return { ok: true, sql: substitute(body, immediate[2]) }
  }
  const execute = /^execute\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+using\s+([\s\S]+))?$/i.exec(text)
  if (execute) {
    const name = execute[1] as string
    const body = prepared[name]
    if (body === undefined) {
      return { ok: false, errorName: 'NOT_FOUND', message: `Prepared statement not found: ${name}` }
    }
    return { ok: true, sql: substitute(body, execute[2]) }
  }
  return { ok: true, sql }
}

function substitute(body: string, using: string | undefined): string {
  if (using === undefined) return body
  const parameters = splitTopLevel(using)?.map((p) => p.trim()) ?? []
  let index = 0
  let out = ''
  let i = 0
  while (i < body.length) {
    const ch = body[i] as string
    if (ch === "'") {
      const end = findStringEnd(body, i)
      out += body.slice(i, end)
      i = end
    } else if (ch === '?') {
      out += parameters[index++] ?? '?'
      i++
    } else {
      out += ch
      i++
    }
  }
  return out
}
