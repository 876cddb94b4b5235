import type { RoutingGroupSelector } from './selector.ts'

/** Trino Gateway's default selector: the `X-Trino-Routing-Group` header, else the default group. */
export const routingGroupHeader = 'x-trino-routing-group'

export function createHeaderRoutingGroupSelector(): RoutingGroupSelector {
  return {
    kind: 'header',
    select(request) {
      const value = request.headers[routingGroupHeader]?.trim()
      return { routingGroup: value === '' ? undefined : value }
    },
  }
}
