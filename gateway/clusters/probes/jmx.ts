/**
 * JMX monitor (reference §7): Airlift's JMX REST beans `trino.metadata:name=DiscoveryNodeManager`
 * and `trino.execution:name=QueryManager`. HEALTHY when `ActiveNodeCount > 0`; queued and running
 * from `QueuedQueries` / `RunningQueries`. A failed call, a non-JSON body or a missing attribute is
 * UNHEALTHY.
 */
import { z } from 'zod'
import type { BackendRecord } from '../../store/types.ts'
import { basicAuthorization, exchange, jsonOf, urlOf } from './http.ts'
import { type ClusterProbe, countOf, type ProbeContext, type ProbeResult, statusOnly } from './types.ts'

export const nodeManagerBean = 'trino.metadata:name=DiscoveryNodeManager'
export const queryManagerBean = 'trino.execution:name=QueryManager'

const beanSchema = z.object({
  attributes: z.array(z.object({ name: z.string(), value: z.unknown().optional() })),
})

/** The attributes of a bean JSON by name, or why it is not one. */
export function beanAttributes(body: unknown): Map<string, unknown> | string {
  const parsed = beanSchema.safeParse(body)
  if (!parsed.success) return 'not an Airlift JMX bean (expected {attributes: [{name, value}]})'
  return new Map(parsed.data.attributes.map((attribute) => [attribute.name, attribute.value]))
}

/** The pure decision over the two beans' JSON bodies. */
export function statsFromJmx(nodeManager: unknown, queryManager: unknown): ProbeResult {
  const nodes = beanAttributes(nodeManager)
  if (typeof nodes === 'string') return statusOnly('UNHEALTHY', `${nodeManagerBean}: ${nodes}`)
  const queries = beanAttributes(queryManager)
  if (typeof queries === 'string') return statusOnly('UNHEALTHY', `${queryManagerBean}: ${queries}`)
  const activeNodes = countOf(nodes.get('ActiveNodeCount'))
  if (activeNodes === undefined) return statusOnly('UNHEALTHY', `${nodeManagerBean}: no ActiveNodeCount`)
  if (activeNodes === 0) return statusOnly('UNHEALTHY', 'ActiveNodeCount is 0')
  const running = countOf(queries.get('RunningQueries'))
  const queued = countOf(queries.get('QueuedQueries'))
  if (running === undefined || queued === undefined) {
    return statusOnly('UNHEALTHY', `${queryManagerBean}: no RunningQueries or QueuedQueries count`)
  }
  return {
    trinoStatus: 'HEALTHY',
    runningQueryCount: running,
    queuedQueryCount: queued,
    numWorkerNodes: activeNodes,
    userQueuedCount: null,
  }
}

/** `X-Trino-User` always; Basic credentials only over https, where Trino accepts passwords. */
export function jmxRequestHeaders(backend: BackendRecord, context: ProbeContext): Record<string, string> {
  const { username, password } = context.backendState
  const headers: Record<string, string> = { accept: 'application/json', 'x-trino-user': username }
  if (backend.proxyTo.startsWith('https:')) headers.authorization = basicAuthorization(username, password)
  return headers
}

export function createJmxProbe(context: ProbeContext): ClusterProbe {
  return async (backend) => {
    const headers = jmxRequestHeaders(backend, context)
    const get = async (bean: string) =>
      jsonOf(
        bean,
        await exchange(
          context.dispatcher,
          {
            method: 'GET',
            url: urlOf(backend.proxyTo, `/v1/jmx/mbean/${encodeURIComponent(bean)}`),
            headers,
          },
          context.requestTimeoutMs,
        ),
      )
    const [nodes, queries] = await Promise.all([get(nodeManagerBean), get(queryManagerBean)])
    if (!nodes.ok) return statusOnly('UNHEALTHY', nodes.problem)
    if (!queries.ok) return statusOnly('UNHEALTHY', queries.problem)
    return statsFromJmx(nodes.value, queries.value)
  }
}
