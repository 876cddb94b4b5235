import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { scenarioJsonSchema } from './json-schema.ts'
import { checkScenarioText } from './loader.ts'

/**
 * docs/scenarios.md documents every field by example: each ```yaml block is a valid scenario, each
 * ```yaml fragment block is valid once merged into a small base scenario, and together the examples
 * use every key the schema defines.
 */

const docsFile = path.resolve(import.meta.dirname, '../../docs/scenarios.md')

const base = {
  name: 'docs-base',
  description: 'The base a fragment of docs/scenarios.md is merged into.',
  seed: 1,
  clusters: [
    { name: 'trino-a', routingGroup: 'adhoc' },
    { name: 'trino-b', routingGroup: 'etl' },
  ],
  clients: [{ name: 'c', sql: 'SELECT 1' }],
  expectations: [{ kind: 'errors' }],
}

/** Keys whose values are free-form maps (or another program's format): their inner keys are not ours. */
const opaqueKeys = new Set(['config', 'mock', 'set', 'session', 'extra', 'shares', 'groups', 'counts'])

function documentPaths(value: unknown, prefix: string, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) documentPaths(item, `${prefix}[]`, out)
    return
  }
  if (value === null || typeof value !== 'object') return
  for (const [key, inner] of Object.entries(value)) {
    const keyPath = prefix === '' ? key : `${prefix}.${key}`
    out.add(keyPath)
    if (!opaqueKeys.has(key)) documentPaths(inner, keyPath, out)
  }
}

function schemaPaths(node: unknown, prefix: string, out: Set<string>): void {
  if (node === null || typeof node !== 'object') return
  const schema = node as Record<string, unknown>
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    for (const alternative of (schema[key] as unknown[] | undefined) ?? [])
      schemaPaths(alternative, prefix, out)
  }
  if (schema.items !== undefined) schemaPaths(schema.items, `${prefix}[]`, out)
  const properties = (schema.properties ?? {}) as Record<string, unknown>
  for (const [key, inner] of Object.entries(properties)) {
    const keyPath = prefix === '' ? key : `${prefix}.${key}`
    out.add(keyPath)
    if (!opaqueKeys.has(key)) schemaPaths(inner, keyPath, out)
  }
}

async function examples(): Promise<Array<{ kind: 'scenario' | 'fragment'; text: string; line: number }>> {
  const markdown = await readFile(docsFile, 'utf8')
  const found: Array<{ kind: 'scenario' | 'fragment'; text: string; line: number }> = []
  for (const match of markdown.matchAll(/^```yaml( fragment)?\n([\s\S]*?)^```$/gm)) {
    found.push({
      kind: match[1] === undefined ? 'scenario' : 'fragment',
      text: match[2] as string,
      line: markdown.slice(0, match.index).split('\n').length,
    })
  }
  return found
}

describe('docs/scenarios.md', () => {
  it('has examples, every one of them a valid scenario or fragment', async () => {
    const blocks = await examples()
    expect(blocks.filter((block) => block.kind === 'scenario').length).toBeGreaterThan(0)
    expect(blocks.filter((block) => block.kind === 'fragment').length).toBeGreaterThan(10)
    for (const block of blocks) {
      const text = block.kind === 'scenario' ? block.text : stringify({ ...base, ...parse(block.text) })
      const result = checkScenarioText(text)
      expect(result.ok ? [] : result.problems, `docs/scenarios.md block at line ${block.line}`).toEqual([])
    }
  })

  it('shows every field of the format in an example', async () => {
    const documented = new Set<string>()
    for (const block of await examples()) documentPaths(parse(block.text), '', documented)
    const defined = new Set<string>()
    schemaPaths(scenarioJsonSchema(), '', defined)
    defined.delete('$schema')
    const missing = [...defined].filter((keyPath) => !documented.has(keyPath)).sort()
    expect(missing).toEqual([])
    expect(defined.size).toBeGreaterThan(50)
  })
})
