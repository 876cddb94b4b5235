import { describe, expect, it } from 'vitest'
import { committedScenarioJsonSchema, renderScenarioJsonSchema } from './json-schema.ts'

describe('scenario JSON Schema', () => {
  it('is committed as generated from the zod schema (rerun: npx tsx harness/scenario/json-schema.ts)', async () => {
    expect(await committedScenarioJsonSchema()).toBe(renderScenarioJsonSchema())
  })

  it('lists every expectation kind for editors', () => {
    const text = renderScenarioJsonSchema()
    for (const kind of [
      'ranOn',
      'clusterShares',
      'balance',
      'routingGroup',
      'resourceGroup',
      'latency',
      'startShares',
      'errors',
      'noGatewayErrors',
      'backendHeader',
    ]) {
      expect(text).toContain(`"const": "${kind}"`)
    }
  })
})
