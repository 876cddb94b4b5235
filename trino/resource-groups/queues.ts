/**
 * The four queues behind Trino's scheduling policies (`FifoQueue`, `IndexedPriorityQueue`,
 * `StochasticPriorityQueue`, `WeightedFairQueue`), with the same ordering and tie-breaks. Each is
 * a set: adding a present element updates its key and keeps its place where Trino keeps it.
 */
import type { Rng } from '../../common/random.ts'

export interface UpdatableQueue<T> {
  /** Inserts, or updates the key of a present element. */
  addOrUpdate(element: T, priority: number): void
  poll(): T | undefined
  peek(): T | undefined
  remove(element: T): boolean
  has(element: T): boolean
  readonly size: number
  /** Elements in the order the queue would hand them out when that order is fixed (not stochastic). */
  values(): T[]
}

/** Insertion order; an update does not move the element; `priority` is ignored (`fair`). */
export class FifoQueue<T> implements UpdatableQueue<T> {
  readonly #elements = new Set<T>()
  addOrUpdate(element: T): void {
    this.#elements.add(element)
  }
  poll(): T | undefined {
    const first = this.peek()
    if (first !== undefined) this.#elements.delete(first)
    return first
  }
  peek(): T | undefined {
    for (const element of this.#elements) return element
    return undefined
  }
  remove(element: T): boolean {
    return this.#elements.delete(element)
  }
  has(element: T): boolean {
    return this.#elements.has(element)
  }
  get size(): number {
    return this.#elements.size
  }
  values(): T[] {
    return [...this.#elements]
  }
}

/**
 * Highest priority first; equal priorities in insertion order. Changing an element's priority
 * keeps its insertion generation, as Trino's does.
 */
export class IndexedPriorityQueue<T> implements UpdatableQueue<T> {
  readonly #entries = new Map<T, { priority: number; generation: number }>()
  #nextGeneration = 0
  addOrUpdate(element: T, priority: number): void {
    const entry = this.#entries.get(element)
    if (entry !== undefined) {
      entry.priority = priority
      return
    }
    this.#entries.set(element, { priority, generation: this.#nextGeneration++ })
  }
  poll(): T | undefined {
    const first = this.peek()
    if (first !== undefined) this.#entries.delete(first)
    return first
  }
  peek(): T | undefined {
    let best: T | undefined
    let bestPriority = Number.NEGATIVE_INFINITY
    let bestGeneration = Number.POSITIVE_INFINITY
    for (const [element, { priority, generation }] of this.#entries) {
      if (priority > bestPriority || (priority === bestPriority && generation < bestGeneration)) {
        best = element
        bestPriority = priority
        bestGeneration = generation
      }
    }
    return best
  }
  remove(element: T): boolean {
    return this.#entries.delete(element)
  }
  has(element: T): boolean {
    return this.#entries.has(element)
  }
  get size(): number {
    return this.#entries.size
  }
  values(): T[] {
    return [...this.#entries]
      .sort(([, a], [, b]) => b.priority - a.priority || a.generation - b.generation)
      .map(([element]) => element)
  }
}

/** A lottery: each element wins with probability tickets / total tickets (`weighted`). */
export class StochasticPriorityQueue<T> implements UpdatableQueue<T> {
  readonly #tickets = new Map<T, number>()
  #totalTickets = 0
  constructor(private readonly rng: Rng) {}
  addOrUpdate(element: T, tickets: number): void {
    if (!(tickets > 0)) throw new RangeError(`stochastic queue tickets must be positive, got ${tickets}`)
    this.#totalTickets += tickets - (this.#tickets.get(element) ?? 0)
    this.#tickets.set(element, tickets)
  }
  poll(): T | undefined {
    const winner = this.peek()
    if (winner !== undefined) this.remove(winner)
    return winner
  }
  /** Draws the winner (a draw per call: two peeks may differ, as Trino's peek would not; unused by the scheduler). */
  peek(): T | undefined {
    if (this.#tickets.size === 0) return undefined
    let ticket = Math.floor(this.rng() * this.#totalTickets)
    let last: T | undefined
    for (const [element, tickets] of this.#tickets) {
      last = element
      if (ticket < tickets) return element
      ticket -= tickets
    }
    return last
  }
  remove(element: T): boolean {
    const tickets = this.#tickets.get(element)
    if (tickets === undefined) return false
    this.#tickets.delete(element)
    this.#totalTickets -= tickets
    return true
  }
  has(element: T): boolean {
    return this.#tickets.has(element)
  }
  get size(): number {
    return this.#tickets.size
  }
  values(): T[] {
    return [...this.#tickets.keys()]
  }
}

export interface WeightedFairUsage {
  /** The child's `schedulingWeight`. */
  share: number
  /** The child's running queries, descendants included, when it was last added or updated. */
  utilization: number
}

/**
 * Trino's `weighted_fair` queue: picks the child furthest below its share of the running queries
 * (`actual / expected`, with `totalUtilization = 1 + sum`), only among children at or below their
 * share; an exact tie goes to the child inserted earliest. The arithmetic is IEEE-754 doubles in
 * Trino's operation order, so results agree with Trino to the last bit.
 */
export class WeightedFairQueue<T> {
  readonly #nodes = new Map<T, WeightedFairUsage & { logicalCreateTime: number }>()
  #nextCreateTime = 0
  addOrUpdate(element: T, usage: WeightedFairUsage): void {
    const node = this.#nodes.get(element)
    if (node !== undefined) {
      node.share = usage.share
      node.utilization = usage.utilization
      return
    }
    this.#nodes.set(element, { ...usage, logicalCreateTime: this.#nextCreateTime++ })
  }
  poll(): T | undefined {
    const winner = this.peek()
    if (winner !== undefined) this.#nodes.delete(winner)
    return winner
  }
  peek(): T | undefined {
    if (this.#nodes.size === 0) return undefined
    let totalShare = 0
    let totalUtilization = 1
    for (const node of this.#nodes.values()) {
      totalShare += node.share
      totalUtilization += node.utilization
    }
    let winner: T | undefined
    let winnerDelta = 1
    let winnerCreateTime = Number.POSITIVE_INFINITY
    for (const [element, node] of this.#nodes) {
      const delta = weightedFairDelta(node, totalShare, totalUtilization)
      if (delta < winnerDelta || (delta === winnerDelta && node.logicalCreateTime < winnerCreateTime)) {
        winner = element
        winnerDelta = delta
        winnerCreateTime = node.logicalCreateTime
      }
    }
    return winner
  }
  remove(element: T): boolean {
    return this.#nodes.delete(element)
  }
  has(element: T): boolean {
    return this.#nodes.has(element)
  }
  get size(): number {
    return this.#nodes.size
  }
  values(): T[] {
    return [...this.#nodes.keys()]
  }
}

/** `actual / expected` for one child, in Trino's operation order. */
export function weightedFairDelta(
  usage: WeightedFairUsage,
  totalShare: number,
  totalUtilization: number,
): number {
  const actual = (1.0 * usage.utilization) / totalUtilization
  const expected = (1.0 * usage.share) / totalShare
  return actual / expected
}
