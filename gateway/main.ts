/**
 * `npm run gateway -- --config <config.yaml> [--seed N] [--data-dir DIR] [--log-level L]`
 */
import { parseArgs } from 'node:util'
import { CodedError } from '../common/errors.ts'
import { seedMax } from '../common/random.ts'
import { loadGatewayConfig } from './config.ts'
import { startGateway } from './index.ts'

const usage =
  'usage: npm run gateway -- --config <config.yaml> [--seed N] [--data-dir DIR] [--log-level info]'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      seed: { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(usage)
    return
  }
  if (values.config === undefined) throw new Error(`--config is required\n${usage}`)
  let seed: number | undefined
  if (values.seed !== undefined) {
    seed = Number(values.seed)
    if (!/^\d+$/.test(values.seed) || seed < 1 || seed > seedMax) {
      throw new Error(`--seed: expected an integer from 1 to ${seedMax} (got ${JSON.stringify(values.seed)})`)
    }
  }
  const config = await loadGatewayConfig(values.config)
  const gateway = await startGateway({
    config,
    ...(seed === undefined ? {} : { seed }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values.host === undefined ? {} : { host: values.host }),
    logLevel: values['log-level'] ?? 'info',
  })
  // One plain line as well, for people and for scripts that wait for start-up.
  process.stdout.write(
    `${JSON.stringify({ msg: 'gateway listening', url: gateway.url, port: gateway.port, seed: gateway.seed, databaseUrl: gateway.databaseUrl, pid: process.pid })}\n`,
  )
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`${JSON.stringify({ msg: 'gateway stopping', signal })}\n`)
    gateway.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`error while stopping: ${error.message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

main().catch((error: unknown) => {
  const code = error instanceof CodedError ? `${error.code}: ` : ''
  process.stderr.write(`${code}${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
