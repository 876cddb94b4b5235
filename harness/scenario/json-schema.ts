import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { scenarioSchema } from './schema.ts'

/**
 * `scenarios/scenario.schema.json`, generated from the zod schema so editors complete and check
 * scenario files (`# yaml-language-server: $schema=./scenario.schema.json`). A test fails when the
 * committed file is stale; `npx tsx harness/scenario/json-schema.ts` rewrites it.
 */
export const scenarioJsonSchemaFile = path.resolve(
  import.meta.dirname,
  '../../scenarios/scenario.schema.json',
)

export function scenarioJsonSchema(): Record<string, unknown> {
  // Input form: fields with defaults are optional to a person writing the file.
  const schema = z.toJSONSchema(scenarioSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  })
  return {
    ...schema,
    $id: 'https://trino-gateway-lab.invalid/scenario.schema.json',
    title: 'trino-gateway-lab scenario',
    description:
      'One behaviour of a Trino Gateway, with its topology, clients, timed actions and expectations.',
  }
}

export function renderScenarioJsonSchema(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`
}

export async function committedScenarioJsonSchema(): Promise<string | undefined> {
  return readFile(scenarioJsonSchemaFile, 'utf8').catch(() => undefined)
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  await writeFile(scenarioJsonSchemaFile, renderScenarioJsonSchema())
  console.log(`wrote ${path.relative(process.cwd(), scenarioJsonSchemaFile)}`)
}
