import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeComparisonFiles } from './comparison.ts'
import type { Report } from './report.ts'

const report = (passed: boolean): Report => ({
  scenario: 'compare',
  seed: 7,
  codeVersion: 'git:abc',
  passed,
  expectations: [],
  queries: [],
  routingDecisionDigest: 'digest',
})

describe('writeComparisonFiles', () => {
  it('writes the markdown as given and each run without its report but with whether it passed', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'comparison-')), 'nested', 'seed7')
    await writeComparisonFiles(dir, '# compare\n', [
      { router: 'a', p95TotalMs: 10, report: report(true) },
      { router: 'b', p95TotalMs: 20, report: report(false) },
    ])
    expect(await readFile(path.join(dir, 'comparison.md'), 'utf8')).toBe('# compare\n')
    const json = await readFile(path.join(dir, 'comparison.json'), 'utf8')
    expect(json.endsWith('}\n]\n')).toBe(true)
    expect(JSON.parse(json)).toEqual([
      { router: 'a', p95TotalMs: 10, passed: true },
      { router: 'b', p95TotalMs: 20, passed: false },
    ])
  })
})
