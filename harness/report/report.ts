import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { ExpectationResult, ObservedQuery } from '../expect/expectations.ts'
import { percentile } from '../expect/expectations.ts'
import { junitXml } from './junit.ts'

/** `report.json`: exactly the fields the harness issue lists. */
export interface Report {
  scenario: string
  seed: number
  /** `git:<commit>` (`+dirty` with uncommitted changes), or `package:<version>` outside git. */
  codeVersion: string
  passed: boolean
  expectations: Array<Pick<ExpectationResult, 'name' | 'passed' | 'expected' | 'actual'>>
  queries: ReportQuery[]
  routingDecisionDigest: string
  /**
   * Monitor rounds the harness had the gateway run (clients with `waves`), and how many queries
   * had ended at their cluster before the last of them: with none, every count the router saw
   * was fixed by the scenario, not by timing.
   */
  monitorRounds?: { driven: number; queriesEndedBeforeLast: number }
}

export interface ReportQuery {
  client: string
  seq: number
  traceToken: string
  cluster: string | null
  routingGroup: string | null
  resourceGroup: string | null
  state: string
  errorName: string | null
  queuedMs: number
  runMs: number
  totalMs: number
}

/** What report.md adds for a person: where the run came from and how to repeat it. */
export interface RunContext {
  runId: string
  scenarioFile: string
  description: string
  rerunCommand: string
  durationMs: number
  /** Where the digest's decisions came from. */
  decisionSource: 'gateway' | 'observed'
}

const repoRoot = path.resolve(import.meta.dirname, '../..')
/** `git` may hang on a broken repository; the version is informational, so it gets a short bound. */
const gitTimeoutMs = 5000

export function codeVersion(cwd = repoRoot): string {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      timeout: gitTimeoutMs,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim()
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      timeout: gitTimeoutMs,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString()
    return `git:${commit}${status.trim() === '' ? '' : '+dirty'}`
  } catch {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version?: string }
    return `package:${pkg.version ?? 'unknown'}`
  }
}

export function toReportQuery(query: ObservedQuery): ReportQuery {
  return {
    client: query.client,
    seq: query.seq,
    traceToken: query.traceToken,
    cluster: query.cluster ?? null,
    routingGroup: query.routingGroup ?? null,
    resourceGroup: query.resourceGroup ?? null,
    state: query.state,
    errorName: query.errorName ?? null,
    queuedMs: query.queuedMs,
    runMs: query.runMs,
    totalMs: query.totalMs,
  }
}

export async function writeReportFiles(
  dir: string,
  report: Report,
  context: RunContext,
  traceLines: readonly unknown[],
): Promise<void> {
  await mkdir(dir, { recursive: true })
  await Promise.all([
    writeFile(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`),
    writeFile(path.join(dir, 'report.md'), reportMarkdown(report, context)),
    writeFile(path.join(dir, 'junit.xml'), junitXml([{ report, durationMs: context.durationMs }])),
    writeFile(path.join(dir, 'trace.jsonl'), traceLines.map((line) => `${JSON.stringify(line)}\n`).join('')),
  ])
}

interface GroupRow {
  key: string
  queries: number
  finished: number
  failed: number
  p50TotalMs: number
  p95TotalMs: number
  p95QueuedMs: number
}

/** Per-key rows: count, outcome and latency of the queries of each cluster, group or client. */
export function summarize(
  queries: readonly ReportQuery[],
  keyOf: (query: ReportQuery) => string,
): GroupRow[] {
  const groups = new Map<string, ReportQuery[]>()
  for (const query of queries) groups.set(keyOf(query), [...(groups.get(keyOf(query)) ?? []), query])
  return [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, members]) => ({
      key,
      queries: members.length,
      finished: members.filter((query) => query.state === 'FINISHED').length,
      failed: members.filter((query) => query.state !== 'FINISHED').length,
      p50TotalMs: percentile(
        members.map((query) => query.totalMs),
        50,
      ),
      p95TotalMs: percentile(
        members.map((query) => query.totalMs),
        95,
      ),
      p95QueuedMs: percentile(
        members.map((query) => query.queuedMs),
        95,
      ),
    }))
}

function table(title: string, rows: GroupRow[], total: number): string {
  if (rows.length === 0) return `### ${title}\n\n(no queries)\n`
  const lines = [
    `### ${title}`,
    '',
    `| ${title.toLowerCase().replace(/^per /, '')} | queries | share | finished | failed | p50 total ms | p95 total ms | p95 queued ms |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${escapeCell(row.key)} | ${row.queries} | ${((row.queries / total) * 100).toFixed(1)}% | ${row.finished} | ${row.failed} | ${row.p50TotalMs} | ${row.p95TotalMs} | ${row.p95QueuedMs} |`,
    ),
  ]
  return `${lines.join('\n')}\n`
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function reportMarkdown(report: Report, context: RunContext): string {
  const total = report.queries.length
  const failedExpectations = report.expectations.filter((expectation) => !expectation.passed).length
  const lines = [
    `# Scenario ${report.scenario}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    context.description.trim(),
    '',
    `- file: \`${context.scenarioFile}\``,
    `- run: \`${context.runId}\`, seed ${report.seed}, code ${report.codeVersion}`,
    `- ${total} queries in ${(context.durationMs / 1000).toFixed(1)} s; ${report.expectations.length - failedExpectations} of ${report.expectations.length} expectations hold`,
    `- routing decision digest (${context.decisionSource === 'gateway' ? "from the gateway's decision records" : 'from the clusters that ran each query; the gateway was a black box'}): \`${report.routingDecisionDigest}\``,
    `- rerun: \`${context.rerunCommand}\``,
    '',
    '## Expectations',
    '',
    '| | expectation | expected | actual |',
    '|---|---|---|---|',
    ...report.expectations.map(
      (expectation) =>
        `| ${expectation.passed ? 'pass' : '**FAIL**'} | ${escapeCell(expectation.name)} | ${escapeCell(expectation.expected)} | ${escapeCell(expectation.actual)} |`,
    ),
    '',
    '## Queries',
    '',
    table(
      'Per cluster',
      summarize(report.queries, (query) => query.cluster ?? '(none)'),
      total,
    ),
    table(
      'Per routing group',
      summarize(report.queries, (query) => query.routingGroup ?? '(none)'),
      total,
    ),
    table(
      'Per resource group',
      summarize(report.queries, (query) => query.resourceGroup ?? '(none)'),
      total,
    ),
    table(
      'Per client',
      summarize(report.queries, (query) => query.client),
      total,
    ),
  ]
  const errors = report.queries.filter((query) => query.errorName !== null)
  if (errors.length > 0) {
    lines.push('## Errors', '', '| trace token | cluster | error |', '|---|---|---|')
    for (const query of errors.slice(0, errorsListedMax)) {
      lines.push(`| ${query.traceToken} | ${query.cluster ?? '(none)'} | ${query.errorName} |`)
    }
    if (errors.length > errorsListedMax)
      lines.push('', `and ${errors.length - errorsListedMax} more (report.json has all)`)
    lines.push('')
  }
  return `${lines.join('\n')}\n`
}

/** Failed queries listed in report.md; report.json keeps every one. */
export const errorsListedMax = 50
