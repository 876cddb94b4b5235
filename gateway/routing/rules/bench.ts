/**
 * Benchmark: evaluating 100 rules for one request (issue 5 asks for a median under 20 µs).
 * `npx tsx gateway/routing/rules/bench.ts [reportPath]` prints the figures and writes them as JSON
 * (default reports/rules-evaluation-benchmark.json). Bounded: a fixed number of rounds.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { dirname } from 'node:path'
import { requestAnalyzerConfigSchema } from '../analyzer/config.ts'
import type { RoutingRequest } from '../selector.ts'
import { createScope, evaluateRules } from './engine.ts'
import { loadRules } from './loader.ts'

const rulesCount = 100
const rounds = 2_000
/** Rounds run before measuring, so the figures describe optimized code, not the JIT's warm-up. */
const warmupRounds = 200
const requestsPerRound = 50

const text = Array.from(
  { length: rulesCount },
  (_, i) => `---
name: "rule ${i}"
priority: ${i % 7}
condition: 'request.getHeader("X-Trino-Source") == "source-${i}" || (request.getHeader("X-Trino-Client-Tags") contains "tag-${i}" && request.getHeader("X-Trino-User") != "nobody")'
actions:
  - 'result.put("routingGroup", "group-${i}")'
`,
).join('')
const rules = loadRules(text, { analyzeRequest: false, source: 'bench' })
const analyzer = requestAnalyzerConfigSchema.parse(undefined)
const request: RoutingRequest = {
  method: 'POST',
  path: '/v1/statement',
  queryString: '',
  headers: { 'x-trino-source': 'source-42', 'x-trino-client-tags': 'a,tag-77', 'x-trino-user': 'alice' },
  body: 'SELECT 1',
  remoteAddress: '127.0.0.1',
}

const perRequestUs: number[] = []
// CPU time of this process per request: on a shared machine the wall clock also counts the time the
// scheduler gave other processes, so both are reported.
const cpuPerRequestUs: number[] = []
let sink = ''
const loadAverageAtStart = loadavg()[0] as number
for (let round = 0; round < warmupRounds + rounds; round += 1) {
  const cpuStart = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (let i = 0; i < requestsPerRound; i += 1) {
    sink = evaluateRules(rules, createScope(request, analyzer), 'all-matches').routingGroup ?? sink
  }
  const wallNs = process.hrtime.bigint() - start
  const cpu = process.cpuUsage(cpuStart)
  if (round >= warmupRounds) {
    perRequestUs.push(Number(wallNs) / 1000 / requestsPerRound)
    cpuPerRequestUs.push((cpu.user + cpu.system) / requestsPerRound)
  }
}
perRequestUs.sort((a, b) => a - b)
cpuPerRequestUs.sort((a, b) => a - b)
const quantile = (values: readonly number[], q: number) =>
  values[Math.min(values.length - 1, Math.floor(q * values.length))] as number
const at = (q: number) => quantile(perRequestUs, q)
const report = {
  benchmark: 'routing rules: 100 rules evaluated for one request',
  rulesCount,
  samples: rounds,
  requestsPerSample: requestsPerRound,
  warmupSamples: warmupRounds,
  medianUs: at(0.5),
  p90Us: at(0.9),
  p99Us: at(0.99),
  cpuMedianUs: quantile(cpuPerRequestUs, 0.5),
  cpuP90Us: quantile(cpuPerRequestUs, 0.9),
  targetMedianUs: 20,
  routedTo: sink,
  // The machine is shared: the one-minute load average says how much CPU the figures competed for.
  loadAverage1mAtStart: loadAverageAtStart,
  loadAverage1mAtEnd: loadavg()[0] as number,
  cpus: availableParallelism(),
  node: process.version,
  at: new Date().toISOString(),
}
const path = process.argv[2] ?? 'reports/rules-evaluation-benchmark.json'
mkdirSync(dirname(path), { recursive: true })
writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`)
console.log(JSON.stringify(report))
