/**
 * Runs the gateway as its own operating-system process, exactly as `npm run gateway` does (node
 * flags included), for tests that need process boundaries: two gateways on one database, RSS read
 * from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import packageJson from '../../package.json' with { type: 'json' }

export interface GatewayProcess {
  url: string
  /** The gateway's own process (with `workers` > 1, the primary). */
  pid: number
  seed: number
  child: ChildProcess
  /** Every stdout line so far (JSON log lines and the listening line). */
  lines: string[]
  /** SIGTERM, then the exit code once the process has gone. */
  stop(): Promise<number | null>
}

/** How long a gateway process may take to print its listening line (PGlite-free: a server URL). */
const gatewayProcessStartMsMax = 60_000

/**
 * The config lines every gateway-process test starts from: a port of the kernel's choosing, the
 * database at `databaseUrl`, and monitor rounds `taskDelay` apart.
 */
export function processConfigLines(databaseUrl: string, taskDelay: string): string[] {
  return [
    'serverConfig:',
    '  http-server.http.port: 0',
    'dataStore:',
    `  jdbcUrl: ${databaseUrl}`,
    'monitor:',
    `  taskDelay: ${taskDelay}`,
  ]
}

export async function startGatewayProcess(options: {
  configPath: string
  configLines: readonly string[]
  seed: number
  /** `--workers`; 1 (one process, whatever the machine) unless a test is about workers. */
  workers?: number
  /** `--log-level`; warn unless a test reads info lines (workers started, exited). */
  logLevel?: string
  dataDir?: string
}): Promise<GatewayProcess> {
  await writeFile(options.configPath, `${options.configLines.join('\n')}\n`)
  const [, ...scriptArgs] = packageJson.scripts.gateway.split(' ')
  const child = spawn(
    join(process.cwd(), 'node_modules/.bin/tsx'),
    [
      ...scriptArgs,
      '--config',
      options.configPath,
      '--seed',
      String(options.seed),
      '--log-level',
      options.logLevel ?? 'warn',
      '--workers',
      String(options.workers ?? 1),
      ...(options.dataDir === undefined ? [] : ['--data-dir', options.dataDir]),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const output: string[] = []
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  lines.on('line', (line) => output.push(line))
  const started = await new Promise<{ url: string; pid: number; seed: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gateway did not listen within ${gatewayProcessStartMsMax} ms`))
    }, gatewayProcessStartMsMax)
    lines.on('line', (line) => {
      if (!line.includes('"gateway listening"')) return
      clearTimeout(timer)
      resolve(JSON.parse(line) as { url: string; pid: number; seed: number })
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code} before listening`))
    })
  })
  return {
    ...started,
    child,
    lines: output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const [code] = (await once(child, 'exit')) as [number | null]
      return code
    },
  }
}
