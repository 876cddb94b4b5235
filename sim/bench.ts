/**
 * `npm run simulate:bench [-- --queries N]`: the simulator's benchmark. Simulates sim/bench.yaml
 * scaled to 20 clusters and 1,000,000 queries (routing rules, the query-count router, weighted_fair
 * resource groups on every cluster), times it, then runs a smaller size twice with the same seed
 * and compares the report digests. Writes reports/simulation/bench.json and bench.md. The target
 * (under 30 s) is a figure in the report, not an assertion: the machine's load is recorded with it.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { codeVersion } from '../harness/report/report.ts'
import { loadScenarioFile } from '../harness/scenario/loader.ts'
import { simReportsRoot } from './cli.ts'
import { buildReport } from './report.ts'
import { simulate } from './simulate.ts'
import { buildTopology, type SimOverrides } from './topology.ts'

export const benchScenarioFile = path.resolve(import.meta.dirname, 'bench.yaml')
export const benchClusters = 20
export const benchRatePerSecond = 200
export const benchQueriesDefault = 1_000_000
export const benchTargetMs = 30_000
export const determinismQueries = 20_000
/**
 * The code version the bench's reports carry instead of the commit: their digests then compare
 * across commits, so a change meant to be faster shows it decides and reports exactly as before.
 */
export const benchCodeVersion = 'bench'

export interface BenchRun {
  queries: number
  clusters: number
  wallMs: number
  virtualMs: number
  events: number
  passed: boolean
  routingDecisionDigest: string
  reportDigest: string
}

export async function benchRun(queries: number, seed?: number): Promise<BenchRun> {
  const loaded = await loadScenarioFile(benchScenarioFile)
  const overrides: SimOverrides = {
    seed,
    queries,
    clusters: benchClusters,
    ratePerSecond: benchRatePerSecond,
  }
  const startedMs = performance.now()
  const topology = buildTopology(loaded, overrides)
  const result = await simulate(topology, { keepDecisions: false })
  const built = buildReport(result, overrides, benchCodeVersion)
  return {
    queries,
    clusters: result.clusters.length,
    wallMs: Math.round(performance.now() - startedMs),
    virtualMs: Math.round(result.endMs),
    events: result.eventsProcessed,
    passed: built.report.passed,
    routingDecisionDigest: built.report.routingDecisionDigest,
    reportDigest: built.reportDigest,
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { queries: { type: 'string' } } })
  const queries = values.queries === undefined ? benchQueriesDefault : Number(values.queries)
  if (!Number.isInteger(queries) || queries < 1)
    throw new Error(`--queries expects a whole number, got ${values.queries}`)
  const loadBefore = loadavg()[0] ?? 0
  const main = await benchRun(queries)
  const first = await benchRun(determinismQueries)
  const second = await benchRun(determinismQueries)
  const bench = {
    scenario: path.relative(process.cwd(), benchScenarioFile),
    codeVersion: codeVersion(),
    machine: {
      cpus: availableParallelism(),
      loadAverage1mBefore: loadBefore,
      loadAverage1mAfter: loadavg()[0] ?? 0,
    },
    run: main,
    queriesPerSecondWall: Math.round((main.queries / main.wallMs) * 1000),
    targetMs: benchTargetMs,
    withinTarget: main.wallMs < benchTargetMs,
    determinism: {
      queries: determinismQueries,
      reportDigests: [first.reportDigest, second.reportDigest],
      routingDecisionDigests: [first.routingDecisionDigest, second.routingDecisionDigest],
      identical:
        first.reportDigest === second.reportDigest &&
        first.routingDecisionDigest === second.routingDecisionDigest,
    },
  }
  mkdirSync(simReportsRoot, { recursive: true })
  writeFileSync(path.join(simReportsRoot, 'bench.json'), `${JSON.stringify(bench, null, 2)}\n`)
  const md = [
    '# Simulator benchmark',
    '',
    `- ${main.queries} queries over ${main.clusters} clusters with resource groups (${bench.scenario}, ${benchRatePerSecond} queries/s offered): **${(main.wallMs / 1000).toFixed(1)} s** wall (${bench.queriesPerSecondWall} queries/s), target < ${benchTargetMs / 1000} s: ${bench.withinTarget ? 'met' : '**not met**'}`,
    `- ${(main.virtualMs / 1000).toFixed(0)} s of virtual time, ${main.events} events; expectations ${main.passed ? 'hold' : '**fail**'}`,
    `- machine: ${bench.machine.cpus} CPUs, 1-minute load average ${bench.machine.loadAverage1mBefore.toFixed(2)} before, ${bench.machine.loadAverage1mAfter.toFixed(2)} after (other work on the machine slows the figure)`,
    `- report digest of the ${main.queries}-query run (code version fixed to "${benchCodeVersion}", so it compares across commits): ${main.reportDigest}; routing decision digest ${main.routingDecisionDigest}`,
    `- determinism: two runs of ${determinismQueries} queries with the same seed: report digests ${bench.determinism.identical ? 'identical' : '**differ**'} (${first.reportDigest}, ${second.reportDigest})`,
    `- code: ${bench.codeVersion}`,
    '',
  ].join('\n')
  writeFileSync(path.join(simReportsRoot, 'bench.md'), md)
  process.stdout.write(md)
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(2)
  })
}
