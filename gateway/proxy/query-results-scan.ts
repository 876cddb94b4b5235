/**
 * Reads the leading top-level string fields of a Trino `QueryResults` JSON body (`id`, `infoUri`,
 * `partialCancelUri`, `nextUri`) from a bounded byte prefix, so the proxy can record the query id
 * and rewrite the URIs while the rest of the body streams untouched. Works on bytes: JSON's
 * structural characters are ASCII, and UTF-8 continuation bytes never look like them. Pure.
 */

/** The fields of interest; Trino writes them first, before `columns` and `data`. */
export const queryResultsUriKeys = ['infoUri', 'partialCancelUri', 'nextUri'] as const
const keysOfInterest: ReadonlySet<string> = new Set(['id', ...queryResultsUriKeys])
/** Byte lengths of the keys of interest (all ASCII), to skip other keys without decoding them. */
const keyLengths: ReadonlySet<number> = new Set([...keysOfInterest].map((key) => key.length))

export interface ScannedField {
  key: string
  value: string
  /** Byte offset of the opening quote of the value. */
  start: number
  /** Byte offset just after the closing quote of the value. */
  end: number
}

export interface ScanResult {
  /**
   * True when reading more bytes cannot change the result: every field of interest was seen, the
   * top-level object closed, or the body is not a JSON object.
   */
  decided: boolean
  fields: ScannedField[]
}

enum Byte {
  Quote = 0x22,
  Backslash = 0x5c,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
  OpenBracket = 0x5b,
  CloseBracket = 0x5d,
  Colon = 0x3a,
  Comma = 0x2c,
}

/** Sentinel for "the prefix ends before this token does". */
const incomplete = -1

export function scanQueryResultsPrefix(bytes: Uint8Array): ScanResult {
  const fields: ScannedField[] = []
  const seen = new Set<string>()
  let index = skipWhitespace(bytes, 0)
  if (index >= bytes.length) return { decided: false, fields }
  if (bytes[index] !== Byte.OpenBrace) return { decided: true, fields }
  index++
  for (;;) {
    index = skipWhitespace(bytes, index)
    if (index >= bytes.length) return { decided: false, fields }
    const byte = bytes[index]
    if (byte === Byte.CloseBrace) return { decided: true, fields }
    if (byte === Byte.Comma) {
      index++
      continue
    }
    if (byte !== Byte.Quote) return { decided: true, fields }
    const keyEnd = stringEnd(bytes, index)
    if (keyEnd === incomplete) return { decided: false, fields }
    // Only keys as long as one of interest are decoded (the others are skipped unread).
    const key = keyLengths.has(keyEnd - index - 2) ? decodeString(bytes, index, keyEnd) : undefined
    index = skipWhitespace(bytes, keyEnd)
    if (index >= bytes.length) return { decided: false, fields }
    if (bytes[index] !== Byte.Colon) return { decided: true, fields }
    index = skipWhitespace(bytes, index + 1)
    if (index >= bytes.length) return { decided: false, fields }
    const valueEnd = valueEndAt(bytes, index)
    if (valueEnd === incomplete) return { decided: false, fields }
    if (key !== undefined && keysOfInterest.has(key) && !seen.has(key) && bytes[index] === Byte.Quote) {
      const value = decodeString(bytes, index, valueEnd)
      if (value !== undefined) {
        fields.push({ key, value, start: index, end: valueEnd })
        seen.add(key)
        if (seen.size === keysOfInterest.size) return { decided: true, fields }
      }
    }
    index = valueEnd
  }
}

function skipWhitespace(bytes: Uint8Array, from: number): number {
  let index = from
  while (index < bytes.length) {
    const byte = bytes[index]
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) break
    index++
  }
  return index
}

/** Index just after the closing quote of the string opening at `start`. */
function stringEnd(bytes: Uint8Array, start: number): number {
  let index = start + 1
  while (index < bytes.length) {
    const byte = bytes[index]
    if (byte === Byte.Backslash) index += 2
    else if (byte === Byte.Quote) return index + 1
    else index++
  }
  return incomplete
}

/** Index just after the JSON value starting at `start` (string, object, array or literal). */
function valueEndAt(bytes: Uint8Array, start: number): number {
  const first = bytes[start]
  if (first === Byte.Quote) return stringEnd(bytes, start)
  if (first === Byte.OpenBrace || first === Byte.OpenBracket) {
    let depth = 0
    let index = start
    while (index < bytes.length) {
      const byte = bytes[index]
      if (byte === Byte.Quote) {
        const end = stringEnd(bytes, index)
        if (end === incomplete) return incomplete
        index = end
        continue
      }
      if (byte === Byte.OpenBrace || byte === Byte.OpenBracket) depth++
      else if (byte === Byte.CloseBrace || byte === Byte.CloseBracket) {
        depth--
        if (depth === 0) return index + 1
      }
      index++
    }
    return incomplete
  }
  let index = start
  while (index < bytes.length) {
    const byte = bytes[index]
    if (
      byte === Byte.Comma ||
      byte === Byte.CloseBrace ||
      byte === 0x20 ||
      byte === 0x0a ||
      byte === 0x0d ||
      byte === 0x09
    )
      return index
    index++
  }
  return incomplete
}

function decodeString(bytes: Uint8Array, start: number, end: number): string | undefined {
  // Most strings have no escapes: their text is the bytes between the quotes, no JSON.parse needed.
  let escaped = false
  for (let index = start + 1; index < end - 1; index++) {
    if (bytes[index] === Byte.Backslash) {
      escaped = true
      break
    }
  }
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (!escaped) return buffer.toString('utf8', start + 1, end - 1)
  try {
    const value: unknown = JSON.parse(buffer.toString('utf8', start, end))
    return typeof value === 'string' ? value : undefined
  } catch {
    return undefined
  }
}

/**
 * Rewrites a URI that points at the backend (`backendOrigins`, e.g. `http://10.0.0.5:8080`) to the
 * gateway's external origin, keeping path and query. Other URIs stay as they are.
 */
export function rewriteBackendUri(
  uri: string,
  backendOrigins: readonly string[],
  gatewayOrigin: string,
): string {
  for (const origin of backendOrigins) {
    if (uri === origin || uri.startsWith(`${origin}/`) || uri.startsWith(`${origin}?`)) {
      return gatewayOrigin + uri.slice(origin.length)
    }
  }
  return uri
}

/**
 * The prefix with the URI fields replaced, in one buffer; returns the same bytes when nothing
 * changed. `fields` are in the order the scan found them (by `start`).
 */
export function rewritePrefix(
  prefix: Buffer,
  fields: readonly ScannedField[],
  rewrite: (uri: string, key: (typeof queryResultsUriKeys)[number]) => string,
): Buffer {
  let replacements: { field: ScannedField; json: string; bytes: number }[] | undefined
  let length = prefix.length
  for (const field of fields) {
    if (field.key === 'id') continue
    const replaced = rewrite(field.value, field.key as (typeof queryResultsUriKeys)[number])
    if (replaced === field.value) continue
    const json = JSON.stringify(replaced)
    const bytes = Buffer.byteLength(json, 'utf8')
    replacements ??= []
    replacements.push({ field, json, bytes })
    length += bytes - (field.end - field.start)
  }
  if (replacements === undefined) return prefix
  const out = Buffer.allocUnsafe(length)
  let cursor = 0
  let written = 0
  for (const { field, json, bytes } of replacements) {
    written += prefix.copy(out, written, cursor, field.start)
    written += out.write(json, written, bytes, 'utf8')
    cursor = field.end
  }
  prefix.copy(out, written, cursor)
  return out
}
