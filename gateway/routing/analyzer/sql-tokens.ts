/**
 * A small Trino SQL tokenizer: enough to classify a statement by its leading keywords, read the
 * object names of DDL and utility statements, and find the query part of CTAS / CREATE VIEW.
 * Expressions are left to node-sql-parser.
 */

export type SqlTokenKind = 'word' | 'quoted' | 'string' | 'number' | 'symbol'

export interface SqlToken {
  kind: SqlTokenKind
  /** Words upper-cased in `upper`; identifiers keep their text in `text` (quoted: unquoted). */
  text: string
  upper: string
  start: number
  end: number
}

export class SqlSyntaxError extends Error {}

/** Statements longer than this many tokens are not analyzed (maxBodySize bounds chars already). */
export const sqlTokensMax = 2_000_000

export function tokenizeSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = []
  let i = 0
  while (i < sql.length) {
    const ch = sql[i] as string
    if (/\s/.test(ch)) {
      i += 1
      continue
    }
    if (ch === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i += 1
      continue
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2)
      if (end < 0) throw new SqlSyntaxError('unterminated comment')
      i = end + 2
      continue
    }
    const start = i
    if (/[A-Za-z_]/.test(ch)) {
      i += 1
      while (i < sql.length && /[A-Za-z0-9_@$:]/.test(sql[i] as string)) {
        if (sql[i] === ':') break
        i += 1
      }
      const text = sql.slice(start, i)
      tokens.push({ kind: 'word', text, upper: text.toUpperCase(), start, end: i })
    } else if (ch === '"' || ch === '`') {
      let text = ''
      i += 1
      for (;;) {
        if (i >= sql.length) throw new SqlSyntaxError('unterminated quoted identifier')
        if (sql[i] === ch) {
          if (sql[i + 1] === ch) {
            text += ch
            i += 2
            continue
          }
          i += 1
          break
        }
        text += sql[i]
        i += 1
      }
      tokens.push({ kind: 'quoted', text, upper: text.toUpperCase(), start, end: i })
    } else if (ch === "'") {
      let text = ''
      i += 1
      for (;;) {
        if (i >= sql.length) throw new SqlSyntaxError('unterminated string literal')
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") {
            text += "'"
            i += 2
            continue
          }
          i += 1
          break
        }
        text += sql[i]
        i += 1
      }
      tokens.push({ kind: 'string', text, upper: text, start, end: i })
    } else if (/[0-9]/.test(ch)) {
      while (i < sql.length && /[0-9.eE]/.test(sql[i] as string)) i += 1
      tokens.push({ kind: 'number', text: sql.slice(start, i), upper: sql.slice(start, i), start, end: i })
    } else {
      const two = sql.slice(i, i + 2)
      const symbol = ['=>', '->', '<=', '>=', '<>', '!=', '||'].includes(two) ? two : ch
      i += symbol.length
      tokens.push({ kind: 'symbol', text: symbol, upper: symbol, start, end: i })
    }
    if (tokens.length > sqlTokensMax)
      throw new SqlSyntaxError(`statement has more than ${sqlTokensMax} tokens`)
  }
  return tokens
}

/** A cursor over tokens with the keyword helpers the statement readers need. */
export class TokenCursor {
  index = 0
  constructor(readonly tokens: readonly SqlToken[]) {}

  peek(offset = 0): SqlToken | undefined {
    return this.tokens[this.index + offset]
  }

  atEnd(): boolean {
    return this.index >= this.tokens.length
  }

  /** True (and advances) when the next tokens are these keywords. */
  accept(...words: string[]): boolean {
    for (let k = 0; k < words.length; k += 1) {
      const token = this.tokens[this.index + k]
      if (token === undefined || token.kind !== 'word' || token.upper !== words[k]) return false
    }
    this.index += words.length
    return true
  }

  is(...words: string[]): boolean {
    const saved = this.index
    const matched = this.accept(...words)
    this.index = saved
    return matched
  }

  acceptSymbol(symbol: string): boolean {
    const token = this.peek()
    if (token?.kind === 'symbol' && token.text === symbol) {
      this.index += 1
      return true
    }
    return false
  }

  /** A dotted name `a.b."c"`; throws when none is there. */
  name(what: string): string[] {
    const parts: string[] = []
    for (;;) {
      const token = this.peek()
      if (token === undefined || (token.kind !== 'word' && token.kind !== 'quoted')) {
        throw new SqlSyntaxError(
          `expected ${what} name at ${token === undefined ? 'end of statement' : `'${token.text}'`}`,
        )
      }
      parts.push(token.text)
      this.index += 1
      if (!this.acceptSymbol('.')) return parts
    }
  }
}
