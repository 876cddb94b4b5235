/**
 * The routing decision for a request that carries no known query id (reference §3.2, §4): the
 * selected group's routable backends, else the default group's, else a named failure. Pure.
 */
import type { Rng } from '../../common/random.ts'
import { isRoutable, type TrinoStatus } from '../clusters/trino-status.ts'
import type { BackendRecord } from '../store/types.ts'
import type { BackendPicker } from './backend-picker.ts'

export interface RouteInput {
  /** What the selector returned; undefined or '' means the default group. */
  requestedGroup: string | undefined
  defaultRoutingGroup: string
  backends: readonly BackendRecord[]
  statusOf: (name: string) => TrinoStatus | undefined
  picker: BackendPicker
  rng: Rng
  user: string | undefined
}

export type RouteOutcome =
  | {
      ok: true
      backend: BackendRecord
      /** The group the backend was chosen from. */
      routingGroup: string
      /** True when the requested group had no routable backend and the default group served. */
      fallback: boolean
      candidates: readonly BackendRecord[]
      reason: string
    }
  | {
      ok: false
      routingGroup: string
      fallback: boolean
      candidates: readonly BackendRecord[]
      reason: string
    }

export function routableBackends(
  backends: readonly BackendRecord[],
  group: string,
  statusOf: (name: string) => TrinoStatus | undefined,
): BackendRecord[] {
  return backends.filter(
    (backend) => backend.routingGroup === group && isRoutable(backend.active, statusOf(backend.name)),
  )
}

export function route(input: RouteInput): RouteOutcome {
  const requested =
    input.requestedGroup === undefined || input.requestedGroup === ''
      ? input.defaultRoutingGroup
      : input.requestedGroup
  const direct = routableBackends(input.backends, requested, input.statusOf)
  if (direct.length > 0) {
    return {
      ok: true,
      backend: input.picker.pick(direct, { rng: input.rng, user: input.user, routingGroup: requested }),
      routingGroup: requested,
      fallback: false,
      candidates: direct,
      reason: `${input.picker.name} choice among ${direct.length} routable backend(s) of group ${requested}`,
    }
  }
  const whyEmpty = describeEmptyGroup(input.backends, requested, input.statusOf)
  if (requested === input.defaultRoutingGroup) {
    return {
      ok: false,
      routingGroup: requested,
      fallback: false,
      candidates: [],
      reason: `routing group ${JSON.stringify(requested)} (the default group) ${whyEmpty}`,
    }
  }
  const fallback = routableBackends(input.backends, input.defaultRoutingGroup, input.statusOf)
  if (fallback.length > 0) {
    return {
      ok: true,
      backend: input.picker.pick(fallback, {
        rng: input.rng,
        user: input.user,
        routingGroup: input.defaultRoutingGroup,
      }),
      routingGroup: input.defaultRoutingGroup,
      fallback: true,
      candidates: fallback,
      reason: `routing group ${JSON.stringify(requested)} ${whyEmpty}; fell back to the default group ${JSON.stringify(input.defaultRoutingGroup)}`,
    }
  }
  return {
    ok: false,
    routingGroup: input.defaultRoutingGroup,
    fallback: true,
    candidates: [],
    reason: `routing group ${JSON.stringify(requested)} ${whyEmpty}, and the default group ${JSON.stringify(input.defaultRoutingGroup)} ${describeEmptyGroup(input.backends, input.defaultRoutingGroup, input.statusOf)}`,
  }
}

/** Why a group has no routable backend, in words an operator can act on. */
export function describeEmptyGroup(
  backends: readonly BackendRecord[],
  group: string,
  statusOf: (name: string) => TrinoStatus | undefined,
): string {
  const members = backends.filter((backend) => backend.routingGroup === group)
  if (members.length === 0) return 'has no backends'
  const states = members.map(
    (backend) =>
      `${backend.name}: ${backend.active ? 'active' : 'inactive'}, ${statusOf(backend.name) ?? 'UNKNOWN'}`,
  )
  return `has no active HEALTHY backend (${states.join('; ')})`
}
