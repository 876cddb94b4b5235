import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import { type RunningMockTrino, startMockTrino } from '../index.ts'

/** A mock coordinator whose etc folder holds the article's tree from docs/resource-groups.md. */
let root: string
let mock: RunningMockTrino
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'rg-mock-'))
  const etc = join(root, 'etc')
  mkdirSync(etc)
  const docs = readFileSync(new URL('../../docs/resource-groups.md', import.meta.url), 'utf8')
  writeFileSync(join(etc, 'resource-groups.json'), /```json\n([\s\S]*?)\n```/.exec(docs)?.[1] ?? '')
  writeFileSync(
    join(etc, 'resource-groups.properties'),
    'resource-groups.configuration-manager=file\nresource-groups.config-file=etc/resource-groups.json\n',
  )
  mock = await startMockTrino({ etcDir: etc, seed: 7 })
})
afterAll(async () => {
  await mock?.close()
  rmSync(root, { recursive: true, force: true })
})

/** Posts a statement and follows nextUri to the end, bounded. */
async function run(headers: Record<string, string>): Promise<{ state: string; errorName?: string }> {
  type Results = { nextUri?: string; stats: { state: string }; error?: { errorName: string } }
  let body = (await (
    await fetch(`${mock.url}/v1/statement`, {
      method: 'POST',
      headers: { 'X-Trino-User': 'admin', ...headers },
      body: 'SELECT 1',
    })
  ).json()) as Results
  for (let polls = 0; polls < 100 && body.nextUri !== undefined; polls++)
    body = (await (await fetch(body.nextUri)).json()) as Results
  return { state: body.stats.state, ...(body.error ? { errorName: body.error.errorName } : {}) }
}

describe('a mock coordinator with resource-groups.properties', () => {
  it('runs the article’s two-query check: the tagged query in adhoc.large_customer, the other in adhoc.default', async () => {
    expect(await run({ 'X-Trino-Source': 'python', 'X-Trino-Client-Tags': 'LargeCustomer' })).toEqual({
      state: 'FINISHED',
    })
    expect(await run({ 'X-Trino-Source': 'python' })).toEqual({ state: 'FINISHED' })
    const groups = await waitFor(
      () => {
        const records = mock.control.queries()
        return records.length === 2 ? records.map((record) => record.resourceGroupId) : undefined
      },
      { timeoutMs: 5_000, what: 'both queries recorded' },
    )
    expect(groups).toEqual([
      ['adhoc', 'large_customer'],
      ['adhoc', 'default'],
    ])
  })

  it('rejects a query no selector matches (no X-Trino-Source) with QUERY_REJECTED', async () => {
    expect(await run({})).toEqual({ state: 'FAILED', errorName: 'QUERY_REJECTED' })
  })

  it('answers /v1/resourceGroupState for instantiated groups and 404 for others', async () => {
    const response = await fetch(`${mock.url}/v1/resourceGroupState/adhoc`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      id: ['adhoc'],
      schedulingPolicy: 'WEIGHTED_FAIR',
      hardConcurrencyLimit: 50,
    })
    expect((await fetch(`${mock.url}/v1/resourceGroupState/nothing`)).status).toBe(404)
  })
})
