import { readdirSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { integerFlag } from '../common/flags.ts'
import { HarnessError, isHarnessError } from './errors.ts'
import { junitXml, type SuiteInput } from './report/junit.ts'
import { summarize } from './report/report.ts'
import { type Progress, type RunResult, reportsRoot, runIdFor, runScenario } from './run.ts'
import { loadScenarioFile, resolveScenarioPath, scenariosDir } from './scenario/loader.ts'

/**
 * `npm run scenario -- <name-or-path> [--seed N] [--report-dir DIR] [--gateway-url URL]` and
 * `npm run scenarios` (every file in scenarios/, one JUnit report): the conformance gate.
 * Exit status: 0 every expectation holds, 1 some fail, 2 a scenario file is invalid or its
 * topology could not start (the reason is printed), 130 interrupted (after tearing down).
 */

export const exitCodes = { passed: 0, failed: 1, invalid: 2, interrupted: 130 } as const

const usage = `usage:
  npm run scenario -- <name-or-path> [--seed N] [--report-dir DIR] [--gateway-url URL]
                      [--database-url URL] [--log-level LEVEL]
  npm run scenarios [-- --report-dir DIR] [--gateway-url URL] [--database-url URL]

  <name-or-path>  a scenario in scenarios/ by name (adhoc-fallback) or a YAML file path
  --seed N        overrides the scenario's seed (the printed rerun command carries it)
  --report-dir    where report.json, report.md, junit.xml and trace.jsonl go
                  (default reports/<scenario>/<run-id>/)
  --gateway-url   test a gateway already running (a black box) instead of starting one
  --database-url  the gateways' PostgreSQL instead of the scenario's database (postgres://...)
  --log-level     gateway and mock logs (default silent)`

export interface CliIo {
  out: (text: string) => void
  err: (text: string) => void
  /** True when progress can be redrawn in place. */
  tty: boolean
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  tty: process.stdout.isTTY === true,
}

export async function main(
  argv: readonly string[],
  io: CliIo = processIo,
  signal?: AbortSignal,
): Promise<number> {
  let parsed: ReturnType<typeof parseCommand>
  try {
    parsed = parseCommand(argv)
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${usage}\n`)
    return exitCodes.invalid
  }
  if (parsed.command === 'help') {
    io.out(`${usage}\n`)
    return exitCodes.passed
  }
  if (parsed.command === 'run') {
    const outcome = await runOne(parsed.target, parsed.options, io, signal)
    if (signal?.aborted) return exitCodes.interrupted
    return outcome.exitCode
  }
  return runAll(parsed.options, io, signal)
}

interface CommandOptions {
  seed: number | undefined
  reportDir: string | undefined
  gatewayUrl: string | undefined
  databaseUrl: string | undefined
  logLevel: string | undefined
}

function parseCommand(
  argv: readonly string[],
):
  | { command: 'help' }
  | { command: 'run'; target: string; options: CommandOptions }
  | { command: 'all'; options: CommandOptions } {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      seed: { type: 'string' },
      'report-dir': { type: 'string' },
      'gateway-url': { type: 'string' },
      'database-url': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return { command: 'help' }
  const seed = integerFlag(
    'seed',
    values.seed,
    { min: 0, max: 2 ** 31 - 1 },
    (message) => new HarnessError('USAGE', message),
  )
  const gatewayUrl = values['gateway-url']
  if (gatewayUrl !== undefined && !/^https?:\/\/[^/]+/.test(gatewayUrl)) {
    throw new HarnessError(
      'USAGE',
      `--gateway-url: expected an http:// URL (got ${JSON.stringify(gatewayUrl)})`,
    )
  }
  const databaseUrl = values['database-url']
  if (databaseUrl !== undefined && !/^(jdbc:postgresql|postgres|postgresql):\/\//.test(databaseUrl)) {
    throw new HarnessError(
      'USAGE',
      `--database-url: expected a postgres:// URL (got ${JSON.stringify(databaseUrl)})`,
    )
  }
  const options = {
    seed,
    reportDir: values['report-dir'],
    gatewayUrl,
    databaseUrl,
    logLevel: values['log-level'],
  }
  const [command, target, ...rest] = positionals
  if (rest.length > 0) throw new HarnessError('USAGE', `unexpected arguments: ${rest.join(' ')}`)
  if (command === 'run') {
    if (target === undefined) throw new HarnessError('USAGE', 'run needs a scenario name or path')
    return { command: 'run', target, options }
  }
  if (command === 'all') {
    if (target !== undefined) throw new HarnessError('USAGE', `all takes no scenario (got ${target})`)
    if (seed !== undefined) throw new HarnessError('USAGE', '--seed applies to one scenario: use run')
    return { command: 'all', options }
  }
  throw new HarnessError('USAGE', command === undefined ? 'no command' : `unknown command ${command}`)
}

interface RunOutcome {
  exitCode: number
  scenario: string
  suite: SuiteInput
}

async function runOne(
  target: string,
  options: CommandOptions,
  io: CliIo,
  signal?: AbortSignal,
): Promise<RunOutcome> {
  const startedMs = Date.now()
  let scenarioName = target
  try {
    const file = resolveScenarioPath(target)
    const loaded = await loadScenarioFile(file)
    scenarioName = loaded.scenario.name
    const summary = loaded.scenario.description.trim().split(/(?<=\.)\s/)[0] ?? ''
    io.out(`scenario ${scenarioName}: ${summary}\n`)
    const progress = progressPrinter(scenarioName, io)
    const result = await runScenario(loaded, {
      seed: options.seed,
      reportDir: options.reportDir,
      gatewayUrl: options.gatewayUrl,
      databaseUrl: options.databaseUrl,
      logLevel: options.logLevel,
      invokedAs: target,
      signal,
      onProgress: progress.update,
    })
    progress.end()
    io.out(summaryTable(result))
    return {
      exitCode: result.report.passed ? exitCodes.passed : exitCodes.failed,
      scenario: scenarioName,
      suite: { report: result.report, durationMs: result.durationMs },
    }
  } catch (error) {
    const coded = isHarnessError(error)
      ? error
      : new HarnessError(
          'TOPOLOGY_START_FAILED',
          error instanceof Error ? (error.stack ?? error.message) : String(error),
        )
    io.err(`\nscenario ${scenarioName}: ${coded.code}: ${coded.message}\n`)
    return {
      exitCode: exitCodes.invalid,
      scenario: scenarioName,
      suite: {
        scenario: scenarioName,
        error: { code: coded.code, message: coded.message },
        durationMs: Date.now() - startedMs,
      },
    }
  }
}

async function runAll(options: CommandOptions, io: CliIo, signal?: AbortSignal): Promise<number> {
  const files = readdirSync(scenariosDir)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
  const runDir = path.resolve(
    options.reportDir ?? path.join(reportsRoot, 'all', runIdFor(new Date(), 0).replace(/-seed0$/, '')),
  )
  const outcomes: RunOutcome[] = []
  for (const file of files) {
    if (signal?.aborted) break
    const name = file.replace(/\.ya?ml$/, '')
    outcomes.push(
      // By name (it resolves to this file), so the printed rerun command is the short one.
      await runOne(
        file === `${name}.yaml` ? name : path.join(scenariosDir, file),
        { ...options, reportDir: path.join(runDir, name) },
        io,
        signal,
      ),
    )
    io.out('\n')
  }
  await mkdir(runDir, { recursive: true })
  const junitFile = path.join(runDir, 'junit.xml')
  await writeFile(junitFile, junitXml(outcomes.map((outcome) => outcome.suite)))
  const width = Math.max(8, ...outcomes.map((outcome) => outcome.scenario.length))
  io.out(`${'scenario'.padEnd(width)}  result\n`)
  for (const outcome of outcomes) {
    const result = ['passed', 'FAILED', 'INVALID'][outcome.exitCode] ?? `exit ${outcome.exitCode}`
    io.out(`${outcome.scenario.padEnd(width)}  ${result}\n`)
  }
  io.out(`JUnit report: ${path.relative(process.cwd(), junitFile)}\n`)
  if (signal?.aborted) return exitCodes.interrupted
  return Math.max(exitCodes.passed, ...outcomes.map((outcome) => outcome.exitCode))
}

/** One progress line: redrawn in place on a terminal, at most once a second otherwise. */
function progressPrinter(scenario: string, io: CliIo) {
  const lineIntervalMs = 1000
  let lastLineMs = 0
  let last: Progress | undefined
  const render = (p: Progress) => {
    const clusters = Object.entries(p.perCluster)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, n]) => `${cluster} ${n}`)
      .join(' · ')
    return `${scenario}: ${p.done}/${p.total} queries done${clusters ? ` · ${clusters}` : ''}${p.failed > 0 ? ` · ${p.failed} failed` : ''}`
  }
  return {
    update(p: Progress) {
      last = p
      if (io.tty) {
        io.out(`\r\u001b[2K${render(p)}`)
      } else if (Date.now() - lastLineMs >= lineIntervalMs || p.done === p.total) {
        lastLineMs = Date.now()
        io.out(`${render(p)}\n`)
      }
    },
    end() {
      if (io.tty && last !== undefined) io.out('\n')
    },
  }
}

export function summaryTable(result: RunResult): string {
  const { report } = result
  const rows = report.expectations.map((expectation) => [
    expectation.passed ? 'pass' : 'FAIL',
    expectation.name,
    expectation.expected,
    expectation.actual,
  ])
  const clusters = summarize(report.queries, (query) => query.cluster ?? '(none)').map((row) => [
    row.key,
    String(row.queries),
    String(row.finished),
    String(row.failed),
    String(row.p95TotalMs),
  ])
  const lines = [
    '',
    textTable(['', 'expectation', 'expected', 'actual'], rows),
    '',
    textTable(['cluster', 'queries', 'finished', 'failed', 'p95 total ms'], clusters),
    '',
    `${report.passed ? 'PASSED' : 'FAILED'} ${report.scenario} (seed ${report.seed}, ${(result.durationMs / 1000).toFixed(1)} s, digest ${report.routingDecisionDigest.slice(0, 19)}…)`,
    `report: ${path.relative(process.cwd(), result.reportDir) || '.'}`,
  ]
  if (!report.passed) lines.push(`rerun:  ${result.rerunCommand}`)
  return `${lines.join('\n')}\n`
}

/** Columns wider than this are cut with an ellipsis in the terminal; report.md has the whole text. */
const cellCharsMax = 90

function textTable(header: string[], rows: string[][]): string {
  const cut = (text: string) => (text.length > cellCharsMax ? `${text.slice(0, cellCharsMax - 1)}…` : text)
  const all = [header, ...rows].map((row) => row.map(cut))
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)))
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  const controller = new AbortController()
  let interrupts = 0
  const interrupt = () => {
    interrupts++
    if (interrupts > 1) process.exit(exitCodes.interrupted)
    process.stderr.write('\ninterrupted: tearing the topology down (Ctrl-C again to quit at once)\n')
    controller.abort()
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)
  const code = await main(process.argv.slice(2), processIo, controller.signal)
  process.exit(code)
}
