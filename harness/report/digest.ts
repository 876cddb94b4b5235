import { createHash } from 'node:crypto'

/**
 * `routingDecisionDigest`: a hash over the routing decisions of new queries, in trace-token order,
 * over the fields that name the decision (never times, ports or URLs, which change between runs).
 * Sorting by trace token makes it independent of arrival order, so the same scenario and seed give
 * the same digest whatever the concurrency. Sticky follow-ups are left out: how many polls a query
 * needs is a matter of timing, not of routing.
 */

/** What the digest covers of one decision. */
export interface DigestedDecision {
  traceToken: string
  requestedGroup: string | null
  selectedGroup: string | null
  fallback: boolean
  backend: string | null
  candidates: readonly string[]
  errorCode: string | null
}

/** Names whose JSON one digest keeps (group and backend names repeat across decisions). */
export const digestJsonCacheEntriesMax = 10_000
/** Lines hashed per update call. */
const linesPerHashUpdate = 1024

/**
 * The digest: sha256 over the lines JSON.stringify([traceToken, requestedGroup, selectedGroup,
 * fallback, backend, sorted candidates, errorCode]) + "\n", the lines in sorted order. Ties on the
 * trace token (a retried POST) sort by the whole line, not by arrival.
 */
export function routingDecisionDigest(decisions: readonly DigestedDecision[]): string {
  return routingDecisionDigestOf(
    decisions.map((decision) => decision.traceToken),
    (index) => decisions[index] as DigestedDecision,
  )
}

/** A decision without its trace token: what was decided. */
export type RoutingVerdict = Omit<DigestedDecision, 'traceToken'>

/**
 * The same digest over decisions a store hands out one at a time: `traceTokens[i]` is decision
 * i's token and `verdictAt(i)` what it decided. A million-decision simulation keeps its decisions
 * in columns; the lines are ordered without being built (the token decides the order of two lines
 * unless equal) and built one at a time while hashing. A store that hands out one object for equal
 * verdicts has each verdict's JSON made once. digest.test.ts holds it to the definition.
 */
export function routingDecisionDigestOf(
  traceTokens: readonly string[],
  verdictAt: (index: number) => RoutingVerdict,
): string {
  const count = traceTokens.length
  const json = new JsonOf()
  const order = new Uint32Array(count)
  // Per token, once: whether JSON escapes any of its characters, and whether it has one below '"'.
  const kinds = new Uint8Array(count)
  for (let index = 0; index < count; index++) {
    order[index] = index
    const token = traceTokens[index] as string
    kinds[index] = tokenKinds(token)
  }
  const tied = (a: number, b: number): number => {
    const lineA = json.rest(verdictAt(a))
    const lineB = json.rest(verdictAt(b))
    return lineA < lineB ? -1 : lineA > lineB ? 1 : 0
  }
  order.sort((a, b) => {
    const tokenA = traceTokens[a] as string
    const tokenB = traceTokens[b] as string
    if (tokenA === tokenB) return tied(a, b)
    return compareAsJson(tokenA, tokenB, (kinds[a] as number) | (kinds[b] as number))
  })
  const hash = createHash('sha256')
  const lines = new Array<string>(linesPerHashUpdate)
  let filled = 0
  for (let position = 0; position < count; position++) {
    const index = order[position] as number
    const token = traceTokens[index] as string
    const tokenJson = ((kinds[index] as number) & escaped) === 0 ? `"${token}"` : JSON.stringify(token)
    lines[filled++] = `[${tokenJson},${json.rest(verdictAt(index))}\n`
    if (filled === linesPerHashUpdate) {
      hash.update(lines.join(''))
      filled = 0
    }
  }
  hash.update(lines.slice(0, filled).join(''))
  return `sha256:${hash.digest('hex')}`
}

/** Bits of a token's kind: JSON escapes one of its characters; it holds one below '"'. */
const escaped = 1
const hasBelowQuote = 2

/**
 * The order of JSON.stringify(a) and JSON.stringify(b) for a !== b, without building either;
 * `kinds` says (bits `escaped`, `hasBelowQuote`) what either token holds. For tokens JSON leaves
 * alone it is the order of a + '"' and b + '"': plain string order, except where one is a prefix of
 * the other and the longer goes on with a character below '"'.
 */
export function compareAsJson(a: string, b: string, kinds = tokenKinds(a) | tokenKinds(b)): number {
  if ((kinds & escaped) !== 0) {
    const jsonA = JSON.stringify(a)
    const jsonB = JSON.stringify(b)
    return jsonA < jsonB ? -1 : jsonA > jsonB ? 1 : 0
  }
  const order = a < b ? -1 : 1
  if ((kinds & hasBelowQuote) === 0) return order
  const shorter = a.length < b.length ? a : b
  const longer = shorter === a ? b : a
  if (!longer.startsWith(shorter)) return order
  // '"' against the longer's next character: the shorter goes first unless that one is below '"'.
  const shorterFirst = longer.charCodeAt(shorter.length) > 0x22
  return (shorter === a) === shorterFirst ? -1 : 1
}

/**
 * `escaped` when JSON.stringify escapes a character of the token (below U+0020, '"', '\\', or a
 * surrogate: a lone one is escaped, a paired one merely sent the slow way), `hasBelowQuote` when it
 * holds a space or '!', the characters below '"' that JSON leaves alone.
 */
function tokenKinds(token: string): number {
  let kinds = 0
  for (let index = 0; index < token.length; index++) {
    const code = token.charCodeAt(index)
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return escaped
    if (code < 0x22) kinds = hasBelowQuote
  }
  return kinds
}

/** JSON of names and candidate lists, each made once per digest (within a bound). */
class JsonOf {
  readonly #names = new Map<string, string>()
  readonly #lists = new Map<readonly string[], string>()
  readonly #verdicts = new Map<RoutingVerdict, string>()

  of(value: string | null): string {
    if (value === null) return 'null'
    let known = this.#names.get(value)
    if (known === undefined) {
      known = JSON.stringify(value)
      if (this.#names.size < digestJsonCacheEntriesMax) this.#names.set(value, known)
    }
    return known
  }

  /** The line after the trace token. */
  rest(verdict: RoutingVerdict): string {
    let rest = this.#verdicts.get(verdict)
    if (rest === undefined) {
      rest = this.#restOf(verdict)
      if (this.#verdicts.size < digestJsonCacheEntriesMax) this.#verdicts.set(verdict, rest)
    }
    return rest
  }

  #restOf(decision: RoutingVerdict): string {
    let candidates = this.#lists.get(decision.candidates)
    if (candidates === undefined) {
      candidates = JSON.stringify([...decision.candidates].sort())
      if (this.#lists.size < digestJsonCacheEntriesMax) this.#lists.set(decision.candidates, candidates)
    }
    return (
      `${this.of(decision.requestedGroup)},${this.of(decision.selectedGroup)},${decision.fallback},` +
      `${this.of(decision.backend)},${candidates},${this.of(decision.errorCode)}]`
    )
  }
}
