/**
 * `npm run replay -- <trace.jsonl | query_history export> [--scenario S] [--rules FILE] [--seed N]`:
 * feeds recorded requests through the routing core and prints every decision that differs from the
 * recorded one, with the rule or tie that made it. Exit 0 when none differs, 1 when some do, 2 when
 * the input cannot be replayed. Without --scenario, the report.json beside the trace names the
 * scenario and the seed.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { CodedError } from '../common/errors.ts'
import { loadRules } from '../gateway/routing/rules/loader.ts'
import type { BackendRecord } from '../gateway/store/types.ts'
import { loadScenarioFile, resolveScenarioPath } from '../harness/scenario/loader.ts'
import { simError } from './errors.ts'
import {
  formatDifference,
  parseReplayInput,
  type ReplayResult,
  replay,
  replayDifferencesListedMax,
} from './replay.ts'
import type { RoutingSetup } from './routing.ts'
import { buildTopology } from './topology.ts'

const usage =
  'usage: npm run replay -- <trace.jsonl | query_history export> [--scenario <name or file>] [--rules <routing-rules file>] [--seed N]'

const reportHeadSchema = z.object({ scenario: z.string(), seed: z.number().int() })

export interface ReplayRun {
  result: ReplayResult
  setup: RoutingSetup
  lines: string[]
}

/** Everything `npm run replay` does but printing and exiting; tests call it. */
export async function runReplay(argv: readonly string[]): Promise<ReplayRun> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw simError('SIM_USAGE', `${(error as Error).message}\n${usage}`)
  }
  const { values, positionals } = parsed
  if (positionals.length !== 1) throw simError('SIM_USAGE', `expected one input file\n${usage}`)
  const file = path.resolve(positionals[0] as string)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw simError('REPLAY_INPUT_UNREADABLE', `${file}: ${(error as Error).message}`)
  }
  const head = reportHead(path.join(path.dirname(file), 'report.json'))
  const scenarioName = values.scenario ?? head?.scenario
  if (scenarioName === undefined) {
    throw simError('SIM_USAGE', `no report.json beside ${file} names the scenario: give --scenario\n${usage}`)
  }
  const seedText = values.seed
  const seed = seedText === undefined ? head?.seed : Number(seedText)
  if (seed !== undefined && !Number.isInteger(seed))
    throw simError('SIM_USAGE', `--seed expects a whole number, got ${seedText}`)
  const loaded = await loadScenarioFile(resolveScenarioPath(scenarioName))
  const topology = buildTopology(loaded, { seed })
  let setup = topology.routing
  if (values.rules !== undefined) {
    const rulesFile = path.resolve(values.rules)
    let rulesText: string
    try {
      rulesText = readFileSync(rulesFile, 'utf8')
    } catch (error) {
      throw simError('REPLAY_INPUT_UNREADABLE', `--rules ${rulesFile}: ${(error as Error).message}`)
    }
    setup = {
      ...setup,
      selection: {
        kind: 'rules',
        rules: loadRules(rulesText, { analyzeRequest: topology.analyzer.analyzeRequest, source: rulesFile }),
        mode: topology.evaluation,
        analyzer: topology.analyzer,
      },
    }
  }
  const backends: BackendRecord[] = topology.clusters.map((cluster) => ({
    name: cluster.name,
    routingGroup: cluster.routingGroup,
    proxyTo: `sim://${cluster.name}`,
    externalUrl: null,
    active: cluster.spec.active,
  }))
  const input = parseReplayInput(text, path.relative(process.cwd(), file))
  const result = replay(input, setup, backends)
  const lines = result.differences.slice(0, replayDifferencesListedMax).map(formatDifference)
  if (result.differences.length > replayDifferencesListedMax) {
    lines.push(`and ${result.differences.length - replayDifferencesListedMax} more`)
  }
  lines.push(
    `${result.replayed} decisions replayed (${result.format}, scenario ${topology.scenario.name}, seed ${topology.seed}${values.rules === undefined ? '' : `, rules ${values.rules}`}); ${result.skipped} lines skipped (sticky follow-ups or observations); ${result.differences.length} differ`,
  )
  return { result, setup, lines }
}

function reportHead(file: string): z.output<typeof reportHeadSchema> | undefined {
  if (!existsSync(file)) return undefined
  try {
    const parsed = reportHeadSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { scenario: { type: 'string' }, rules: { type: 'string' }, seed: { type: 'string' } },
  })
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  runReplay(process.argv.slice(2)).then(
    ({ result, lines }) => {
      for (const line of lines) process.stdout.write(`${line}\n`)
      process.exit(result.differences.length === 0 ? 0 : 1)
    },
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof CodedError ? `${error.code}: ${error.message}` : String(error)}\n`,
      )
      process.exit(2)
    },
  )
}
