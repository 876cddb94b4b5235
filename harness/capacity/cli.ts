/**
 * `npm run capacity -- [--scenario <name>] [--quick] [--report-dir DIR] [--compare FILE]
 *   [--threshold-percent N] [--seed N] [--database-url URL] [--cpu-prof-dir DIR] [--workers N]`
 *
 * Exit status: 0 the run finished (and, with --compare, nothing regressed); 1 a figure regressed
 * beyond the threshold; 2 the run could not be made (bad flag, bad file, topology failed).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { describeIssues } from '../../common/errors.ts'
import { integerFlag } from '../../common/flags.ts'
import { seedMax } from '../../common/random.ts'
import { workersMax } from '../../gateway/config.ts'
import { HarnessError } from '../errors.ts'
import { compareReports, formatComparison, regressionThresholdPercentDefault } from './compare.ts'
import { plannedLoadSeconds, planSweep } from './plan.ts'
import { stopLiveChildren } from './processes.ts'
import { Progress } from './progress.ts'
import { renderHtml, renderMarkdown } from './render.ts'
import { type CapacityReport, capacityReportSchema } from './report-schema.ts'
import { runCapacity } from './run.ts'

export const usage =
  'usage: npm run capacity -- [--scenario <name|file>] [--quick] [--report-dir DIR] [--compare FILE] [--threshold-percent N] [--seed N] [--database-url postgres://...] [--cpu-prof-dir DIR] [--workers N]'

export interface CapacityCli {
  scenario?: string | undefined
  quick: boolean
  reportDir?: string | undefined
  compare?: string | undefined
  thresholdPercent: number
  seed?: number | undefined
  cpuProfileDir?: string | undefined
  databaseUrl?: string | undefined
  /** The gateway's `workers`; the run's default (one process) when absent. */
  workers?: number | undefined
  help: boolean
}

/** Parses the command line; a bad flag is a USAGE error naming the flag, value and expected form. */
export function parseCapacityArgs(argv: readonly string[]): CapacityCli {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        scenario: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'report-dir': { type: 'string' },
        compare: { type: 'string' },
        'threshold-percent': { type: 'string' },
        seed: { type: 'string' },
        'cpu-prof-dir': { type: 'string' },
        'database-url': { type: 'string' },
        workers: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (error) {
    throw new HarnessError('USAGE', `${(error as Error).message}\n${usage}`)
  }
  const thresholdText = values['threshold-percent'] as string | undefined
  let thresholdPercent = regressionThresholdPercentDefault
  if (thresholdText !== undefined) {
    thresholdPercent = Number(thresholdText)
    if (!/^\d+(\.\d+)?$/.test(thresholdText) || thresholdPercent <= 0 || thresholdPercent > 1000) {
      throw new HarnessError(
        'USAGE',
        `--threshold-percent: expected a number above 0 and at most 1000 (got ${JSON.stringify(thresholdText)})`,
      )
    }
  }
  const usageError = (message: string) => new HarnessError('USAGE', message)
  const seed = integerFlag('seed', values.seed as string | undefined, { min: 1, max: seedMax }, usageError)
  const databaseUrl = values['database-url'] as string | undefined
  if (databaseUrl !== undefined && !/^(jdbc:postgresql|postgres|postgresql):\/\/\S+$/.test(databaseUrl)) {
    throw new HarnessError(
      'USAGE',
      `--database-url: expected postgres://user@host:port/db or jdbc:postgresql://host:port/db (got ${JSON.stringify(databaseUrl)})`,
    )
  }
  const workers = integerFlag(
    'workers',
    values.workers as string | undefined,
    { min: 1, max: workersMax },
    usageError,
  )
  for (const key of ['scenario', 'report-dir', 'compare', 'cpu-prof-dir']) {
    if (values[key] === '') throw new HarnessError('USAGE', `--${key}: expected a value (got "")`)
  }
  return {
    scenario: values.scenario as string | undefined,
    quick: values.quick === true,
    reportDir: values['report-dir'] as string | undefined,
    compare: values.compare as string | undefined,
    thresholdPercent,
    seed,
    cpuProfileDir: values['cpu-prof-dir'] as string | undefined,
    databaseUrl,
    workers,
    help: values.help === true,
  }
}

/** Reads and validates a report file (a baseline for --compare). */
export async function readReport(file: string): Promise<CapacityReport> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new HarnessError('USAGE', `--compare ${file}: ${(error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new HarnessError('USAGE', `--compare ${file}: not JSON: ${(error as Error).message}`)
  }
  const parsed = capacityReportSchema.safeParse(raw)
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues, raw).slice(0, 10)
    throw new HarnessError(
      'USAGE',
      `--compare ${file}: not a capacity report.json (schema version 1):\n  ${problems.join('\n  ')}`,
    )
  }
  return parsed.data
}

/** `2026-11-26T11-30-00Z-quick`: sortable, and safe in a folder name. */
export function runIdOf(date: Date, mode: 'quick' | 'full'): string {
  return `${date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-')}-${mode}`
}

export async function writeReports(report: CapacityReport, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`)
  await writeFile(path.join(dir, 'report.md'), renderMarkdown(report))
  await writeFile(path.join(dir, 'report.html'), renderHtml(report))
}

async function main(argv: readonly string[]): Promise<number> {
  const cli = parseCapacityArgs(argv)
  if (cli.help) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  // Read the baseline first: a bad file costs no run.
  const baseline = cli.compare === undefined ? undefined : await readReport(cli.compare)
  const mode = cli.quick ? 'quick' : 'full'
  const runId = runIdOf(new Date(), mode)
  const progress = new Progress(process.stderr, plannedLoadSeconds(planSweep(mode)))
  let report: CapacityReport
  try {
    report = await runCapacity({
      mode,
      scenario: cli.scenario,
      seed: cli.seed,
      runId,
      cpuProfileDir: cli.cpuProfileDir,
      databaseUrl: cli.databaseUrl,
      workers: cli.workers,
      progress,
    })
  } finally {
    progress.finish()
  }
  const dir = cli.reportDir ?? path.join('reports', 'capacity', runId)
  await writeReports(report, dir)
  process.stdout.write(
    `${report.verdict}\n\nreport: ${path.join(dir, 'report.html')} (also report.md, report.json)\n`,
  )
  if (baseline === undefined) return 0
  const comparisons = compareReports(baseline, report, { thresholdPercent: cli.thresholdPercent })
  process.stdout.write(`${formatComparison(comparisons, cli.thresholdPercent)}\n`)
  return comparisons.some((c) => c.regressed) ? 1 : 0
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  let stopping = false
  const interrupt = () => {
    if (stopping) return
    stopping = true
    process.stderr.write('\ninterrupted\n')
    stopLiveChildren()
    process.exit(130)
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)
  main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (error: unknown) => {
      const code = error instanceof HarnessError ? `${error.code}: ` : ''
      process.stderr.write(`\n${code}${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(2)
    },
  )
}
