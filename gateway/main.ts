/**
 * `npm run gateway -- --config <config.yaml> [--seed N] [--data-dir DIR] [--log-level L] [--workers N]`
 *
 * With more than one worker (`--workers`, else the config's `workers`, else one per core) this
 * process becomes the primary of gateway/workers/ and forks the data-plane workers, which run this
 * file again and take their part from the primary.
 */
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { CodedError } from '../common/errors.ts'
import { integerFlag } from '../common/flags.ts'
import { randomSeed, seedMax } from '../common/random.ts'
import { type GatewayConfig, parseGatewayConfigFile, readConfigFile, workersMax } from './config.ts'
import { startGateway } from './index.ts'
import { startPrimary } from './workers/primary.ts'
import { connectToPrimary } from './workers/worker-link.ts'

const usage =
  'usage: npm run gateway -- --config <config.yaml> [--seed N] [--data-dir DIR] [--log-level info] [--workers N]'

interface Stoppable {
  close(): Promise<void>
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      seed: { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  const logLevel = values['log-level'] ?? 'info'
  const host = values.host ?? '127.0.0.1'
  if (cluster.isWorker) {
    await runWorker(host, logLevel)
    return
  }
  if (values.help) {
    console.log(usage)
    return
  }
  if (values.config === undefined) throw new Error(`--config is required\n${usage}`)
  const seed = integerFlag('seed', values.seed, { min: 1, max: seedMax })
  const workersFlag = integerFlag('workers', values.workers, { min: 1, max: workersMax })
  const configText = await readConfigFile(values.config)
  const config = parseGatewayConfigFile(configText, values.config, process.env)
  const workers = workersFlag ?? config.workers ?? defaultWorkers(config)
  if (workers > 1 && usesEmbeddedDatabase(config)) {
    process.stdout.write(
      `${JSON.stringify({ level: 40, time: Date.now(), workers, msg: embeddedWorkersWarning })}\n`,
    )
  }
  let gateway: Stoppable & { url: string; port: number; seed: number; databaseUrl: string }
  if (workers === 1) {
    gateway = await startGateway({
      config,
      ...(seed === undefined ? {} : { seed }),
      ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
      host,
      logLevel,
    })
  } else {
    gateway = await startPrimary({
      config: { ...config, workers },
      configText,
      workers,
      seed: seed ?? randomSeed(),
      dataDir: values['data-dir'],
      host,
      logLevel,
    })
  }
  // One plain line as well, for people and for scripts that wait for start-up.
  process.stdout.write(
    `${JSON.stringify({ msg: 'gateway listening', url: gateway.url, port: gateway.port, seed: gateway.seed, databaseUrl: gateway.databaseUrl, pid: process.pid, workers })}\n`,
  )
  stopOnSignals(gateway)
}

/**
 * One per core with a PostgreSQL server; one with the embedded database, which is a single
 * session that every worker's connections would share (see embeddedWorkersWarning).
 */
function defaultWorkers(config: GatewayConfig): number {
  return usesEmbeddedDatabase(config) ? 1 : availableParallelism()
}

function usesEmbeddedDatabase(config: GatewayConfig): boolean {
  return config.dataStore.jdbcUrl === undefined || config.dataStore.jdbcUrl === ''
}

const embeddedWorkersWarning =
  'workers > 1 on the embedded database: PGlite runs every connection in one session, and a transaction on one connection while two others write can lose a write (pglite-socket 0.2); use dataStore.jdbcUrl with workers, or workers: 1'

/** A data-plane worker: its config, seed and shared state come from the primary. */
async function runWorker(host: string, logLevel: string): Promise<void> {
  const link = await connectToPrimary()
  const config = parseGatewayConfigFile(link.init.configText, link.init.configSource, process.env)
  const gateway = await startGateway({ config, worker: link, host, logLevel })
  link.onStop((reason) => stop(gateway, reason))
  stopOnSignals(gateway)
}

let stopping = false
function stop(gateway: Stoppable, reason: string): void {
  if (stopping) return
  stopping = true
  process.stdout.write(
    `${JSON.stringify({ msg: 'gateway stopping', signal: reason, pid: process.pid, worker: cluster.isWorker })}\n`,
  )
  gateway.close().then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`error while stopping: ${error.message}\n`)
      process.exit(1)
    },
  )
}

function stopOnSignals(gateway: Stoppable): void {
  process.on('SIGINT', () => stop(gateway, 'SIGINT'))
  process.on('SIGTERM', () => stop(gateway, 'SIGTERM'))
}

main().catch((error: unknown) => {
  const code = error instanceof CodedError ? `${error.code}: ` : ''
  process.stderr.write(`${code}${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
