/** Builders shared by the resource-group tests. */
import type { QueryDescriptor } from '../scheduler.ts'

export function query(
  queryId: string,
  fields: Partial<Omit<QueryDescriptor, 'queryId'>> = {},
): QueryDescriptor {
  return {
    queryId,
    user: fields.user ?? 'alice',
    source: 'source' in fields ? fields.source : 'trino-js-client',
    clientTags: fields.clientTags ?? [],
    queryType: fields.queryType ?? 'SELECT',
    resourceEstimate: fields.resourceEstimate ?? {},
    priority: fields.priority ?? 1,
    createdAtMs: fields.createdAtMs ?? 0,
  }
}
