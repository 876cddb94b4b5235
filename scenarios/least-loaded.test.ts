/**
 * The least-loaded scenario against the random router on the same seed: the must-show comparison
 * of issue 6. Both runs go through the harness; the comparison (p95 and p50 latency, queries per
 * cluster, in-flight peaks) is written to reports/least-loaded/comparison-seed<seed>/ with the two
 * runs' own reports beside it.
 *
 * The one latency assertion is relative (least-loaded p95 below random p95 on the same machine at
 * the same time) and the scenario is built so the gap is wide: under the random router
 * the slow cluster keeps getting every other query, and those beyond its 4 slots wait behind 3 s
 * queries, while the least-loaded router stops sending it anything once it has a queue.
 */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { percentile } from '../harness/expect/expectations.ts'
import { writeComparisonFiles } from '../harness/report/comparison.ts'
import type { Report } from '../harness/report/report.ts'
import { reportsRoot, runScenario } from '../harness/run.ts'
import { type LoadedScenario, loadScenarioFile, scenariosDir } from '../harness/scenario/loader.ts'

const bothRunsTimeoutMs = 180_000

interface RouterRun {
  router: 'least-loaded' | 'random'
  report: Report
  p50TotalMs: number
  p95TotalMs: number
  perCluster: Record<string, number>
  inFlight: string
}

function withoutModules(loaded: LoadedScenario): LoadedScenario {
  const copy = structuredClone(loaded)
  const config = copy.scenario.gateway.config
  if (config === undefined || !('modules' in config)) throw new Error('least-loaded.yaml must list modules')
  delete config.modules
  return copy
}

function summary(router: RouterRun['router'], report: Report): RouterRun {
  const totals = report.queries.map((query) => query.totalMs)
  const perCluster: Record<string, number> = {}
  for (const query of report.queries) {
    const cluster = query.cluster ?? '(none)'
    perCluster[cluster] = (perCluster[cluster] ?? 0) + 1
  }
  const balance = report.expectations.find((expectation) => expectation.name.startsWith('in-flight'))
  return {
    router,
    report,
    p50TotalMs: percentile(totals, 50),
    p95TotalMs: percentile(totals, 95),
    perCluster,
    inFlight: balance?.actual ?? '(no in-flight expectation)',
  }
}

function comparisonMarkdown(seed: number, runs: readonly RouterRun[]): string {
  const rows = runs.map(
    (run) =>
      `| ${run.router} | ${run.report.queries.length} | ${run.p50TotalMs} | ${run.p95TotalMs} | ${Object.entries(
        run.perCluster,
      )
        .sort()
        .map(([cluster, count]) => `${cluster} ${count}`)
        .join(', ')} | ${run.inFlight} | ${run.report.passed ? 'passed' : 'failed'} |`,
  )
  return [
    `# least-loaded: QueryCountBasedRouter against the random router, seed ${seed}`,
    '',
    `Code version ${runs[0]?.report.codeVersion ?? 'unknown'}. Both runs: scenarios/least-loaded.yaml; the random run drops \`modules\`.`,
    '',
    '| router | queries | p50 total ms | p95 total ms | queries per cluster | in-flight peaks | expectations |',
    '|---|---:|---:|---:|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}

describe('least-loaded scenario against the random router', () => {
  it(
    'keeps in-flight counts within the stated bound and has a lower p95 than the random router on the same seed',
    async () => {
      const loaded = await loadScenarioFile(path.join(scenariosDir, 'least-loaded.yaml'))
      const seed = loaded.scenario.seed
      const dir = path.join(reportsRoot, 'least-loaded', `comparison-seed${seed}`)
      const leastLoaded = await runScenario(loaded, {
        reportDir: path.join(dir, 'least-loaded'),
        logLevel: 'silent',
      })
      const random = await runScenario(withoutModules(loaded), {
        reportDir: path.join(dir, 'random'),
        logLevel: 'silent',
      })
      const runs = [summary('least-loaded', leastLoaded.report), summary('random', random.report)]
      await writeComparisonFiles(dir, comparisonMarkdown(seed, runs), runs)
      const [ll, rnd] = runs as [RouterRun, RouterRun]
      const failing = leastLoaded.report.expectations.filter((expectation) => !expectation.passed)
      expect(failing, comparisonMarkdown(seed, runs)).toEqual([])
      // The same workload reached both: the routers differ, nothing else.
      expect(rnd.report.queries.length).toBe(ll.report.queries.length)
      expect(ll.p95TotalMs, comparisonMarkdown(seed, runs)).toBeLessThan(rnd.p95TotalMs)
    },
    bothRunsTimeoutMs,
  )
})
