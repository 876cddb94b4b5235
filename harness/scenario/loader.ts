import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml'
import type { z } from 'zod'
import { CodedError } from '../../common/errors.ts'
import { parseGatewayConfig } from '../../gateway/config.ts'
import { HarnessError } from '../errors.ts'
import { withExternalRouterUrl } from '../topology/external-router.ts'
import { type Scenario, scenarioSchema } from './schema.ts'

/** The folder of the committed scenarios, where a bare name is looked up. */
export const scenariosDir = path.resolve(import.meta.dirname, '../../scenarios')

/** Stands in for the external router's URL when a scenario's gateway config is checked. */
const externalRouterUrlExample = 'http://127.0.0.1:1/route'

/** Bounds alias expansion of a scenario file (YAML alias bombs). */
export const yamlAliasesMax = 100

/** A problem of a scenario file, located in the file. */
export interface ScenarioProblem {
  /** Path inside the document, `clients[0].queries`; '(root)' for the document itself. */
  path: string
  /** 1-based; 0 when the file has no source position for it. */
  line: number
  column: number
  message: string
  /** The bad value when there is one (absent for a missing key). */
  value?: unknown
}

export interface LoadedScenario {
  scenario: Scenario
  /** Absolute path of the file; relative paths inside it resolve against its folder. */
  file: string
  dir: string
}

/** `adhoc-fallback` -> scenarios/adhoc-fallback.yaml; anything with a slash or suffix is a path. */
export function resolveScenarioPath(nameOrPath: string, cwd = process.cwd()): string {
  const looksLikePath = nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath)
  const candidates = looksLikePath
    ? [path.resolve(cwd, nameOrPath)]
    : [path.join(scenariosDir, `${nameOrPath}.yaml`), path.join(scenariosDir, `${nameOrPath}.yml`)]
  const found = candidates.find((candidate) => existsSync(candidate))
  if (found === undefined) {
    throw new HarnessError('SCENARIO_NOT_FOUND', `${nameOrPath} (looked for ${candidates.join(', ')})`, {
      candidates,
    })
  }
  return found
}

export async function loadScenarioFile(file: string): Promise<LoadedScenario> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new HarnessError('SCENARIO_UNREADABLE', `${file}: ${(error as Error).message}`)
  }
  const scenario = parseScenarioText(text, file)
  return { scenario, file: path.resolve(file), dir: path.dirname(path.resolve(file)) }
}

/**
 * Parses and validates scenario YAML. Throws a `SCENARIO_INVALID` HarnessError whose message lists
 * every problem as `file:line:column path: message (got value)`, and whose `details.problems`
 * holds them as data.
 */
export function parseScenarioText(text: string, sourceName: string): Scenario {
  const result = checkScenarioText(text)
  if (result.ok) return result.scenario
  const lines = result.problems.map((problem) => formatProblem(sourceName, problem))
  throw new HarnessError(
    'SCENARIO_INVALID',
    `${sourceName}\n${lines.map((line) => `  ${line}`).join('\n')}`,
    {
      file: sourceName,
      problems: result.problems,
    },
  )
}

export type CheckResult = { ok: true; scenario: Scenario } | { ok: false; problems: ScenarioProblem[] }

/** Validation as data: every problem of the text, each located by line and column. */
export function checkScenarioText(text: string): CheckResult {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0])
        return {
          path: '(root)',
          line: position.line,
          column: position.col,
          message: `YAML syntax: ${error.message.split('\n')[0]}`,
        }
      }),
    }
  }
  let data: unknown
  try {
    // Aliases to missing anchors and alias bombs fail here, not in the parser.
    data = doc.toJS({ maxAliasCount: yamlAliasesMax })
  } catch (error) {
    return {
      ok: false,
      problems: [
        { path: '(root)', line: 1, column: 1, message: `YAML: ${(error as Error).message.split('\n')[0]}` },
      ],
    }
  }
  const parsed = scenarioSchema.safeParse(data)
  if (parsed.success) {
    const problems = gatewayConfigProblems(parsed.data, doc.contents, lineCounter)
    return problems.length === 0 ? { ok: true, scenario: parsed.data } : { ok: false, problems }
  }
  const problems = flattenIssues(parsed.error.issues).map((issue) => {
    const position = locate(doc.contents, issue.path, issue.code === 'unrecognized_keys' ? issue.keys : [])
    const { line, col } = position === undefined ? { line: 0, col: 0 } : lineCounter.linePos(position)
    const value = valueAt(data, issue.path)
    return {
      path: formatPath(issue.path),
      line,
      column: col,
      message:
        value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')
          ? `missing: ${describeIssue(issue).replace(/, received undefined$/, '')}`
          : describeIssue(issue),
      ...(value === undefined || issue.code === 'unrecognized_keys' ? {} : { value }),
    }
  })
  problems.sort((a, b) => a.line - b.line || a.column - b.column)
  return { ok: false, problems }
}

/**
 * The inline gateway config is Trino Gateway's config.yaml: the gateway's own parser judges it, and
 * its problems are located inside the scenario file under `gateway.config`.
 */
function gatewayConfigProblems(
  scenario: Scenario,
  root: unknown,
  lineCounter: LineCounter,
): ScenarioProblem[] {
  const config = scenario.gateway.config
  if (config === undefined) return []
  try {
    // The runner points urlPath at the router it starts; any loopback URL stands in for it here.
    const document =
      scenario.externalRouter === undefined ? config : withExternalRouterUrl(config, externalRouterUrlExample)
    parseGatewayConfig(document, 'gateway.config')
    return []
  } catch (error) {
    if (!(error instanceof CodedError)) throw error
    const lines = error.details?.problems
    const texts = Array.isArray(lines) && lines.length > 0 ? lines.map(String) : [error.message]
    const problems = texts.map((text): ScenarioProblem => {
      // Lines read `key.path: message (got value)`; the path is inside gateway.config.
      const separator = text.indexOf(': ')
      const keyPath = separator > 0 && !text.slice(0, separator).includes(' ') ? text.slice(0, separator) : ''
      const issuePath = ['gateway', 'config', ...(keyPath === '' ? [] : keyPath.split('.'))]
      const position = locate(root, issuePath, [])
      const { line, col } = position === undefined ? { line: 0, col: 0 } : lineCounter.linePos(position)
      return {
        path: `gateway.config${keyPath === '' ? '' : `.${keyPath}`}`,
        line,
        column: col,
        message: `${error.code}: ${keyPath === '' ? text : text.slice(separator + 2)}`,
      }
    })
    return problems.sort((a, b) => a.line - b.line || a.column - b.column)
  }
}

export function formatProblem(sourceName: string, problem: ScenarioProblem): string {
  const where = problem.line > 0 ? `${sourceName}:${problem.line}:${problem.column}` : sourceName
  const got = problem.value === undefined ? '' : ` (got ${JSON.stringify(problem.value)})`
  return `${where} ${problem.path}: ${problem.message}${got}`
}

interface FlatIssue {
  code: string
  path: PropertyKey[]
  message: string
  keys: string[]
  expected?: string
}

/**
 * Unions report one issue per branch; a reader wants the branch the value was meant for. When one
 * branch got past the root (its issues are deeper than the union itself), its issues are the
 * helpful ones; otherwise the union is reported as one "expected one of" issue.
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): FlatIssue[] {
  return issues.flatMap((issue): FlatIssue[] => {
    const issuePath = [...prefix, ...issue.path]
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const deep = issue.errors.filter((branch) => branch.every((inner) => inner.path.length > 0))
      if (deep.length === 1) return flattenIssues(deep[0] as z.core.$ZodIssue[], issuePath)
      const expected = issue.errors
        .map((branch) => branch.map((inner) => expectedOf(inner)).join(' and '))
        .filter((text) => text !== '')
      return [
        {
          code: issue.code,
          path: issuePath,
          message: `expected one of: ${[...new Set(expected)].join('; ')}`,
          keys: [],
        },
      ]
    }
    return [
      {
        code: issue.code,
        path: issuePath,
        message: issue.message,
        keys: issue.code === 'unrecognized_keys' ? issue.keys : [],
      },
    ]
  })
}

function expectedOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return issue.expected
  if (issue.code === 'invalid_value') return issue.values.map((value) => JSON.stringify(value)).join(' or ')
  return issue.message
}

function describeIssue(issue: FlatIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}: expected only the keys the format defines (see docs/scenarios.md)`
  }
  return issue.message.replace(/^Invalid input: /, '')
}

function formatPath(issuePath: readonly PropertyKey[]): string {
  let out = ''
  for (const key of issuePath) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out === '' ? '(root)' : out
}

/**
 * The source offset of the deepest node on the path. An unknown key points at the key itself; a
 * missing key at the map that lacks it.
 */
function locate(
  root: unknown,
  issuePath: readonly PropertyKey[],
  unknownKeys: readonly string[],
): number | undefined {
  let node = root as Node | null | undefined
  let offset = node?.range?.[0]
  for (const key of issuePath) {
    const next = childOf(node, key)
    if (next === undefined) break
    node = next.value ?? undefined
    offset = next.offset ?? offset
  }
  const firstUnknown = unknownKeys[0]
  if (firstUnknown !== undefined && isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === firstUnknown)
    const keyNode = pair?.key as Node | undefined
    if (keyNode?.range) return keyNode.range[0]
  }
  return offset
}

function childOf(
  node: unknown,
  key: PropertyKey,
): { value: Node | null; offset: number | undefined } | undefined {
  if (node === null || typeof node !== 'object') return undefined
  const collection = node as { items?: unknown[] }
  if (!Array.isArray(collection.items)) return undefined
  if (typeof key === 'number') {
    const item = collection.items[key] as Node | undefined
    return item === undefined ? undefined : { value: item, offset: item.range?.[0] }
  }
  for (const item of collection.items) {
    const pair = item as { key?: unknown; value?: unknown }
    if (isScalar(pair.key) && String(pair.key.value) === String(key)) {
      const value = (pair.value ?? null) as Node | null
      return { value, offset: value?.range?.[0] ?? (pair.key as Node).range?.[0] }
    }
  }
  return undefined
}

function valueAt(root: unknown, issuePath: readonly PropertyKey[]): unknown {
  let current: unknown = root
  for (const key of issuePath) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}
