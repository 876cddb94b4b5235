/**
 * Finds the query id in `CALL system.runtime.kill_query('<id>', ...)` (reference §5.2) with a small
 * SQL tokenizer that skips string literals and comments, so `kill_query` inside a literal or a
 * comment of another statement never matches. Pure; never throws.
 */

export interface KillQueryDefaults {
  defaultCatalog?: string | undefined
  defaultSchema?: string | undefined
}

/** Bodies longer than this are not scanned (they are not a one-line CALL). */
export const killQueryBodyCharsMax = 1_000_000

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'quoted'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'symbol'; text: string }

export function extractKillQueryId(body: string, defaults: KillQueryDefaults): string | undefined {
  if (body.length > killQueryBodyCharsMax) return undefined
  const tokens = tokenize(body)
  if (tokens === undefined) return undefined
  let position = 0
  const next = (): Token | undefined => tokens[position++]
  const peek = (): Token | undefined => tokens[position]

  const call = next()
  if (call?.kind !== 'word' || call.text.toLowerCase() !== 'call') return undefined
  const nameParts: string[] = []
  for (;;) {
    const part = next()
    if (part === undefined || (part.kind !== 'word' && part.kind !== 'quoted')) return undefined
    // Trino folds identifiers to lower case, quoted or not.
    nameParts.push(part.text.toLowerCase())
    const separator = peek()
    if (separator?.kind === 'symbol' && separator.text === '.') {
      position++
      continue
    }
    break
  }
  if (!isKillQuery(nameParts, defaults)) return undefined
  const open = next()
  if (open?.kind !== 'symbol' || open.text !== '(') return undefined

  // Arguments: positional (the first is the id) or named (`query_id => '...'`). The whole call must
  // be well formed, as Trino's parser requires, before its id counts.
  let positionalIndex = 0
  let queryId: string | undefined
  for (;;) {
    const first = next()
    if (first === undefined) return undefined
    if (first.kind === 'symbol' && first.text === ')' && positionalIndex === 0) break
    let name: string | undefined
    let value: Token | undefined = first
    const arrow = peek()
    if (
      (first.kind === 'word' || first.kind === 'quoted') &&
      arrow?.kind === 'symbol' &&
      arrow.text === '=>'
    ) {
      position++
      name = first.text.toLowerCase()
      value = next()
    }
    const isIdArgument = name === undefined ? positionalIndex === 0 : name === 'query_id'
    const after = peek()
    const valueEndsHere = after?.kind === 'symbol' && (after.text === ',' || after.text === ')')
    if (isIdArgument) {
      // The id must be a plain string literal, not an expression.
      if (value?.kind !== 'string' || !valueEndsHere) return undefined
      queryId = value.text
    }
    positionalIndex++
    // Skip the rest of this argument up to its comma or the closing parenthesis.
    let depth = 0
    let closed = false
    for (;;) {
      const token = next()
      if (token === undefined) return undefined
      if (token.kind !== 'symbol') continue
      if (token.text === '(') depth++
      else if (token.text === ')') {
        if (depth === 0) {
          closed = true
          break
        }
        depth--
      } else if (token.text === ',' && depth === 0) break
    }
    if (closed) break
  }
  const trailing = tokens.slice(position)
  const onlySemicolon = trailing.every((token) => token.kind === 'symbol' && token.text === ';')
  return onlySemicolon && trailing.length <= 1 ? queryId : undefined
}

function isKillQuery(parts: readonly string[], defaults: KillQueryDefaults): boolean {
  const catalog = defaults.defaultCatalog?.toLowerCase()
  const schema = defaults.defaultSchema?.toLowerCase()
  const qualified =
    parts.length === 3
      ? parts
      : parts.length === 2
        ? [catalog, ...parts]
        : parts.length === 1
          ? [catalog, schema, ...parts]
          : []
  return qualified[0] === 'system' && qualified[1] === 'runtime' && qualified[2] === 'kill_query'
}

/** Tokens of a SQL text, or undefined when a literal or comment never ends. */
export function tokenize(sql: string): Token[] | undefined {
  const tokens: Token[] = []
  let index = 0
  while (index < sql.length) {
    const char = sql[index] as string
    if (/\s/.test(char)) {
      index++
    } else if (sql.startsWith('--', index)) {
      const end = sql.indexOf('\n', index)
      index = end === -1 ? sql.length : end + 1
    } else if (sql.startsWith('/*', index)) {
      const end = sql.indexOf('*/', index + 2)
      if (end === -1) return undefined
      index = end + 2
    } else if (char === "'" || char === '"') {
      const literal = readQuoted(sql, index, char)
      if (literal === undefined) return undefined
      tokens.push({ kind: char === "'" ? 'string' : 'quoted', text: literal.text })
      index = literal.end
    } else if (/[A-Za-z_]/.test(char)) {
      const match = /^[A-Za-z_][A-Za-z0-9_@:$]*/.exec(sql.slice(index, index + 1024)) as RegExpExecArray
      tokens.push({ kind: 'word', text: match[0] })
      index += match[0].length
    } else if (sql.startsWith('=>', index)) {
      tokens.push({ kind: 'symbol', text: '=>' })
      index += 2
    } else {
      tokens.push({ kind: 'symbol', text: char })
      index++
    }
  }
  return tokens
}

/** A quoted literal where the quote doubles to escape itself (`'it''s'`, `"a""b"`). */
function readQuoted(sql: string, start: number, quote: string): { text: string; end: number } | undefined {
  let text = ''
  let index = start + 1
  for (;;) {
    const end = sql.indexOf(quote, index)
    if (end === -1) return undefined
    text += sql.slice(index, end)
    if (sql[end + 1] === quote) {
      text += quote
      index = end + 2
    } else {
      return { text, end: end + 1 }
    }
  }
}
