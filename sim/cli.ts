/**
 * `npm run simulate -- <scenario> [--seed N] [--queries N] [--clusters N] [--rate R] [--report-dir DIR]
 * [--no-trace]`: runs a scenario in virtual time and writes its reports. Exit 0 when every
 * expectation holds, 1 when some fail, 2 when the scenario cannot be simulated.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { CodedError } from '../common/errors.ts'
import { loadScenarioFile, resolveScenarioPath } from '../harness/scenario/loader.ts'
import { simError } from './errors.ts'
import { buildReport, writeSimReport } from './report.ts'
import { simulate } from './simulate.ts'
import { buildTopology, type SimOverrides } from './topology.ts'

export const simReportsRoot = path.resolve(import.meta.dirname, '../reports/simulation')
/** How often the bar on a terminal is redrawn at most. */
export const progressRedrawIntervalMs = 100
const progressBarWidth = 30

const usage =
  'usage: npm run simulate -- <scenario name or file> [--seed N] [--queries N] [--clusters N] [--rate R] [--report-dir DIR] [--no-trace]'

export function parseSimArgs(argv: readonly string[]): {
  scenario: string
  overrides: SimOverrides
  reportDir: string | undefined
  trace: boolean
} {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw simError('SIM_USAGE', `${(error as Error).message}\n${usage}`)
  }
  const { values, positionals } = parsed
  if (positionals.length !== 1)
    throw simError('SIM_USAGE', `expected one scenario, got ${positionals.length}\n${usage}`)
  const number = (name: string, value: string | undefined, integer: boolean): number | undefined => {
    if (value === undefined) return undefined
    const n = Number(value)
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0) {
      throw simError(
        'SIM_USAGE',
        `--${name} expects a ${integer ? 'whole ' : ''}number >= 0, got ${JSON.stringify(value)}`,
      )
    }
    return n
  }
  return {
    scenario: positionals[0] as string,
    overrides: {
      seed: number('seed', values.seed, true),
      queries: number('queries', values.queries, true),
      clusters: number('clusters', values.clusters, true),
      ratePerSecond: number('rate', values.rate, false),
    },
    reportDir: values['report-dir'],
    trace: values['no-trace'] !== true,
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      queries: { type: 'string' },
      clusters: { type: 'string' },
      rate: { type: 'string' },
      'report-dir': { type: 'string' },
      'no-trace': { type: 'boolean' },
    },
  })
}

export function rerunCommand(scenario: string, overrides: SimOverrides, seed: number): string {
  const flags = [
    `--seed ${seed}`,
    ...(overrides.queries === undefined ? [] : [`--queries ${overrides.queries}`]),
    ...(overrides.clusters === undefined ? [] : [`--clusters ${overrides.clusters}`]),
    ...(overrides.ratePerSecond === undefined ? [] : [`--rate ${overrides.ratePerSecond}`]),
  ]
  return `npm run simulate -- ${scenario} ${flags.join(' ')}`
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseSimArgs(argv)
  const loaded = await loadScenarioFile(resolveScenarioPath(args.scenario))
  const topology = buildTopology(loaded, args.overrides)
  const stderr = process.stderr
  let drawnAt = 0
  const startedMs = Date.now()
  const result = await simulate(topology, {
    keepDecisions: args.trace,
    onProgress: stderr.isTTY
      ? (done, total) => {
          const now = Date.now()
          if (now - drawnAt < progressRedrawIntervalMs && done < total) return
          drawnAt = now
          const filled = Math.round((done / total) * progressBarWidth)
          stderr.write(
            `\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(progressBarWidth - filled)}] ${String(Math.round((done / total) * 100)).padStart(3)}%  ${done}/${total} queries`,
          )
        }
      : undefined,
  })
  if (stderr.isTTY) stderr.write('\r\x1b[2K')
  const built = buildReport(result, args.overrides)
  const reportDir = path.resolve(
    args.reportDir ?? path.join(simReportsRoot, topology.scenario.name, `seed${topology.seed}`),
  )
  const rerun = rerunCommand(args.scenario, args.overrides, topology.seed)
  await writeSimReport(reportDir, built, result, {
    scenarioFile: path.relative(process.cwd(), loaded.file),
    description: topology.scenario.description,
    rerunCommand: rerun,
  })
  const wallMs = Date.now() - startedMs
  for (const expectation of built.expectations) {
    process.stdout.write(`${expectation.passed ? 'pass' : 'FAIL'}  ${expectation.message}\n`)
  }
  process.stdout.write(
    `${topology.scenario.name} (simulated): ${built.report.passed ? 'PASSED' : 'FAILED'}; ${result.queries.length} queries, ${(result.endMs / 1000).toFixed(1)} s virtual in ${(wallMs / 1000).toFixed(1)} s; ${built.report.routingDecisionDigest}\nreports in ${path.relative(process.cwd(), reportDir)}\n`,
  )
  if (!result.traceComplete && args.trace) {
    process.stdout.write(
      'trace.jsonl holds the first decisions only (traceDecisionsMax); the digest covers all\n',
    )
  }
  if (!built.report.passed) process.stdout.write(`rerun: ${rerun}\n`)
  return built.report.passed ? 0 : 1
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = error instanceof CodedError ? `${error.code}: ${error.message}` : String(error)
      process.stderr.write(`${message}\n`)
      process.exit(2)
    },
  )
}
