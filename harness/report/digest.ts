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

export function routingDecisionDigest(decisions: readonly DigestedDecision[]): string {
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
    // Whole-line order: ties on the trace token (a retried POST) sort by content, not by arrival.
    .sort()
  const hash = createHash('sha256')
  for (const line of lines) hash.update(`${line}\n`)
  return `sha256:${hash.digest('hex')}`
}
