import { describe, expect, it } from 'vitest'
import {
  type InfoProbeOutcome,
  isRoutable,
  shouldRetryInfoProbe,
  statusAfterLifecycle,
  statusFromInfoProbe,
} from './trino-status.ts'

describe('INFO_API health', () => {
  it.each<[string, InfoProbeOutcome, string]>([
    ['starting:false', { kind: 'response', statusCode: 200, body: { starting: false } }, 'HEALTHY'],
    ['starting:true', { kind: 'response', statusCode: 200, body: { starting: true } }, 'PENDING'],
    ['no starting field', { kind: 'response', statusCode: 200, body: {} }, 'UNHEALTHY'],
    ['a non-JSON body', { kind: 'response', statusCode: 200, body: 'hello' }, 'UNHEALTHY'],
    ['a 500', { kind: 'response', statusCode: 500, body: { starting: false } }, 'UNHEALTHY'],
    ['a connection error', { kind: 'error', message: 'ECONNREFUSED' }, 'UNHEALTHY'],
    ['a timeout', { kind: 'timeout' }, 'UNHEALTHY'],
  ])('reports %s as %s', (_label, outcome, status) => {
    expect(statusFromInfoProbe(outcome)).toBe(status)
  })

  it('retries only 502, 503 and 504, at most monitor.retries times', () => {
    const unavailable: InfoProbeOutcome = { kind: 'response', statusCode: 503, body: '' }
    expect(shouldRetryInfoProbe(unavailable, 0, 2)).toBe(true)
    expect(shouldRetryInfoProbe(unavailable, 1, 2)).toBe(true)
    expect(shouldRetryInfoProbe(unavailable, 2, 2)).toBe(false)
    expect(shouldRetryInfoProbe(unavailable, 0, 0)).toBe(false)
    expect(shouldRetryInfoProbe({ kind: 'response', statusCode: 500, body: '' }, 0, 2)).toBe(false)
    expect(shouldRetryInfoProbe({ kind: 'error', message: 'x' }, 0, 2)).toBe(false)
  })
})

describe('lifecycle effects on status', () => {
  it.each([
    [{ kind: 'activate' } as const, 'PENDING'],
    [{ kind: 'deactivate' } as const, 'UNKNOWN'],
    [{ kind: 'modify', active: true } as const, 'PENDING'],
    [{ kind: 'modify', active: false } as const, 'UNKNOWN'],
    [{ kind: 'entity', active: true } as const, 'PENDING'],
    [{ kind: 'entity', active: false } as const, 'UNHEALTHY'],
  ])('%j sets %s', (event, status) => {
    expect(statusAfterLifecycle(event)).toBe(status)
  })

  it('routes only active HEALTHY backends', () => {
    expect(isRoutable(true, 'HEALTHY')).toBe(true)
    expect(isRoutable(false, 'HEALTHY')).toBe(false)
    expect(isRoutable(true, 'PENDING')).toBe(false)
    expect(isRoutable(true, undefined)).toBe(false)
  })
})
