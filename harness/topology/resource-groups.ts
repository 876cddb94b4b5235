import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { z } from 'zod'
import { HarnessError } from '../errors.ts'
import type { ResourceGroupLimits, ResourceGroupsSetup } from '../scenario/schema.ts'
import type { AdminClient } from './admin.ts'

/**
 * Resource groups through the gateway's resource-group API, by Trino Gateway's paths and the
 * article's JSON, so any gateway with that API (started here or given by URL) is set up the same
 * way; and the etc/ folder of a coordinator that reads them from the run's database.
 */

/** A row of `GET /trino/resourcegroup/read`, as far as the harness reads it. */
const groupRowSchema = z.looseObject({
  resourceGroupId: z.number().int(),
  name: z.string(),
  softMemoryLimit: z.string().nullable(),
  maxQueued: z.number().int(),
  softConcurrencyLimit: z.number().int().nullable(),
  hardConcurrencyLimit: z.number().int(),
  schedulingPolicy: z.string().nullable(),
  schedulingWeight: z.number().int().nullable(),
  jmxExport: z.boolean().nullable(),
  softCpuLimit: z.string().nullable(),
  hardCpuLimit: z.string().nullable(),
  parent: z.number().int().nullable(),
  environment: z.string().nullable(),
})
type GroupRow = z.output<typeof groupRowSchema>

async function readGroups(admin: AdminClient): Promise<GroupRow[]> {
  const text = await admin.expectOk('GET', '/trino/resourcegroup/read')
  const parsed = z.array(groupRowSchema).safeParse(JSON.parse(text))
  if (!parsed.success) {
    throw new HarnessError(
      'ADMIN_API_FAILED',
      `GET ${admin.baseUrl}/trino/resourcegroup/read: unexpected body ${text.slice(0, 300)}`,
    )
  }
  return parsed.data
}

/** Dot-joined path of every group of one environment (rows of other environments are ignored). */
export function groupPathsById(rows: readonly GroupRow[], environment: string): Map<number, string> {
  const byId = new Map(rows.map((row) => [row.resourceGroupId, row]))
  const paths = new Map<number, string>()
  const pathOf = (row: GroupRow, depth: number): string => {
    // A cycle cannot be written through the API; the bound keeps a corrupt table from looping.
    const parent = row.parent === null || depth > byId.size ? undefined : byId.get(row.parent)
    return parent === undefined ? row.name : `${pathOf(parent, depth + 1)}.${row.name}`
  }
  for (const row of rows) if (row.environment === environment) paths.set(row.resourceGroupId, pathOf(row, 0))
  return paths
}

/** The article's camelCase fields of a group, nulls for what the scenario leaves out. */
function limitsJson(limits: ResourceGroupLimits): Record<string, unknown> {
  return {
    softMemoryLimit: limits.softMemoryLimit ?? '100%',
    maxQueued: limits.maxQueued,
    softConcurrencyLimit: limits.softConcurrencyLimit ?? null,
    hardConcurrencyLimit: limits.hardConcurrencyLimit,
    schedulingPolicy: limits.schedulingPolicy ?? null,
    schedulingWeight: limits.schedulingWeight ?? null,
    jmxExport: limits.jmxExport ?? null,
    softCpuLimit: limits.softCpuLimit ?? null,
    hardCpuLimit: limits.hardCpuLimit ?? null,
  }
}

/**
 * Replaces the environment's resource groups with the scenario's: groups left by an earlier run
 * on a reused database are deleted first (their sub-groups and selectors go with them), then the
 * groups are created parents first, then the selectors and global properties. Returns the ids by path.
 */
export async function applyResourceGroups(
  admin: AdminClient,
  setup: ResourceGroupsSetup,
): Promise<Map<string, number>> {
  const { environment } = setup
  const existing = await readGroups(admin)
  for (const row of existing) {
    if (row.environment === environment && row.parent === null) {
      await admin.expectOk('POST', `/trino/resourcegroup/delete/${row.resourceGroupId}`)
    }
  }
  const ids = new Map<string, number>()
  for (const group of setup.groups) {
    const parentId = group.parent === undefined ? null : ids.get(group.parent)
    const text = await admin.expectOk('POST', '/trino/resourcegroup/create', {
      name: group.name,
      ...limitsJson(group),
      parent: parentId,
      environment,
    })
    const created = groupRowSchema.parse(JSON.parse(text))
    ids.set(
      group.parent === undefined ? group.name : `${group.parent}.${group.name}`,
      created.resourceGroupId,
    )
  }
  for (const selector of setup.selectors) {
    await admin.expectOk('POST', '/trino/selector/create', {
      priority: selector.priority,
      userRegex: selector.userRegex ?? null,
      sourceRegex: selector.sourceRegex ?? null,
      queryType: selector.queryType ?? null,
      clientTags: selector.clientTags === undefined ? null : JSON.stringify(selector.clientTags),
      selectorResourceEstimate:
        selector.selectorResourceEstimate === undefined
          ? null
          : JSON.stringify(selector.selectorResourceEstimate),
      resourceGroupId: ids.get(selector.group),
    })
  }
  for (const [name, value] of Object.entries(setup.globalProperties ?? {})) {
    if (value !== undefined) await admin.expectOk('POST', '/trino/globalproperty/create', { name, value })
  }
  return ids
}

/** `POST /trino/resourcegroup/update` with the group's current row and the given fields changed. */
export async function updateResourceGroup(
  admin: AdminClient,
  environment: string,
  groupPath: string,
  set: ResourceGroupLimits,
): Promise<void> {
  const rows = await readGroups(admin)
  const paths = groupPathsById(rows, environment)
  const id = [...paths].find(([, candidate]) => candidate === groupPath)?.[0]
  const row = rows.find((candidate) => candidate.resourceGroupId === id)
  if (row === undefined) {
    throw new HarnessError(
      'ACTION_FAILED',
      `no resource group ${groupPath} in environment ${environment} (the gateway has ${[...paths.values()].join(', ') || 'none'})`,
    )
  }
  const changed = Object.fromEntries(Object.entries(set).filter(([, value]) => value !== undefined))
  await admin.expectOk('POST', '/trino/resourcegroup/update', { ...row, ...changed })
}

/** `jdbc:postgresql://host:port/db` and the credentials of a `postgres://` (or jdbc) URL. */
export function jdbcPropertiesOf(databaseUrl: string): Record<string, string> {
  if (/^jdbc:/i.test(databaseUrl)) return { 'resource-groups.config-db-url': databaseUrl }
  const url = new URL(databaseUrl)
  const properties: Record<string, string> = {
    'resource-groups.config-db-url': `jdbc:postgresql://${url.host}${url.pathname}`,
  }
  if (url.username !== '') properties['resource-groups.config-db-user'] = decodeURIComponent(url.username)
  if (url.password !== '') properties['resource-groups.config-db-password'] = decodeURIComponent(url.password)
  return properties
}

/** Trino's db manager refreshes every second at most; the mock too. */
export const dbRefreshInterval = '1s'

/**
 * Writes a coordinator etc/ folder whose resource groups come from the run's database
 * (`configuration-manager=db`), filtered by `node.environment`. Returns the folder.
 */
export async function writeDbResourceGroupsEtc(
  clusterName: string,
  databaseUrl: string,
  environment: string,
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `tgl-etc-${clusterName}-`))
  const properties = {
    'resource-groups.configuration-manager': 'db',
    ...jdbcPropertiesOf(databaseUrl),
    'resource-groups.refresh-interval': dbRefreshInterval,
  }
  await writeFile(
    path.join(dir, 'resource-groups.properties'),
    `${Object.entries(properties)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n')}\n`,
  )
  await writeFile(path.join(dir, 'node.properties'), `node.environment=${environment}\n`)
  return dir
}
