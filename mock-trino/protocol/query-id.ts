import { pickIndex, rngFor } from '../../common/random.ts'

/**
 * Trino's query ids, `YYYYMMdd_HHmmss_NNNNN_ccccc`: a UTC timestamp, a five-digit counter reset each
 * day, and a per-coordinator suffix of five characters from Trino's alphabet (no l, o, 0, 1).
 *
 * Trino waits for the next second when the counter passes 99,999 in a day; the mock instead stamps
 * the id one second ahead, so ids stay unique at benchmark rates without stalling.
 */
const suffixAlphabet = 'abcdefghijkmnpqrstuvwxyz23456789'
const counterMax = 99_999

export function coordinatorSuffix(seed: number, name: string): string {
  const rng = rngFor(seed, `coordinator-id/${name}`)
  let suffix = ''
  for (let i = 0; i < 5; i++) suffix += suffixAlphabet[pickIndex(rng, suffixAlphabet.length)]
  return suffix
}

export const queryIdPattern = /^\d{8}_\d{6}_\d{5}_[a-hj-km-np-z2-9]{5}$/

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

export class QueryIdGenerator {
  private counter = 0
  private stampSecond = -1
  private stampDay = -1
  private stamp = ''

  constructor(private readonly suffix: string) {}

  next(nowMs: number): string {
    let second = Math.max(Math.floor(nowMs / 1000), this.stampSecond)
    const day = Math.floor(second / 86_400)
    if (day !== this.stampDay) {
      this.stampDay = day
      this.counter = 0
    }
    this.counter++
    if (this.counter > counterMax) {
      second = this.stampSecond + 1
      this.counter = 1
    }
    if (second !== this.stampSecond) {
      this.stampSecond = second
      const d = new Date(second * 1000)
      this.stamp = `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}_${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}_`
    }
    return `${this.stamp}${String(this.counter).padStart(5, '0')}_${this.suffix}`
  }
}
