import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compareAsJson,
  type DigestedDecision,
  type RoutingVerdict,
  routingDecisionDigest,
  routingDecisionDigestOf,
} from './digest.ts'

/** The digest as first written: one JSON.stringify per decision, lines sorted, sha256. */
function referenceDigest(decisions: readonly DigestedDecision[]): string {
  const lines = decisions
    .map((decision) =>
      JSON.stringify([
        decision.traceToken,
        decision.requestedGroup,
        decision.selectedGroup,
        decision.fallback,
        decision.backend,
        [...decision.candidates].sort(),
        decision.errorCode,
      ]),
    )
    .sort()
  const hash = createHash('sha256')
  for (const line of lines) hash.update(`${line}\n`)
  return `sha256:${hash.digest('hex')}`
}

// Names with quotes, backslashes, control characters and lone surrogates, which JSON escapes, and
// tokens from a few characters, so that one is often a prefix of another (the case where a
// character below '"', a space or '!', orders JSON differently from the plain strings).
const tricky = fc.string({
  unit: fc.constantFrom('a', 'b', '0', '/', ' ', '!', '"', '#', '\\', '\u0001', '\ud800', '\udc00'),
  maxLength: 5,
})
const name = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }), tricky)
const nullable = fc.option(name, { nil: null })

describe('routingDecisionDigest', () => {
  it('hashes exactly the JSON lines of every decision, a candidate list shared or not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(name, { maxLength: 5 }), { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.record({
            traceToken: name,
            requestedGroup: nullable,
            selectedGroup: nullable,
            fallback: fc.boolean(),
            backend: nullable,
            list: fc.nat(),
            copy: fc.boolean(),
            errorCode: nullable,
          }),
          { maxLength: 30 },
        ),
        (lists, drawn) => {
          const decisions: DigestedDecision[] = drawn.map(({ list, copy, ...decision }) => {
            const shared = lists[list % lists.length] as string[]
            return { ...decision, candidates: copy ? [...shared] : shared }
          })
          expect(routingDecisionDigest(decisions)).toBe(referenceDigest(decisions))
          expect(
            routingDecisionDigestOf(
              decisions.map((decision) => decision.traceToken),
              (index) => ({ ...(decisions[index] as DigestedDecision) }),
            ),
          ).toBe(referenceDigest(decisions))
          // One verdict object for equal verdicts, as a columnar store hands them out.
          const verdicts = new Map<string, RoutingVerdict>()
          expect(
            routingDecisionDigestOf(
              decisions.map((decision) => decision.traceToken),
              (index) => {
                const { traceToken: _, ...verdict } = decisions[index] as DigestedDecision
                const key = JSON.stringify(verdict)
                if (!verdicts.has(key)) verdicts.set(key, verdict)
                return verdicts.get(key) as RoutingVerdict
              },
            ),
          ).toBe(referenceDigest(decisions))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('orders two tokens as their JSON texts order', () => {
    fc.assert(
      fc.property(tricky, tricky, (a, b) => {
        fc.pre(a !== b)
        const jsonA = JSON.stringify(a)
        const jsonB = JSON.stringify(b)
        expect(Math.sign(compareAsJson(a, b))).toBe(jsonA < jsonB ? -1 : 1)
      }),
      { numRuns: 2000 },
    )
    expect(compareAsJson('x/1', 'x/1 ')).toBe(1)
    expect(compareAsJson('x/1', 'x/10')).toBe(-1)
  })

  it('leaves a shared candidate list in its order', () => {
    const candidates = ['trino-b', 'trino-a']
    routingDecisionDigest([
      {
        traceToken: 't',
        requestedGroup: null,
        selectedGroup: 'adhoc',
        fallback: false,
        backend: 'trino-b',
        candidates,
        errorCode: null,
      },
    ])
    expect(candidates).toEqual(['trino-b', 'trino-a'])
  })
})
