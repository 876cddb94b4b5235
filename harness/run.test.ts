import { describe, expect, it } from 'vitest'
import { rerunCommandFor, runIdFor } from './run.ts'

describe('run identity', () => {
  it('names a run by its UTC start second and seed', () => {
    expect(runIdFor(new Date('2026-11-26T11:13:59.123Z'), 42)).toBe('20261126T111359Z-seed42')
  })

  it.each([
    {
      invokedAs: 'adhoc-fallback',
      gatewayUrl: undefined,
      command: 'npm run scenario -- adhoc-fallback --seed 7',
    },
    {
      invokedAs: 'scenarios/blue-green.yaml',
      gatewayUrl: undefined,
      command: 'npm run scenario -- scenarios/blue-green.yaml --seed 7',
    },
    {
      invokedAs: 'my dir/x.yaml',
      gatewayUrl: undefined,
      command: 'npm run scenario -- "my dir/x.yaml" --seed 7',
    },
    {
      invokedAs: 'sticky-ha',
      gatewayUrl: 'http://127.0.0.1:8080',
      command: 'npm run scenario -- sticky-ha --seed 7 --gateway-url http://127.0.0.1:8080',
    },
  ])('reruns $invokedAs with the same seed', ({ invokedAs, gatewayUrl, command }) => {
    expect(rerunCommandFor(invokedAs, 7, gatewayUrl)).toBe(command)
  })
})
