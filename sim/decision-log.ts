/**
 * Every routed decision of a simulated run, as the routing decision digest reads them, kept in
 * columns: the query as its index, what was decided as an index into a table of the few distinct
 * verdicts (a verdict names groups, a backend and a candidate list). A million decisions held as a
 * million objects cost the run more in garbage collection than it spent deciding them.
 */
import { type RoutingVerdict, routingDecisionDigestOf } from '../harness/report/digest.ts'

const columnCapacityInitial = 1024
/** Distinct verdicts, names and candidate lists one run may hold. */
export const decisionLogDistinctMax = 1_000_000

export class DecisionLog {
  #length = 0
  #query = new Int32Array(columnCapacityInitial)
  #verdict = new Int32Array(columnCapacityInitial)
  readonly #verdicts: RoutingVerdict[] = []
  readonly #verdictIds = new Map<string, number>()
  readonly #nameIds = new Map<string | null, number>()
  readonly #listIds = new Map<readonly string[], number>()

  get length(): number {
    return this.#length
  }

  /**
   * Logs one decision of the query at `queryIndex`. The candidate list is told apart by identity:
   * the caller hands the same list for the same candidates (it is neither copied nor compared).
   */
  push(queryIndex: number, verdict: RoutingVerdict): void {
    const key = [
      this.#idOf(this.#nameIds, verdict.requestedGroup),
      this.#idOf(this.#nameIds, verdict.selectedGroup),
      verdict.fallback ? 1 : 0,
      this.#idOf(this.#nameIds, verdict.backend),
      this.#idOf(this.#listIds, verdict.candidates),
      this.#idOf(this.#nameIds, verdict.errorCode),
    ].join(',')
    let id = this.#verdictIds.get(key)
    if (id === undefined) {
      id = this.#verdicts.length
      bounded(id)
      this.#verdicts.push({ ...verdict })
      this.#verdictIds.set(key, id)
    }
    if (this.#length === this.#query.length) this.#grow()
    this.#query[this.#length] = queryIndex
    this.#verdict[this.#length] = id
    this.#length++
  }

  /** The query index of decision `index`. */
  queryOf(index: number): number {
    this.#check(index)
    return this.#query[index] as number
  }

  /** What decision `index` decided; equal verdicts are one object. */
  verdictOf(index: number): RoutingVerdict {
    this.#check(index)
    return this.#verdicts[this.#verdict[index] as number] as RoutingVerdict
  }

  /** The routing decision digest over every logged decision (`routingDecisionDigest`'s value). */
  digest(traceTokenOf: (queryIndex: number) => string): string {
    const tokens = new Array<string>(this.#length)
    for (let index = 0; index < this.#length; index++)
      tokens[index] = traceTokenOf(this.#query[index] as number)
    return routingDecisionDigestOf(tokens, (index) => this.verdictOf(index))
  }

  #idOf<K>(ids: Map<K, number>, value: K): number {
    let id = ids.get(value)
    if (id === undefined) {
      id = ids.size
      bounded(id)
      ids.set(value, id)
    }
    return id
  }

  #check(index: number): void {
    if (!(Number.isInteger(index) && index >= 0 && index < this.#length))
      throw new RangeError(`no decision ${index}`)
  }

  #grow(): void {
    const capacity = this.#query.length * 2
    const query = new Int32Array(capacity)
    query.set(this.#query)
    this.#query = query
    const verdict = new Int32Array(capacity)
    verdict.set(this.#verdict)
    this.#verdict = verdict
  }
}

function bounded(count: number): void {
  if (count >= decisionLogDistinctMax) {
    throw new RangeError(
      `more than ${decisionLogDistinctMax} distinct verdicts, names or lists (decisionLogDistinctMax)`,
    )
  }
}
