/**
 * A simulated run's reports, in the live run's formats: report.json (the harness's `Report`, plus
 * a `simulation` section), report.md, report.html, junit.xml and trace.jsonl. Everything in
 * report.json is a function of (scenario, seed, overrides, code version): no wall-clock time, so two
 * runs with the same inputs write byte-identical files and the same `reportDigest`.
 */
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { checkExpectations, type ExpectationResult } from '../harness/expect/expectations.ts'
import { junitXml } from '../harness/report/junit.ts'
import { codeVersion, type Report, toReportQuery } from '../harness/report/report.ts'
import { clusterQueries, observedQueries, type SimQuery, type SimResult } from './simulate.ts'
import type { SimOverrides } from './topology.ts'

/** Queries listed one by one in report.json; the summaries cover every query. */
export const reportQueriesListedMax = 10_000

export interface LatencyFigures {
  p50Ms: number
  p95Ms: number
  p99Ms: number
  maxMs: number
}

export interface ClusterRow {
  cluster: string
  routingGroup: string
  queries: number
  finished: number
  failed: number
  runningPeak: number
  queuedPeak: number
  /** Creation to admission, as the cluster's scheduler saw it. */
  queueWait: LatencyFigures
  /** Submission to end, as the client saw it. */
  latency: LatencyFigures
}

export interface ResourceGroupRow {
  resourceGroup: string
  queries: number
  finished: number
  failed: number
  queuedPeak: number
  queueWait: LatencyFigures
  latency: LatencyFigures
  /** Summed over clusters: time the group had queries waiting and none running. */
  starvationMs: number
  starvationStretchMsMax: number
}

export interface KeyRow {
  key: string
  queries: number
  finished: number
  failed: number
  latency: LatencyFigures
  queued: LatencyFigures
}

export interface SimulationSection {
  overrides: SimOverrides
  queriesTotal: number
  queriesListed: number
  clustersTotal: number
  virtualDurationMs: number
  eventsProcessed: number
  decisions: number
  clusters: ClusterRow[]
  resourceGroups: ResourceGroupRow[]
  routingGroups: KeyRow[]
  clients: KeyRow[]
}

export interface SimReport extends Report {
  simulation: SimulationSection
}

export interface BuiltReport {
  report: SimReport
  expectations: ExpectationResult[]
  /** The report.json text; `reportDigest` is its sha256. */
  json: string
  reportDigest: string
}

export function buildReport(
  result: SimResult,
  overrides: SimOverrides,
  version = codeVersion(),
): BuiltReport {
  const { scenario } = result.topology
  const observed = observedQueries(
    result,
    scenario.expectations.some((spec) => spec.kind === 'backendHeader'),
  )
  // Only balance of in-flight peaks and start shares read the clusters' own records.
  const readsClusterRecords = scenario.expectations.some(
    (spec) => spec.kind === 'startShares' || (spec.kind === 'balance' && spec.measure === 'inFlightPeak'),
  )
  const expectations = checkExpectations(scenario.expectations, {
    queries: observed,
    clusterQueries: readsClusterRecords ? clusterQueries(result) : [],
  })
  const tallies = tally(result)
  const report: SimReport = {
    scenario: scenario.name,
    seed: result.topology.seed,
    codeVersion: version,
    passed: expectations.every((expectation) => expectation.passed),
    expectations: expectations.map(({ name, passed, expected, actual }) => ({
      name,
      passed,
      expected,
      actual,
    })),
    queries: observed.slice(0, reportQueriesListedMax).map(toReportQuery),
    routingDecisionDigest: result.decisions.digest((index) => (result.queries[index] as SimQuery).traceToken),
    simulation: {
      overrides,
      queriesTotal: result.queries.length,
      queriesListed: Math.min(result.queries.length, reportQueriesListedMax),
      clustersTotal: result.clusters.length,
      virtualDurationMs: result.endMs,
      eventsProcessed: result.eventsProcessed,
      decisions: result.decisions.length,
      clusters: clusterRows(result, tallies),
      resourceGroups: resourceGroupRows(result, tallies),
      routingGroups: keyRows(tallies.routingGroups),
      clients: keyRows(tallies.clients),
    },
  }
  const json = `${JSON.stringify(report, null, 2)}\n`
  return { report, expectations, json, reportDigest: sha256(json) }
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`
}

/**
 * Values whose percentiles a row reports, in a growable Float64Array: a million-query run fills
 * eight of them a million long, and plain arrays of boxed numbers cost most of the report's time.
 */
class Sample {
  #values = new Float64Array(64)
  #count = 0

  add(value: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2)
      grown.set(this.#values)
      this.#values = grown
    }
    this.#values[this.#count++] = value
  }

  figures(): LatencyFigures {
    if (this.#count === 0) return { p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 }
    const sorted = this.#values.subarray(0, this.#count).sort()
    // Nearest rank, as the harness's percentile; whole ms, as a live run measures them.
    const at = (p: number) =>
      Math.round(sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? 0)
    return { p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: Math.round(sorted[sorted.length - 1] ?? 0) }
  }
}

/** One row's counts and two samples, filled in one pass over the queries. */
class Tally {
  queries = 0
  finished = 0
  failed = 0
  readonly first = new Sample()
  readonly second = new Sample()

  count(query: SimQuery): void {
    this.queries++
    if (query.state === 'FINISHED') this.finished++
    else if (query.state === 'FAILED') this.failed++
  }
}

interface Tallies {
  /** By cluster index; first: queue wait at the cluster, second: total latency. */
  clusters: Tally[]
  /** By resource group, in order of first appearance; first: queue wait, second: latency. */
  resourceGroups: Map<string, Tally>
  /** By routing group and by client; first: latency, second: client-side queueing. */
  routingGroups: Map<string, Tally>
  clients: Map<string, Tally>
}

function tallyOf(tallies: Map<string, Tally>, key: string): Tally {
  let tally = tallies.get(key)
  if (tally === undefined) {
    tally = new Tally()
    tallies.set(key, tally)
  }
  return tally
}

/** Every row's figures from one pass over the queries. */
function tally(result: SimResult): Tallies {
  const tallies: Tallies = {
    clusters: result.clusters.map(() => new Tally()),
    resourceGroups: new Map(),
    routingGroups: new Map(),
    clients: new Map(),
  }
  for (const query of result.queries) {
    const submittedAtMs = query.submittedAtMs
    const finishedAtMs = query.finishedAtMs ?? submittedAtMs
    const totalMs = finishedAtMs - submittedAtMs
    const queuedMs = (query.startedAtMs ?? finishedAtMs) - submittedAtMs
    const clusterWaitMs =
      query.createdAtMs === undefined
        ? undefined
        : (query.startedAtMs ?? query.finishedAtMs ?? query.createdAtMs) - query.createdAtMs
    if (query.cluster !== undefined) {
      const row = tallies.clusters[query.cluster.index] as Tally
      row.count(query)
      if (clusterWaitMs !== undefined) row.first.add(clusterWaitMs)
      row.second.add(totalMs)
    }
    if (query.resourceGroup !== undefined) {
      const row = tallyOf(tallies.resourceGroups, query.resourceGroup)
      row.count(query)
      if (clusterWaitMs !== undefined) row.first.add(clusterWaitMs)
      row.second.add(totalMs)
    }
    const routingGroup = tallyOf(tallies.routingGroups, query.routingGroup ?? '(none)')
    routingGroup.count(query)
    routingGroup.first.add(totalMs)
    routingGroup.second.add(queuedMs)
    const client = tallyOf(tallies.clients, query.client.spec.spec.name)
    client.count(query)
    client.first.add(totalMs)
    client.second.add(queuedMs)
  }
  return tallies
}

function clusterRows(result: SimResult, tallies: Tallies): ClusterRow[] {
  return result.clusters.map((cluster) => {
    const row = tallies.clusters[cluster.index] as Tally
    return {
      cluster: cluster.name,
      routingGroup: cluster.routingGroup,
      queries: row.queries,
      finished: row.finished,
      failed: row.failed,
      runningPeak: cluster.runningPeak,
      queuedPeak: cluster.queuedPeak,
      queueWait: row.first.figures(),
      latency: row.second.figures(),
    }
  })
}

function byKey<T>(rows: Map<string, T>): Array<[string, T]> {
  return [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function resourceGroupRows(result: SimResult, tallies: Tallies): ResourceGroupRow[] {
  const clocks = new Map<string, { queuedPeak: number; starvedMs: number; stretchMax: number }>()
  for (const cluster of result.clusters) {
    for (const [group, clock] of cluster.groupClock) {
      const sum = clocks.get(group) ?? { queuedPeak: 0, starvedMs: 0, stretchMax: 0 }
      sum.queuedPeak = Math.max(sum.queuedPeak, clock.queuedPeak)
      sum.starvedMs += clock.starvedMs
      sum.stretchMax = Math.max(sum.stretchMax, clock.starvedStretchMsMax)
      clocks.set(group, sum)
    }
  }
  return byKey(tallies.resourceGroups).map(([group, row]) => {
    const clock = clocks.get(group)
    return {
      resourceGroup: group,
      queries: row.queries,
      finished: row.finished,
      failed: row.failed,
      queuedPeak: clock?.queuedPeak ?? 0,
      queueWait: row.first.figures(),
      latency: row.second.figures(),
      starvationMs: clock?.starvedMs ?? 0,
      starvationStretchMsMax: clock?.stretchMax ?? 0,
    }
  })
}

function keyRows(tallies: Map<string, Tally>): KeyRow[] {
  return byKey(tallies).map(([key, row]) => ({
    key,
    queries: row.queries,
    finished: row.finished,
    failed: row.failed,
    latency: row.first.figures(),
    queued: row.second.figures(),
  }))
}

export interface ReportContext {
  scenarioFile: string
  description: string
  rerunCommand: string
}

type Table = { title: string; head: string[]; rows: Array<Array<string | number>> }

function tables(report: SimReport): Table[] {
  const sim = report.simulation
  const lat = (f: LatencyFigures) => [f.p50Ms, f.p95Ms, f.p99Ms, f.maxMs]
  return [
    {
      title: 'Per cluster',
      head: [
        'cluster',
        'routing group',
        'queries',
        'finished',
        'failed',
        'running peak',
        'queued peak',
        'queue wait p50 ms',
        'p95',
        'p99',
        'max',
        'total p50 ms',
        'p95',
        'p99',
        'max',
      ],
      rows: sim.clusters.map((row) => [
        row.cluster,
        row.routingGroup,
        row.queries,
        row.finished,
        row.failed,
        row.runningPeak,
        row.queuedPeak,
        ...lat(row.queueWait),
        ...lat(row.latency),
      ]),
    },
    {
      title: 'Per resource group',
      head: [
        'resource group',
        'queries',
        'finished',
        'failed',
        'queued peak',
        'queue wait p50 ms',
        'p95',
        'p99',
        'max',
        'total p50 ms',
        'p95',
        'p99',
        'starvation ms',
        'longest starvation ms',
      ],
      rows: sim.resourceGroups.map((row) => [
        row.resourceGroup,
        row.queries,
        row.finished,
        row.failed,
        row.queuedPeak,
        ...lat(row.queueWait),
        row.latency.p50Ms,
        row.latency.p95Ms,
        row.latency.p99Ms,
        row.starvationMs,
        row.starvationStretchMsMax,
      ]),
    },
    ...(['routingGroups', 'clients'] as const).map((key) => ({
      title: key === 'routingGroups' ? 'Per routing group' : 'Per client',
      head: [
        key === 'routingGroups' ? 'routing group' : 'client',
        'queries',
        'finished',
        'failed',
        'total p50 ms',
        'p95',
        'p99',
        'max',
        'queued p95 ms',
      ],
      rows: sim[key].map((row) => [
        row.key,
        row.queries,
        row.finished,
        row.failed,
        ...lat(row.latency),
        row.queued.p95Ms,
      ]),
    })),
  ]
}

function facts(report: SimReport, context: ReportContext, reportDigest: string): string[] {
  const sim = report.simulation
  const overrides = Object.entries(sim.overrides)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} ${value}`)
  const held = report.expectations.filter((expectation) => expectation.passed).length
  return [
    `file: ${context.scenarioFile}`,
    `simulated (virtual time), seed ${report.seed}, code ${report.codeVersion}${overrides.length === 0 ? '' : `, overrides: ${overrides.join(', ')}`}`,
    `${sim.queriesTotal} queries on ${sim.clustersTotal} clusters in ${(sim.virtualDurationMs / 1000).toFixed(1)} s of virtual time, ${sim.eventsProcessed} events, ${sim.decisions} routing decisions; ${held} of ${report.expectations.length} expectations hold`,
    `routing decision digest: ${report.routingDecisionDigest}`,
    `report digest (sha256 of report.json): ${reportDigest}`,
    `rerun: ${context.rerunCommand}`,
  ]
}

function cell(value: string | number): string {
  return String(value).replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function reportMarkdown(built: BuiltReport, context: ReportContext): string {
  const { report } = built
  const lines = [
    `# Scenario ${report.scenario} (simulated): ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    context.description.trim(),
    '',
    ...facts(report, context, built.reportDigest).map((fact) => `- ${fact}`),
    '',
    '## Expectations',
    '',
    '| | expectation | expected | actual |',
    '|---|---|---|---|',
    ...report.expectations.map(
      (e) =>
        `| ${e.passed ? 'pass' : '**FAIL**'} | ${cell(e.name)} | ${cell(e.expected)} | ${cell(e.actual)} |`,
    ),
    '',
    '## Queries',
    '',
  ]
  for (const table of tables(report)) {
    lines.push(`### ${table.title}`, '')
    if (table.rows.length === 0) {
      lines.push('(none)', '')
      continue
    }
    lines.push(
      `| ${table.head.map(cell).join(' | ')} |`,
      `|---|${table.head
        .slice(1)
        .map(() => '---:')
        .join('|')}|`,
    )
    for (const row of table.rows) lines.push(`| ${row.map(cell).join(' | ')} |`)
    lines.push('')
  }
  lines.push(
    'Starvation: the time a resource group had queries waiting and none running, summed over clusters.',
    '',
  )
  return `${lines.join('\n')}\n`
}

function html(text: string | number): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

export function reportHtml(built: BuiltReport, context: ReportContext): string {
  const { report } = built
  const body = [
    `<h1>Scenario ${html(report.scenario)} (simulated): ${report.passed ? 'PASSED' : '<span class="fail">FAILED</span>'}</h1>`,
    `<p>${html(context.description.trim())}</p>`,
    `<ul>${facts(report, context, built.reportDigest)
      .map((fact) => `<li>${html(fact)}</li>`)
      .join('')}</ul>`,
    '<h2>Expectations</h2>',
    '<table><tr><th></th><th>expectation</th><th>expected</th><th>actual</th></tr>',
    ...report.expectations.map(
      (e) =>
        `<tr><td>${e.passed ? 'pass' : '<span class="fail">FAIL</span>'}</td><td>${html(e.name)}</td><td>${html(e.expected)}</td><td>${html(e.actual)}</td></tr>`,
    ),
    '</table>',
    ...tables(report).flatMap((table) => [
      `<h2>${html(table.title)}</h2>`,
      `<table><tr>${table.head.map((name) => `<th>${html(name)}</th>`).join('')}</tr>`,
      ...table.rows.map(
        (row) =>
          `<tr>${row.map((value, index) => `<td${index === 0 ? '' : ' class="n"'}>${html(value)}</td>`).join('')}</tr>`,
      ),
      '</table>',
    ]),
  ]
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(report.scenario)} (simulated)</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right}.fail{color:#b00;font-weight:bold}</style>
</head><body>
${body.join('\n')}
</body></html>
`
}

/** Writes report.json, report.md, report.html, junit.xml and (when kept) trace.jsonl. */
export async function writeSimReport(
  dir: string,
  built: BuiltReport,
  result: SimResult,
  context: ReportContext,
): Promise<void> {
  await mkdir(dir, { recursive: true })
  const writes = [
    writeFile(path.join(dir, 'report.json'), built.json),
    writeFile(path.join(dir, 'report.md'), reportMarkdown(built, context)),
    writeFile(path.join(dir, 'report.html'), reportHtml(built, context)),
    writeFile(path.join(dir, 'junit.xml'), junitXml([{ report: built.report, durationMs: result.endMs }])),
  ]
  if (result.trace.length > 0) {
    writes.push(
      writeFile(
        path.join(dir, 'trace.jsonl'),
        result.trace.map((line) => `${JSON.stringify(line)}\n`).join(''),
      ),
    )
  }
  await Promise.all(writes)
}
