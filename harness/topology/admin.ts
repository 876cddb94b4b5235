import { type Dispatcher, request } from 'undici'
import { waitFor } from '../../common/wait.ts'
import { HarnessError } from '../errors.ts'

/**
 * The gateway's admin and public HTTP API as the harness uses it, by Trino Gateway's paths, so
 * any compatible gateway (started here or passed with --gateway-url) is driven the same way.
 */

export const adminRequestTimeoutMs = 10_000
/** How long a registered backend may take to be reported HEALTHY. */
export const healthyTimeoutMs = 20_000

export interface BackendBody {
  name: string
  proxyTo: string
  externalUrl: string
  routingGroup: string
  active: boolean
}

export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly dispatcher: Dispatcher,
  ) {}

  async call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const url = `${this.baseUrl}${path}`
    try {
      const response = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headersTimeout: adminRequestTimeoutMs,
        bodyTimeout: adminRequestTimeoutMs,
        ...(body === undefined
          ? {}
          : typeof body === 'string'
            ? { body, headers: { 'content-type': 'text/plain' } }
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      })
      return { status: response.statusCode, text: await response.body.text() }
    } catch (error) {
      throw new HarnessError('ADMIN_API_FAILED', `${method} ${url}: ${(error as Error).message}`)
    }
  }

  /** A call whose non-2xx answer is an ADMIN_API_FAILED naming the status and body. */
  async expectOk(method: 'GET' | 'POST', path: string, body?: unknown): Promise<string> {
    const { status, text } = await this.call(method, path, body)
    if (status < 200 || status >= 300) {
      throw new HarnessError(
        'ADMIN_API_FAILED',
        `${method} ${this.baseUrl}${path}: HTTP ${status} ${text.slice(0, 300)}`,
        {
          status,
        },
      )
    }
    return text
  }

  /**
   * `POST /gateway/backend/modify/add`; a backend left in a reused database by an earlier run is
   * replaced through `modify/update` instead.
   */
  async addBackend(backend: BackendBody): Promise<void> {
    const added = await this.call('POST', '/gateway/backend/modify/add', backend)
    if (added.status >= 200 && added.status < 300) return
    const existing = await this.call('GET', `/api/public/backends/${encodeURIComponent(backend.name)}`)
    if (existing.status === 200) {
      await this.expectOk('POST', '/gateway/backend/modify/update', backend)
      return
    }
    throw new HarnessError(
      'ADMIN_API_FAILED',
      `POST ${this.baseUrl}/gateway/backend/modify/add: HTTP ${added.status} ${added.text.slice(0, 300)}`,
    )
  }

  async removeBackend(name: string): Promise<void> {
    await this.expectOk('POST', '/gateway/backend/modify/delete', name)
  }

  async setActive(name: string, active: boolean): Promise<void> {
    await this.expectOk(
      'POST',
      `/gateway/backend/${active ? 'activate' : 'deactivate'}/${encodeURIComponent(name)}`,
    )
  }

  async trinoStatus(name: string): Promise<string | undefined> {
    const { status, text } = await this.call('GET', `/api/public/backends/${encodeURIComponent(name)}/state`)
    if (status !== 200) return undefined
    try {
      const state = JSON.parse(text) as { trinoStatus?: unknown }
      return typeof state.trinoStatus === 'string' ? state.trinoStatus : undefined
    } catch {
      return undefined
    }
  }

  /** Waits until the gateway reports every named backend HEALTHY; names the laggards on timeout. */
  async waitHealthy(names: readonly string[], timeoutMs = healthyTimeoutMs): Promise<void> {
    const last = new Map<string, string | undefined>()
    try {
      await waitFor(
        async () => {
          const states = await Promise.all(
            names.map(async (name) => [name, await this.trinoStatus(name)] as const),
          )
          for (const [name, state] of states) last.set(name, state)
          return states.every(([, state]) => state === 'HEALTHY')
        },
        { timeoutMs, intervalMs: 25, what: `backends ${names.join(', ')} HEALTHY at ${this.baseUrl}` },
      )
    } catch {
      const laggards = [...last].filter(([, state]) => state !== 'HEALTHY')
      throw new HarnessError(
        'CLUSTER_NOT_HEALTHY',
        `${laggards.map(([name, state]) => `${name} is ${state ?? 'unknown to the gateway'}`).join(', ')} after ${timeoutMs} ms (${this.baseUrl})`,
        { laggards: Object.fromEntries(laggards) },
      )
    }
  }
}
