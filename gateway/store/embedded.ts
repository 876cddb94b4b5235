/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WASM) served over the wire protocol on an
 * ephemeral loopback port, so the gateway's `pg` code, a second gateway and mock coordinators all
 * connect to it like to any PostgreSQL server.
 *
 * PGlite is one session underneath: while one connection holds a transaction, every other
 * connection waits for it to end. Callers keep transactions short and never await another
 * connection inside one.
 */
import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
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
  try {
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true })
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
    let closing: Promise<void> | undefined
    return {
      url,
      dataDir,
      close() {
        closing ??= (async () => {
          await server.stop()
          await started.close()
        })()
        return closing
      },
    }
  } catch (error) {
    await db?.close().catch(() => undefined)
    throw gatewayError(
      'EMBEDDED_DATABASE_FAILED',
      `the embedded PostgreSQL (PGlite${dataDir === undefined ? ', in memory' : ` in ${dataDir}`}) could not start: ${error instanceof Error ? error.message : String(error)}`,
      { dataDir },
    )
  }
}
