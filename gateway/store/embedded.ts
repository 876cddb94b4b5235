/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WASM) served over the wire protocol on an
 * ephemeral loopback port, so the gateway's `pg` code, a second gateway and mock coordinators all
 * connect to it like to any PostgreSQL server.
 *
 * PGlite is one session underneath: while one connection holds a transaction, every other
 * connection waits for it to end. Callers keep transactions short and never await another
 * connection inside one.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { CodedError } from '../../common/errors.ts'
import { gatewayError } from '../errors.ts'

/** Connections the socket server accepts at once: this gateway's pool plus other processes'. */
export const embeddedConnectionsMax = 100

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string
  /** The data directory, or undefined when the database lives in memory. */
  readonly dataDir: string | undefined
  close(): Promise<void>
}

export interface EmbeddedPostgresOptions {
  /** Persist the database in this directory; in memory when absent. */
  dataDir?: string | undefined
  /**
   * For processes that start many in-memory databases (test workers): keep a copy of a freshly
   * initialized cluster (about 40 MB) and start later ones from it, several times faster than
   * running initdb again. Off by default: a gateway starts one database.
   */
  reuseInitializedCluster?: boolean | undefined
}

/** A dump of a fresh, never written cluster, taken by the first in-memory start that asked for it. */
let initializedCluster: Promise<Blob> | undefined

async function createInMemory(reuseInitializedCluster: boolean): Promise<PGlite> {
  if (!reuseInitializedCluster) return PGlite.create()
  const template = await initializedCluster?.catch(() => undefined)
  if (template !== undefined) return PGlite.create({ loadDataDir: template })
  const db = await PGlite.create()
  // Dumped before anyone can connect, so the copy holds nothing but initdb's output.
  initializedCluster ??= db.dumpDataDir('none')
  await initializedCluster.catch(() => undefined)
  return db
}

/** Starts PGlite (in memory, or persisted in `dataDir`) and serves it on 127.0.0.1, port 0. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const dataDir = options.dataDir
  let db: PGlite | undefined
  let releaseLock: (() => Promise<void>) | undefined
  try {
    if (dataDir !== undefined) {
      await mkdir(dataDir, { recursive: true })
      releaseLock = await lockDataDir(dataDir)
    }
    db =
      dataDir === undefined
        ? await createInMemory(options.reuseInitializedCluster === true)
        : await PGlite.create(dataDir)
    const server = new PGLiteSocketServer({
      db,
      port: 0,
      host: '127.0.0.1',
      maxConnections: embeddedConnectionsMax,
    })
    await server.start()
    const url = `postgres://postgres@${server.getServerConn()}/postgres`
    const started = db
    const lock = releaseLock
    let closing: Promise<void> | undefined
    return {
      url,
      dataDir,
      close() {
        closing ??= (async () => {
          await server.stop()
          await started.close()
          await lock?.()
        })()
        return closing
      },
    }
  } catch (error) {
    await db?.close().catch(() => undefined)
    await releaseLock?.().catch(() => undefined)
    if (error instanceof CodedError) throw error
    throw gatewayError(
      'EMBEDDED_DATABASE_FAILED',
      `the embedded PostgreSQL (PGlite${dataDir === undefined ? ', in memory' : ` in ${dataDir}`}) could not start: ${error instanceof Error ? error.message : String(error)}`,
      { dataDir },
    )
  }
}

const lockFileName = 'trino-gateway-lab.lock'

/**
 * Two processes opening one PGlite directory corrupt it, so the directory holds a lock file naming
 * its owner's pid. A lock left by a process that no longer runs (killed, crashed) is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, lockFileName)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return () => unlink(path).catch(() => undefined)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim())
    if (Number.isInteger(owner) && owner > 0 && processIsRunning(owner)) {
      throw gatewayError(
        'EMBEDDED_DATABASE_FAILED',
        `the data directory ${dataDir} is in use by the embedded PostgreSQL of process ${owner}; a second gateway should use that gateway's postgres:// URL as dataStore.jdbcUrl instead`,
        { dataDir, ownerPid: owner },
      )
    }
    await unlink(path).catch(() => undefined)
  }
  throw gatewayError(
    'EMBEDDED_DATABASE_FAILED',
    `could not take the lock ${path} of the data directory ${dataDir}`,
    {
      dataDir,
    },
  )
}

function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
