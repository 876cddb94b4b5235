/**
 * The routing-group selector seam (Trino Gateway's `RoutingGroupSelector`): header, file rules or
 * external service. Implementations are chosen at start-up from `routingRules`.
 */

/** What a selector may read of a proxied request that carries no known query id. */
export interface RoutingRequest {
  method: string
  /** Path without the query string, as the client sent it. */
  path: string
  /** Raw query string without `?`, or '' */
  queryString: string
  /** Header names lower-cased; repeated headers joined with ', ' as Node does. */
  headers: Readonly<Record<string, string>>
  /** The request body as text for POST and PUT ('' otherwise). */
  body: string
  remoteAddress: string
}

export interface RoutingGroupSelection {
  /** undefined or '' means: use `routing.defaultRoutingGroup`. */
  routingGroup?: string | undefined
  /** Errors the selector met but routed around (a rule that threw, an external service down). */
  warnings?: readonly string[]
  /** Extra headers an external routing service asked to add to the forwarded request. */
  externalHeaders?: Readonly<Record<string, string>>
}

export interface RoutingGroupSelector {
  readonly kind: 'header' | 'file' | 'external'
  select(request: RoutingRequest): Promise<RoutingGroupSelection> | RoutingGroupSelection
  close?(): Promise<void>
}
