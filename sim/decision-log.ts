/**
 * Every routed decision of a simulated run, as the routing decision digest reads them, kept in
 * columns: names and candidate lists as indexes into tables of the few distinct ones, the query
 * as its index. A million decisions held as a million objects cost the run more in garbage
 * collection than it spent deciding them.
 */
import { type DigestedDecision, routingDecisionDigestOf } from '../harness/report/digest.ts'

const columnCapacityInitial = 1024
/** Distinct names (groups, backends, error codes) and candidate lists one run may hold. */
export const decisionLogNamesMax = 1_000_000
const none = -1

/** A decision as logged: its query is given apart, as an index. */
export type LoggedDecision = Omit<DigestedDecision, 'traceToken'>

export class DecisionLog {
  #length = 0
  #query = new Int32Array(columnCapacityInitial)
  #requested = new Int32Array(columnCapacityInitial)
  #selected = new Int32Array(columnCapacityInitial)
  #backend = new Int32Array(columnCapacityInitial)
  #candidates = new Int32Array(columnCapacityInitial)
  #error = new Int32Array(columnCapacityInitial)
  #fallback = new Uint8Array(columnCapacityInitial)
  readonly #names: string[] = []
  readonly #nameIds = new Map<string, number>()
  readonly #lists: Array<readonly string[]> = []
  readonly #listIds = new Map<readonly string[], number>()

  get length(): number {
    return this.#length
  }

  /**
   * Logs one decision of the query at `queryIndex`. `candidates` is kept by identity: the caller
   * hands the same list for the same candidates (a list is not copied, nor compared by content).
   */
  push(queryIndex: number, decision: LoggedDecision): void {
    if (this.#length === this.#query.length) this.#grow()
    const at = this.#length++
    this.#query[at] = queryIndex
    this.#requested[at] = this.#nameId(decision.requestedGroup)
    this.#selected[at] = this.#nameId(decision.selectedGroup)
    this.#backend[at] = this.#nameId(decision.backend)
    this.#error[at] = this.#nameId(decision.errorCode)
    this.#fallback[at] = decision.fallback ? 1 : 0
    let list = this.#listIds.get(decision.candidates)
    if (list === undefined) {
      list = this.#lists.length
      this.#bounded(list)
      this.#lists.push(decision.candidates)
      this.#listIds.set(decision.candidates, list)
    }
    this.#candidates[at] = list
  }

  /** Decision `index`, built for the caller; `traceTokenOf` names the query it decided. */
  at(index: number, traceTokenOf: (queryIndex: number) => string): DigestedDecision {
    if (!(index >= 0 && index < this.#length)) throw new RangeError(`no decision ${index}`)
    return {
      traceToken: traceTokenOf(this.#query[index] as number),
      requestedGroup: this.#name(this.#requested[index] as number),
      selectedGroup: this.#name(this.#selected[index] as number),
      fallback: this.#fallback[index] === 1,
      backend: this.#name(this.#backend[index] as number),
      candidates: this.#lists[this.#candidates[index] as number] as readonly string[],
      errorCode: this.#name(this.#error[index] as number),
    }
  }

  /** The routing decision digest over every logged decision (`routingDecisionDigest`'s value). */
  digest(traceTokenOf: (queryIndex: number) => string): string {
    const tokens = new Array<string>(this.#length)
    for (let index = 0; index < this.#length; index++)
      tokens[index] = traceTokenOf(this.#query[index] as number)
    return routingDecisionDigestOf(tokens, (index) => this.at(index, traceTokenOf))
  }

  #nameId(name: string | null): number {
    if (name === null) return none
    let id = this.#nameIds.get(name)
    if (id === undefined) {
      id = this.#names.length
      this.#bounded(id)
      this.#names.push(name)
      this.#nameIds.set(name, id)
    }
    return id
  }

  #name(id: number): string | null {
    return id === none ? null : (this.#names[id] as string)
  }

  #bounded(count: number): void {
    if (count >= decisionLogNamesMax) {
      throw new RangeError(`more than ${decisionLogNamesMax} distinct names or lists (decisionLogNamesMax)`)
    }
  }

  #grow(): void {
    const capacity = this.#query.length * 2
    const grown = <T extends Int32Array | Uint8Array>(column: T, make: (n: number) => T): T => {
      const next = make(capacity)
      next.set(column)
      return next
    }
    const int32 = (n: number) => new Int32Array(n)
    this.#query = grown(this.#query, int32)
    this.#requested = grown(this.#requested, int32)
    this.#selected = grown(this.#selected, int32)
    this.#backend = grown(this.#backend, int32)
    this.#candidates = grown(this.#candidates, int32)
    this.#error = grown(this.#error, int32)
    this.#fallback = grown(this.#fallback, (n) => new Uint8Array(n))
  }
}
