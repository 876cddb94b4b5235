import { parseArgs } from 'node:util'
import { z } from 'zod'
import { describeIssues } from '../common/errors.ts'
import { randomSeed, seedMax } from '../common/random.ts'
import { loadMockConfig } from './config.ts'
import { mockError } from './errors.ts'
import { startMockTrino } from './index.ts'

/** `npm run mock-trino -- --port <p> [--etc <dir>] [--config <mock.yaml>] [--seed N]` */

const usage =
  'usage: npm run mock-trino -- --port <p> [--etc <dir>] [--config <mock.yaml>] [--seed N] [--host 127.0.0.1] [--name <name>] [--log-level info]'

const cliSchema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65_535).optional(),
  etc: z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  seed: z.coerce.number().int().min(1).max(seedMax).optional(),
  host: z.string().min(1).default('127.0.0.1'),
  name: z.string().min(1).optional(),
  'log-level': z.enum(['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
})

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      etc: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string' },
      host: { type: 'string' },
      name: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(usage)
    return
  }
  const { help: _help, ...flags } = values
  const parsed = cliSchema.safeParse(flags)
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues, flags, '--')
    throw mockError('MOCK_CLI_INVALID', `${lines.join('\n')}\n${usage}`.replaceAll('--.', '--'))
  }
  const cli = parsed.data
  const seed = cli.seed ?? randomSeed()
  const mock = cli.config === undefined ? undefined : loadMockConfig(cli.config)
  const running = await startMockTrino({
    host: cli.host,
    seed,
    logLevel: cli['log-level'],
    ...(cli.port === undefined ? {} : { port: cli.port }),
    ...(cli.etc === undefined ? {} : { etcDir: cli.etc }),
    ...(cli.name === undefined ? {} : { name: cli.name }),
    ...(mock === undefined ? {} : { mock }),
  })
  // The seed is printed so the run can be repeated exactly.
  console.log(`mock-trino ${running.name} listening on ${running.url} (seed ${seed})`)
  const stop = (): void => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error: unknown) => {
  const code = (error as { code?: string }).code
  console.error(code === undefined ? String(error) : `${code}: ${(error as Error).message}`)
  process.exit(2)
})
