/**
 * The UI's one way to the gateway: the same `/webapp/*`, `/entity`, `/gateway/*` and `/trino/*`
 * endpoints Trino Gateway's UI and scripts call. The session is the HttpOnly cookie the gateway
 * sets at login; the page never sees it. Errors carry the gateway's code and, for bad bodies, the
 * problems by field name.
 */

/** Sent on every call so a 401 gets no `WWW-Authenticate` (no browser password dialog). */
const uiHeaders = { 'x-requested-with': 'trino-gateway-lab-ui' }

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** `field: message` lines of a REQUEST_BODY_INVALID answer. */
    readonly problems: readonly string[],
  ) {
    super(message)
  }
}

/** Called whenever the gateway answers 401: the app shows the login page. */
let onUnauthenticated: () => void = () => {}
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? uiHeaders : { ...uiHeaders, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    credentials: 'same-origin',
  })
  const text = await response.text()
  let document: unknown
  try {
    document = text === '' ? undefined : JSON.parse(text)
  } catch {
    document = text
  }
  if (!response.ok) {
    const error = (typeof document === 'object' && document !== null ? document : {}) as {
      code?: string
      message?: string
      details?: { problems?: unknown }
    }
    const problems = Array.isArray(error.details?.problems)
      ? error.details.problems.filter((line): line is string => typeof line === 'string')
      : []
    if (response.status === 401 && !path.endsWith('/login')) onUnauthenticated()
    throw new ApiError(
      response.status,
      error.code ?? `HTTP_${response.status}`,
      error.message ?? (typeof document === 'string' && document !== '' ? document : response.statusText),
      problems,
    )
  }
  return document
}

/** The `data` of a `{code, msg, data}` envelope. */
async function envelope<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const document = (await call(method, path, body)) as { code?: number; msg?: string; data?: T } | undefined
  if (document !== undefined && typeof document.code === 'number' && document.code !== 200) {
    throw new ApiError(200, `RESULT_${document.code}`, document.msg ?? 'failed', [])
  }
  return document?.data as T
}

export interface Backend {
  name: string
  proxyTo: string
  externalUrl: string | null
  active: boolean
  routingGroup: string
  queued?: number
  running?: number
  status?: string
}

export interface QueryDetail {
  queryId: string
  queryText: string
  user: string
  source: string | null
  backendUrl: string
  captureTime: number
  routingGroup: string | null
  externalUrl: string | null
}

export interface Distribution {
  totalBackendCount: number
  onlineBackendCount: number
  offlineBackendCount: number
  healthyBackendCount: number
  unhealthyBackendCount: number
  totalQueryCount: number
  averageQueryCountMinute: number
  distributionChart: { backendUrl: string; queryCount: number; name: string }[]
  startTime: string
}

export interface RoutingRule {
  name: string
  description?: string | null
  priority: number
  actions: string[]
  condition: string
}

export interface ResourceGroup {
  resourceGroupId: number
  name: string
  softMemoryLimit: string | null
  maxQueued: number
  softConcurrencyLimit: number | null
  hardConcurrencyLimit: number
  schedulingPolicy: string | null
  schedulingWeight: number | null
  jmxExport: boolean | null
  softCpuLimit: string | null
  hardCpuLimit: string | null
  parent: number | null
  environment: string | null
}

export interface Selector {
  resourceGroupId: number
  priority: number
  userRegex: string | null
  sourceRegex: string | null
  queryType: string | null
  clientTags: string | null
  selectorResourceEstimate: string | null
}

export interface UserInfo {
  userName: string
  roles: string[]
  /** Pages `pagePermissions` grants; empty: every page. */
  permissions: string[]
}

export const api = {
  loginType: () => envelope<string>('POST', '/loginType'),
  login: (username: string, password: string) =>
    envelope<{ userName: string; roles: string[] }>('POST', '/login', { username, password }),
  logout: () => envelope<null>('POST', '/logout'),
  userInfo: () => envelope<UserInfo>('POST', '/userinfo'),
  uiConfiguration: () => envelope<{ disablePages: string[] }>('GET', '/webapp/getUIConfiguration'),
  backends: () => envelope<Backend[]>('POST', '/webapp/getAllBackends'),
  saveBackend: (backend: Backend) => envelope<Backend>('POST', '/webapp/saveBackend', backend),
  updateBackend: (backend: Backend) => envelope<Backend>('POST', '/webapp/updateBackend', backend),
  deleteBackend: (name: string) => envelope<boolean>('POST', '/webapp/deleteBackend', { name }),
  distribution: (latestHour: number) =>
    envelope<Distribution>('POST', '/webapp/getDistribution', { latestHour }),
  history: (filter: Record<string, string | number>) =>
    envelope<{ total: number; rows: QueryDetail[] }>('POST', '/webapp/findQueryHistory', filter),
  routingRules: async (): Promise<RoutingRule[] | 'external'> => {
    const document = await call('GET', '/webapp/getRoutingRules')
    if (document === undefined) return 'external'
    return (document as { data: RoutingRule[] }).data
  },
  updateRoutingRule: (rule: RoutingRule) =>
    envelope<RoutingRule[]>('POST', '/webapp/updateRoutingRules', rule),
  resourceGroups: () => call('GET', '/trino/resourcegroup/read') as Promise<ResourceGroup[]>,
  createResourceGroup: (group: unknown) => call('POST', '/trino/resourcegroup/create', group),
  updateResourceGroup: (group: unknown) => call('POST', '/trino/resourcegroup/update', group),
  deleteResourceGroup: (id: number) => call('POST', `/trino/resourcegroup/delete/${id}`),
  selectors: () => call('GET', '/trino/selector/read') as Promise<Selector[]>,
  createSelector: (selector: unknown) => call('POST', '/trino/selector/create', selector),
  updateSelector: (current: Selector, update: unknown) =>
    call('POST', '/trino/selector/update', { current, update }),
  deleteSelector: (selector: Selector) => call('POST', '/trino/selector/delete', selector),
  readiness: () =>
    call('GET', '/trino-gateway/readyz?detail') as Promise<{ ready: boolean; routingRules: unknown }>,
}
