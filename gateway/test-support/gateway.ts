/** Helpers for gateway integration tests: a config for a test database, and backend registration. */
import { type GatewayConfig, parseGatewayConfig } from '../config.ts'

export function testGatewayConfig(jdbcUrl: string, overrides: Record<string, unknown> = {}): GatewayConfig {
  const { routing, monitor, dataStore, ...rest } = overrides as {
    routing?: Record<string, unknown>
    monitor?: Record<string, unknown>
    dataStore?: Record<string, unknown>
  }
  return parseGatewayConfig(
    {
      serverConfig: { 'http-server.http.port': 0 },
      dataStore: { jdbcUrl, ...dataStore },
      // Long rounds: tests rely on probe-on-add and runHealthRound(), not on the schedule.
      monitor: { taskDelay: '1h', ...monitor },
      routing: { ...routing },
      ...rest,
    },
    'test config',
  )
}

export async function addBackend(
  gatewayUrl: string,
  backend: { name: string; proxyTo: string; routingGroup?: string; active?: boolean; externalUrl?: string },
): Promise<void> {
  const response = await fetch(`${gatewayUrl}/gateway/backend/modify/add`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ routingGroup: 'adhoc', active: true, ...backend }),
  })
  if (response.status !== 200)
    throw new Error(`adding ${backend.name}: ${response.status} ${await response.text()}`)
}

export async function stateOf(gatewayUrl: string, name: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/api/public/backends/${encodeURIComponent(name)}/state`)
  const body = (await response.json()) as { trinoStatus?: string }
  return body.trinoStatus ?? `HTTP ${response.status}`
}
