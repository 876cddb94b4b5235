import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadEtc, loadMockConfig, parseMockConfig, parseProperties } from './config.ts'

const examples = new URL('./examples/', import.meta.url)

describe('mock.yaml and the etc directory', () => {
  it('loads the documented example mock.yaml', () => {
    const config = loadMockConfig(new URL('mock.yaml', examples).pathname)
    expect(config.workload.durationMs).toEqual({ kind: 'lognormal', median: 200, sigma: 0.8 })
    expect(config.workload.failures).toHaveLength(2)
    expect(config.faults.latencyMs).toBe(5)
    expect(config.retention.finishedQueriesMax).toBe(10_000)
    expect(config.clusterMemory).toBe(64 * 1024 ** 3)
    expect(config.workload.peakMemoryBytes).toEqual({ kind: 'uniform', min: 0, max: 104_857_600 })
  })

  it.each(['64', '64GiB', '0B', '2048PB'])('refuses clusterMemory %j, naming the key', (clusterMemory) => {
    expect(() => parseMockConfig({ clusterMemory })).toThrow(/clusterMemory/)
  })

  it('loads the documented example etc directory', () => {
    expect(loadEtc(new URL('etc', examples).pathname)).toEqual({
      environment: 'test',
      maxConcurrentQueries: 50,
      maxQueuedQueries: 100,
      clientTimeoutMs: 300_000,
      port: 8080,
      resourceGroups: false,
    })
  })

  it.each([
    [{ workload: { pageRows: 0 } }, 'workload.pageRows'],
    [{ workload: { durationMs: { kind: 'gamma', shape: 2 } } }, 'workload.durationMs'],
    [{ faults: { latencyMs: -1 } }, 'faults.latencyMs'],
    [{ faults: { flaky: true } }, 'faults'],
    [{ retention: { finishedQueriesMax: 'all' } }, 'retention.finishedQueriesMax'],
  ])('refuses %j naming %s', (input, path) => {
    expect(() => parseMockConfig(input)).toThrow(path)
  })

  it('refuses YAML that does not parse, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mock-yaml-'))
    writeFileSync(join(dir, 'mock.yaml'), 'workload: [unclosed\n')
    expect(() => loadMockConfig(join(dir, 'mock.yaml'))).toThrow(/mock\.yaml is not valid YAML/)
  })

  it('reads Java properties with = or : separators and comments', () => {
    expect(parseProperties('# comment\n! also\na.b = 1\nc: two\n\nflag\n')).toEqual({
      'a.b': '1',
      c: 'two',
      flag: '',
    })
  })

  it('notices resource-groups.properties', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mock-etc-'))
    writeFileSync(join(dir, 'resource-groups.properties'), 'resource-groups.configuration-manager=file\n')
    expect(loadEtc(dir).resourceGroups).toBe(true)
  })
})
