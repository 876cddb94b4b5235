/**
 * The files of a comparison between runs of one scenario (least-loaded against random,
 * weighted_fair against weighted): `comparison.md` for a person and `comparison.json` with each
 * run's summary, its full report reduced to `passed` (the runs' own reports sit beside it).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Report } from './report.ts'

export async function writeComparisonFiles<Run extends { report: Report }>(
  dir: string,
  markdown: string,
  runs: readonly Run[],
): Promise<void> {
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'comparison.md'), markdown)
  await writeFile(
    path.join(dir, 'comparison.json'),
    `${JSON.stringify(
      runs.map(({ report, ...rest }) => ({ ...rest, passed: report.passed })),
      null,
      2,
    )}\n`,
  )
}
