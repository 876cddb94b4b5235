/** The gateway's own embedded PostgreSQL: these run whatever TGL_TEST_DATABASE says. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../common/wait.ts'
import { openStore } from './index.ts'
import { loadMigrations } from './migrations.ts'

let scratch: string

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tgl-store-'))
})

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

describe('embedded store', () => {
  it('serves a postgres:// URL on loopback that another client can use, and stops serving on close', async () => {
    const logged: string[] = []
    const store = await openStore({
      logger: { info: (_fields, message) => logged.push(message), warn() {}, error() {} },
    })
    expect(store.embedded).toBe(true)
    expect(store.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/)
    expect(logged).toContain('embedded PostgreSQL (PGlite, in memory) listening')

    const client = new pg.Client({ connectionString: store.url })
    await client.connect()
    await client.query(
      "INSERT INTO gateway_backend (name, routing_group, backend_url, active) VALUES ('from-outside', 'adhoc', 'http://x', true)",
    )
    await client.end()
    expect((await store.backends.get('from-outside'))?.proxyTo).toBe('http://x')

    await store.close()
    await store.close()
    const late = new pg.Client({ connectionString: store.url, connectionTimeoutMillis: 5_000 })
    await expect(late.connect()).rejects.toThrow()
  })

  it('keeps what was written before the gateway was killed, and lets one process at a time hold the data directory', async () => {
    const dataDir = join(scratch, 'data')
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./hold-data-dir.fixture.ts', import.meta.url)), dataDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const exited = once(holder, 'exit')
    try {
      let output = ''
      holder.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
      })
      await waitFor(() => output.includes('ready'), {
        timeoutMs: 60_000,
        what: 'the child gateway store to write',
      })

      // A second process on the same directory would corrupt it: refused while the first runs.
      await expect(openStore({ dataDir })).rejects.toMatchObject({
        code: 'EMBEDDED_DATABASE_FAILED',
        message: expect.stringContaining(`in use by the embedded PostgreSQL of process ${holder.pid}`),
      })
    } finally {
      holder.kill('SIGKILL')
      await exited
    }

    // The killed process left its lock behind; it is taken over, and the rows are there.
    const second = await openStore({ dataDir })
    try {
      expect((await second.backends.get('persisted'))?.proxyTo).toBe('http://trino-a:8080')
      expect((await second.history.findByQueryId('20240101_000000_00001_persi'))?.backendUrl).toBe(
        'http://trino-a:8080',
      )
      const history = await second.query<{ version: number }>('SELECT version FROM gateway_schema_history')
      expect(history).toHaveLength((await loadMigrations()).length)
    } finally {
      await second.close()
    }
    // A clean close leaves no lock behind.
    await expect(access(join(dataDir, 'trino-gateway-lab.lock'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses a non-PostgreSQL jdbcUrl before starting anything', async () => {
    await expect(openStore({ dataStore: { jdbcUrl: 'jdbc:mysql://db:3306/gateway' } })).rejects.toMatchObject(
      {
        code: 'DATASTORE_NOT_SUPPORTED',
      },
    )
  })
})
