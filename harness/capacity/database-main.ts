/**
 * The embedded PostgreSQL (PGlite) of a capacity run, in its own process: PGlite executes queries
 * synchronously on its thread, so inside the load generator it would stall autocannon, and inside
 * the gateway it would bill the database's CPU and memory to the gateway. Prints one JSON line
 * `{"msg":"database listening","url":...}` and stops on SIGTERM/SIGINT.
 */
import { startEmbeddedPostgres } from '../../gateway/store/embedded.ts'

async function main(): Promise<void> {
  const database = await startEmbeddedPostgres()
  process.stdout.write(`${JSON.stringify({ msg: 'database listening', url: database.url })}\n`)
  const stop = () => {
    database.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
