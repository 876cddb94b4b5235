/**
 * Helpers of the tests that load gateway processes with statement submissions and then read what
 * reached query_history: the load loops, the stored ids, the write-behind metrics, a table lock
 * that stalls the gateway's writes.
 */
import pg from 'pg'

/** Submits `SELECT 1 PAGES` on `connections` loops until stopped; keeps the ids answered 200. */
export function startLoad(url: string, connections: number) {
  const answered: string[] = []
  let running = true
  const loops = Array.from({ length: connections }, async () => {
    while (running) {
      try {
        const response = await fetch(`${url}/v1/statement`, {
          method: 'POST',
          headers: { 'x-trino-user': 'load' },
          body: 'SELECT 1 PAGES',
        })
        if (response.status === 200) answered.push(((await response.json()) as { id: string }).id)
        else await response.body?.cancel()
      } catch {
        // The gateway went away under the load: that is the point.
        if (running) await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
  })
  return {
    answered,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

export async function storedIds(databaseUrl: string, ids: readonly string[]): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const rows = await client.query<{ query_id: string }>(
      'SELECT query_id FROM query_history WHERE query_id = ANY($1::text[])',
      [ids],
    )
    return new Set(rows.rows.map((row) => row.query_id))
  } finally {
    await client.end()
  }
}

export interface ExposedSample {
  labels: Record<string, string>
  value: number
}

/** The samples of one metric in an OpenMetrics exposition (`GET /metrics`), in their order. */
export function metricSamples(text: string, name: string): ExposedSample[] {
  const samples: ExposedSample[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const labels: Record<string, string> = {}
    const close = line.lastIndexOf('}')
    if (line[name.length] === '{')
      for (const [, key, value] of line.slice(name.length + 1, close).matchAll(/(\w+)="([^"]*)"/g))
        labels[key as string] = value as string
    samples.push({ labels, value: Number(line.split(' ').at(-1)) })
  }
  return samples
}

/** The write-behind figures of one exposition, summed over its processes (every worker's). */
export function historyFigures(text: string): { pending: number; written: number } {
  // NaN when the exposition has no such metric, so a missing one never reads as 0.
  const total = (name: string) => {
    const samples = metricSamples(text, name)
    return samples.length === 0 ? Number.NaN : samples.reduce((sum, sample) => sum + sample.value, 0)
  }
  return {
    pending: total('trino_gateway_query_history_rows_pending'),
    written: total('trino_gateway_query_history_rows_written_total'),
  }
}

/** Holds query_history's lock in an open transaction: the gateway's INSERTs wait for release(). */
export async function lockHistory(databaseUrl: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  await client.query('BEGIN')
  await client.query('LOCK TABLE query_history IN EXCLUSIVE MODE')
  let released: Promise<void> | undefined
  return {
    release() {
      released ??= client.query('ROLLBACK').then(() => client.end())
      return released
    },
  }
}
