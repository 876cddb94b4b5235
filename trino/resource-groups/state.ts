/**
 * `GET /v1/resourceGroupState/{segments}`: Trino's `ResourceGroupInfo` JSON for one group instance.
 * Null and absent fields are omitted, as airlift serializes them.
 */
import type { ResourceGroupScheduler, ResourceGroupSnapshot } from './scheduler.ts'
import { formatDataSize, formatDurationSuccinct } from './units.ts'

/** Trino reports an unlimited memory limit as Long.MAX_VALUE bytes. */
const unlimitedBytes = 2 ** 63

/** What the coordinator knows about a running query beyond the scheduler (query text, engine state). */
export interface QueryStateDetails {
  queryState?: string | undefined
  query?: string | undefined
  catalog?: string | undefined
  schema?: string | undefined
  clientInfo?: string | undefined
}

export interface QueryStateInfoJson {
  queryId: string
  queryState: string
  resourceGroupId: readonly string[]
  query?: string
  createTime: string
  user: string
  source?: string
  clientInfo?: string
  catalog?: string
  schema?: string
}

export interface ResourceGroupInfoJson {
  id: readonly string[]
  state: string
  schedulingPolicy: string
  schedulingWeight: number
  softMemoryLimit: string
  softConcurrencyLimit: number
  hardConcurrencyLimit: number
  maxQueuedQueries: number
  memoryUsage: string
  cpuUsage: string
  numQueuedQueries: number
  numRunningQueries: number
  numEligibleSubGroups: number
  subGroups?: ResourceGroupInfoJson[]
  runningQueries?: QueryStateInfoJson[]
}

/** Splits `/v1/resourceGroupState/a/b%2Ec` into URL-decoded segments; undefined when a segment is empty or malformed. */
export function parseResourceGroupPath(path: string): string[] | undefined {
  const segments = path.split('/')
  // A trailing slash is tolerated; any other empty segment is not a group id.
  if (segments.length > 1 && segments.at(-1) === '') segments.pop()
  try {
    const decoded = segments.map((segment) => decodeURIComponent(segment))
    return decoded.some((segment) => segment === '') ? undefined : decoded
  } catch {
    return undefined
  }
}

/** The body of `/v1/resourceGroupState/...`, or undefined for Trino's 404 (no such instance). */
export function resourceGroupStateJson(
  scheduler: ResourceGroupScheduler,
  resourceGroupId: readonly string[],
  details: (queryId: string) => QueryStateDetails = () => ({}),
): ResourceGroupInfoJson | undefined {
  const snapshot = scheduler.groupSnapshot(resourceGroupId)
  if (snapshot === undefined) return undefined
  const summaries = snapshot.subGroupIds
    .map((id) => scheduler.groupSnapshot(id))
    .filter((child): child is ResourceGroupSnapshot => child !== undefined)
    .filter((child) => child.numRunningQueries + child.numQueuedQueries > 0)
    .map(summary)
  const runningQueries = snapshot.runningQueryIds.flatMap((queryId) => {
    const info = scheduler.queryInfo(queryId)
    if (info === undefined) return []
    const extra = details(queryId)
    const json: QueryStateInfoJson = {
      queryId,
      queryState: extra.queryState ?? 'RUNNING',
      resourceGroupId: info.resourceGroupId,
      createTime: new Date(info.createdAtMs).toISOString(),
      user: info.user,
    }
    if (extra.query !== undefined) json.query = extra.query
    if (info.source !== undefined) json.source = info.source
    if (extra.clientInfo !== undefined) json.clientInfo = extra.clientInfo
    if (extra.catalog !== undefined) json.catalog = extra.catalog
    if (extra.schema !== undefined) json.schema = extra.schema
    return [json]
  })
  return { ...summary(snapshot), subGroups: summaries, runningQueries }
}

function summary(snapshot: ResourceGroupSnapshot): ResourceGroupInfoJson {
  return {
    id: snapshot.id,
    state: snapshot.state,
    schedulingPolicy: snapshot.schedulingPolicy.toUpperCase(),
    schedulingWeight: snapshot.schedulingWeight,
    softMemoryLimit: formatDataSize(
      Number.isFinite(snapshot.softMemoryLimitBytes) ? snapshot.softMemoryLimitBytes : unlimitedBytes,
    ),
    softConcurrencyLimit: snapshot.softConcurrencyLimit,
    hardConcurrencyLimit: snapshot.hardConcurrencyLimit,
    maxQueuedQueries: snapshot.maxQueuedQueries,
    memoryUsage: formatDataSize(snapshot.memoryUsageBytes),
    cpuUsage: formatDurationSuccinct(snapshot.cpuUsageMs),
    numQueuedQueries: snapshot.numQueuedQueries,
    numRunningQueries: snapshot.numRunningQueries,
    numEligibleSubGroups: snapshot.numEligibleSubGroups,
  }
}
