/**
 * Tokenizer of the MVEL subset that Trino Gateway rule files use. It reads the whole expression
 * once at load time; any character outside the subset is a located RuleSyntaxError.
 */
import { RuleSyntaxError, type SourcePosition } from './errors.ts'

export type TokenKind = 'identifier' | 'string' | 'number' | 'punctuator' | 'end'

export interface Token {
  kind: TokenKind
  /** Identifier name, punctuator text, decoded string value or number text. */
  text: string
  position: SourcePosition
}

/** A rule expression longer than this is refused: rule files are configuration, not programs. */
export const expressionCharsMax = 64_000

// Longest first, so `==` is not read as `=` `=`.
const punctuators = [
  '==',
  '!=',
  '&&',
  '||',
  '<=',
  '>=',
  '(',
  ')',
  '{',
  '}',
  ',',
  '.',
  ';',
  '!',
  '<',
  '>',
  '?',
  ':',
  '+',
] as const

const escapes: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  '0': '\0',
  '"': '"',
  "'": "'",
  '\\': '\\',
}

function isIdentifierStart(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_' || ch === '$'
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9'
}

export function tokenize(source: string): Token[] {
  if (source.length > expressionCharsMax) {
    throw new RuleSyntaxError(`expression is longer than ${expressionCharsMax} characters`, {
      line: 1,
      column: 1,
    })
  }
  const tokens: Token[] = []
  let index = 0
  let line = 1
  let lineStart = 0
  const here = (): SourcePosition => ({ line, column: index - lineStart + 1 })

  while (index < source.length) {
    const ch = source[index] as string
    if (ch === '\n') {
      index += 1
      line += 1
      lineStart = index
      continue
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f') {
      index += 1
      continue
    }
    if (ch === '/' && source[index + 1] === '/') {
      while (index < source.length && source[index] !== '\n') index += 1
      continue
    }
    if (ch === '/' && source[index + 1] === '*') {
      const start = here()
      index += 2
      while (index < source.length && !(source[index] === '*' && source[index + 1] === '/')) {
        if (source[index] === '\n') {
          line += 1
          lineStart = index + 1
        }
        index += 1
      }
      if (index >= source.length) throw new RuleSyntaxError('unterminated comment', start)
      index += 2
      continue
    }
    const position = here()
    if (isIdentifierStart(ch)) {
      let end = index + 1
      while (end < source.length) {
        const next = source[end] as string
        if (!isIdentifierStart(next) && !isDigit(next)) break
        end += 1
      }
      tokens.push({ kind: 'identifier', text: source.slice(index, end), position })
      index = end
      continue
    }
    if (isDigit(ch)) {
      let end = index + 1
      while (end < source.length && isDigit(source[end] as string)) end += 1
      if (source[end] === '.' && isDigit(source[end + 1] ?? '')) {
        end += 1
        while (end < source.length && isDigit(source[end] as string)) end += 1
      }
      // Java literal suffixes (10L, 1.5d) carry no meaning for us beyond the number.
      if ('lLdDfF'.includes(source[end] ?? '#')) end += 1
      const next = source[end]
      if (next !== undefined && (isIdentifierStart(next) || isDigit(next))) {
        throw new RuleSyntaxError(
          `malformed number ${JSON.stringify(source.slice(index, end + 1))}`,
          position,
        )
      }
      tokens.push({ kind: 'number', text: source.slice(index, end).replace(/[lLdDfF]$/, ''), position })
      index = end
      continue
    }
    if (ch === '"' || ch === "'") {
      const quote = ch
      let value = ''
      let end = index + 1
      for (;;) {
        if (end >= source.length) throw new RuleSyntaxError('unterminated string literal', position)
        const c = source[end] as string
        if (c === quote) {
          end += 1
          break
        }
        if (c === '\n') throw new RuleSyntaxError('line break inside a string literal', position)
        if (c === '\\') {
          const e = source[end + 1]
          if (e === 'u') {
            const hex = source.slice(end + 2, end + 6)
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              throw new RuleSyntaxError('malformed \\u escape in a string literal', {
                line,
                column: end - lineStart + 1,
              })
            }
            value += String.fromCharCode(Number.parseInt(hex, 16))
            end += 6
            continue
          }
          const decoded = e === undefined ? undefined : escapes[e]
          if (decoded === undefined) {
            throw new RuleSyntaxError(`unknown escape \\${e ?? ''} in a string literal`, {
              line,
              column: end - lineStart + 1,
            })
          }
          value += decoded
          end += 2
          continue
        }
        value += c
        end += 1
      }
      tokens.push({ kind: 'string', text: value, position })
      index = end
      continue
    }
    const punctuator = punctuators.find((p) => source.startsWith(p, index))
    if (punctuator === undefined) {
      throw new RuleSyntaxError(`unexpected character ${JSON.stringify(ch)}`, position)
    }
    tokens.push({ kind: 'punctuator', text: punctuator, position })
    index += punctuator.length
  }
  tokens.push({ kind: 'end', text: '', position: here() })
  return tokens
}
