import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { stringify } from 'yaml'
import { gatewayOutDir } from '../../scripts/build.ts'
import { HarnessError } from '../errors.ts'

/**
 * The processes of a capacity run: the embedded database, each mock coordinator and the gateway
 * run as children of the load generator, so each has its own event loop and the gateway's CPU time
 * and resident memory can be read from /proc without anyone else's work mixed in.
 */

const repositoryRoot = path.resolve(import.meta.dirname, '../..')
/** How long a child may take to print its listening line (tsx compiles on a loaded machine). */
export const childStartTimeoutMs = 60_000
/** How long a child may take to exit after SIGTERM before it is killed. */
export const childStopTimeoutMs = 10_000
/** Linux clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat times. */
export const clockTicksPerSecond = 100

/** Children started and not yet exited, so an interrupt can stop them (see `stopLiveChildren`). */
const liveChildren = new Set<ChildProcess>()

/** Temporary folders of runs in progress (configs, etc/ copies), removed on an interrupt too. */
const liveWorkDirs = new Set<string>()

export function trackWorkDir(dir: string, live: boolean): void {
  if (live) liveWorkDirs.add(dir)
  else liveWorkDirs.delete(dir)
}

/** Sends SIGTERM to every child still running and removes the work folders: for an interrupt, where no `finally` runs. */
export function stopLiveChildren(): void {
  for (const child of liveChildren) child.kill('SIGTERM')
  for (const dir of liveWorkDirs) rmSync(dir, { recursive: true, force: true })
}

export interface ChildHandle {
  pid: number
  /** What the child printed on its ready line, matched by `ready`. */
  readyMatch: RegExpExecArray
  stop(): Promise<void>
}

export interface SpawnOptions {
  what: string
  /** Node flags before the script (e.g. --cpu-prof); `spawnTsx` adds `--import tsx` after them. */
  nodeFlags?: readonly string[]
  script: string
  args: readonly string[]
  ready: RegExp
}

/** Starts `node [flags] --import tsx <script> <args>` (TypeScript sources) and waits for its ready line on stdout. */
export function spawnTsx(options: SpawnOptions): Promise<ChildHandle> {
  return spawnNode({ ...options, nodeFlags: [...(options.nodeFlags ?? []), '--import', 'tsx'] })
}

/** Starts `node [flags] <script> <args>` in the repository and waits for its ready line on stdout. */
export async function spawnNode(options: SpawnOptions): Promise<ChildHandle> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), options.script, ...options.args],
    {
      cwd: repositoryRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  liveChildren.add(child)
  child.once('exit', () => liveChildren.delete(child))
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  let exited = false
  const stop = async () => {
    if (exited || child.exitCode !== null || child.signalCode !== null) return
    const exit = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), childStopTimeoutMs)
    await exit
    clearTimeout(timer)
  }
  try {
    const readyMatch = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ready line within ${childStartTimeoutMs} ms`)),
        childStartTimeoutMs,
      )
      lines.on('line', (line) => {
        const match = options.ready.exec(line)
        if (match !== null) {
          clearTimeout(timer)
          resolve(match)
        }
      })
      child.on('exit', (code, signal) => {
        exited = true
        clearTimeout(timer)
        reject(new Error(`exited (${signal ?? code}) before it was ready: ${stderr.trim().slice(-1000)}`))
      })
      child.on('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
    })
    // Keep draining stdout so the child never blocks on a full pipe.
    child.stdout?.resume()
    return { pid: child.pid as number, readyMatch, stop }
  } catch (error) {
    await stop().catch(() => undefined)
    throw new HarnessError('TOPOLOGY_START_FAILED', `${options.what}: ${(error as Error).message}`)
  }
}

export async function startDatabaseProcess(): Promise<{ url: string; handle: ChildHandle }> {
  const handle = await spawnTsx({
    what: 'the embedded database process',
    script: 'harness/capacity/database-main.ts',
    args: [],
    ready: /"msg":"database listening","url":"([^"]+)"/,
  })
  return { url: handle.readyMatch[1] as string, handle }
}

export interface MockProcessSpec {
  name: string
  seed: number
  /** config.properties keys written into the mock's etc/ (over those of `etcDir`). */
  configProperties: Readonly<Record<string, string>>
  /** node.properties keys (node.environment). */
  nodeProperties?: Readonly<Record<string, string>> | undefined
  /** An etc/ folder to start from (copied, then `configProperties` applied). */
  etcDir?: string | undefined
  /** mock.yaml content, when the cluster has a load model or faults. */
  mockYaml?: unknown
}

/** Replaces or appends `key=value` lines of a Java properties text. */
export function withProperties(text: string, properties: Readonly<Record<string, string>>): string {
  const keys = new Set(Object.keys(properties))
  const kept = text
    .split('\n')
    .filter((line) => {
      const key = /^\s*([^#!=:\s][^=:\s]*)\s*[=:]/.exec(line)?.[1]
      return key === undefined || !keys.has(key)
    })
    .filter((line, index, all) => line !== '' || index < all.length - 1)
  return [...kept, ...Object.entries(properties).map(([key, value]) => `${key}=${value}`), ''].join('\n')
}

export async function startMockProcess(
  spec: MockProcessSpec,
  workDir: string,
): Promise<{ url: string; handle: ChildHandle }> {
  const etc = path.join(workDir, `etc-${spec.name}`)
  await mkdir(etc, { recursive: true })
  if (spec.etcDir !== undefined) await cp(spec.etcDir, etc, { recursive: true })
  const configFile = path.join(etc, 'config.properties')
  const existing = await readFile(configFile, 'utf8').catch(() => '')
  await writeFile(configFile, withProperties(existing, spec.configProperties))
  if (spec.nodeProperties !== undefined && Object.keys(spec.nodeProperties).length > 0) {
    const nodeFile = path.join(etc, 'node.properties')
    const nodeText = await readFile(nodeFile, 'utf8').catch(() => '')
    await writeFile(nodeFile, withProperties(nodeText, spec.nodeProperties))
  }
  const args = [
    '--port',
    '0',
    '--seed',
    String(spec.seed),
    '--name',
    spec.name,
    '--etc',
    etc,
    '--log-level',
    'silent',
  ]
  if (spec.mockYaml !== undefined) {
    const mockFile = path.join(workDir, `mock-${spec.name}.yaml`)
    await writeFile(mockFile, stringify(spec.mockYaml))
    args.push('--config', mockFile)
  }
  const handle = await spawnTsx({
    what: `mock coordinator ${spec.name}`,
    script: 'mock-trino/main.ts',
    args,
    ready: /listening on (http:\/\/\S+)/,
  })
  return { url: handle.readyMatch[1] as string, handle }
}

/** The file `npm start` runs: the entry of `npm run build`'s bundle, relative to the repository. */
export const startScriptEntry = path.relative(repositoryRoot, path.join(gatewayOutDir, 'main.js'))

/**
 * The Node flags of `npm start` (e.g. `--max-semi-space-size=4`), so the measured process is the one
 * operators start: `"node <flags> dist/gateway/main.js"` gives `<flags>`. Flags take their values
 * with `=`. Any other form of the script is refused: the run would measure something else.
 */
export function startScriptNodeFlags(script: string | undefined): string[] {
  const expected = `package.json scripts.start must be "node [--flag=value ...] ${startScriptEntry}"`
  if (script === undefined) throw new HarnessError('TOPOLOGY_START_FAILED', `${expected}; it has none`)
  const words = script.trim().split(/\s+/)
  const flags: string[] = []
  let index = 1
  for (; index < words.length && (words[index] as string).startsWith('-'); index++) {
    flags.push(words[index] as string)
  }
  if (words[0] !== 'node' || words[index] !== startScriptEntry) {
    throw new HarnessError('TOPOLOGY_START_FAILED', `${expected} (got ${JSON.stringify(script)})`)
  }
  return flags
}

export async function readStartScriptNodeFlags(): Promise<string[]> {
  const manifest = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>
  }
  return startScriptNodeFlags(manifest.scripts?.start)
}

/**
 * Starts the gateway's production build (`mainFile`, from `buildGateway`) with plain `node`, as
 * `npm start` does: `node <nodeFlags> [--cpu-prof ...] <mainFile> --config <written config> ...`.
 */
export async function startGatewayProcess(options: {
  mainFile: string
  config: Record<string, unknown>
  seed: number
  workDir: string
  cpuProfileDir?: string | undefined
  nodeFlags: readonly string[]
}): Promise<{ url: string; handle: ChildHandle }> {
  const configFile = path.join(options.workDir, 'gateway-config.yaml')
  await writeFile(configFile, stringify(options.config))
  const handle = await spawnNode({
    what: 'the gateway process',
    nodeFlags: [
      ...options.nodeFlags,
      ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir]),
    ],
    script: options.mainFile,
    args: ['--config', configFile, '--seed', String(options.seed), '--log-level', 'warn'],
    ready: /"msg":"gateway listening","url":"([^"]+)"/,
  })
  return { url: handle.readyMatch[1] as string, handle }
}

export interface ProcessSample {
  cpuSeconds: number
  rssMb: number
}

/** Parses /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after the `(comm)`. */
export function parseProcStatCpuSeconds(stat: string, ticksPerSecond = clockTicksPerSecond): number {
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // afterComm[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(afterComm[11])
  const stime = Number(afterComm[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`unreadable /proc stat: ${stat.slice(0, 200)}`)
  return (utime + stime) / ticksPerSecond
}

export function parseProcStatusRssMb(status: string): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
  if (kib === undefined) throw new Error('no VmRSS line in /proc status')
  return Number(kib) / 1024
}

export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ])
  return { cpuSeconds: parseProcStatCpuSeconds(stat), rssMb: parseProcStatusRssMb(status) }
}

/** Descendants a tree walk follows at most (a gateway has one child per worker). */
export const processTreePidsMax = 512

/** The pid and every descendant, from /proc/<pid>/task/<tid>/children. */
export async function processTreePids(pid: number): Promise<number[]> {
  const found: number[] = []
  const pending = [pid]
  while (pending.length > 0 && found.length < processTreePidsMax) {
    const next = pending.shift() as number
    found.push(next)
    const tasks = await readdir(`/proc/${next}/task`).catch(() => [] as string[])
    for (const task of tasks) {
      const children = await readFile(`/proc/${next}/task/${task}/children`, 'utf8').catch(() => '')
      for (const child of children.trim().split(/\s+/)) if (child !== '') pending.push(Number(child))
    }
  }
  return found
}

/**
 * CPU seconds and resident memory of a process and its descendants summed: a gateway with
 * `workers` > 1 is its primary and one child per worker. A child that ends mid-walk counts as zero.
 */
export async function sampleProcessTree(pid: number): Promise<ProcessSample> {
  const samples = await Promise.all(
    (await processTreePids(pid)).map((each, index) =>
      index === 0 ? sampleProcess(each) : sampleProcess(each).catch(() => ({ cpuSeconds: 0, rssMb: 0 })),
    ),
  )
  return samples.reduce((sum, sample) => ({
    cpuSeconds: sum.cpuSeconds + sample.cpuSeconds,
    rssMb: sum.rssMb + sample.rssMb,
  }))
}

/** Samples a process tree's RSS every `intervalMs` until stopped; returns the peak seen. */
export function rssPeakSampler(pid: number, intervalMs: number): { stop(): Promise<number> } {
  let peak = 0
  let sampling: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    sampling = sampleProcessTree(pid).then(
      (sample) => {
        peak = Math.max(peak, sample.rssMb)
      },
      () => undefined,
    )
  }, intervalMs)
  return {
    async stop() {
      clearInterval(timer)
      await sampling
      const last = await sampleProcessTree(pid).catch(() => undefined)
      return Math.max(peak, last?.rssMb ?? 0)
    },
  }
}

/**
 * The capacity run's floor: `minimal-proxy.ts` in front of `backendUrl`, in its own process, with
 * `nodeFlags` (the run passes the gateway's, so both get the same heap settings).
 */
export async function startMinimalProxyProcess(
  backendUrl: string,
  nodeFlags: readonly string[] = [],
): Promise<{ url: string; handle: ChildHandle }> {
  const handle = await spawnTsx({
    what: 'the minimal proxy process',
    nodeFlags,
    script: 'harness/capacity/minimal-proxy.ts',
    args: [backendUrl],
    ready: /^minimal proxy listening (http:\/\/\S+)$/,
  })
  return { url: handle.readyMatch[1] as string, handle }
}
