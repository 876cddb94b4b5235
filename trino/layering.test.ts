/**
 * The layering the architecture asks for: the gateway's source never imports the mock
 * coordinator, and the shared Trino model imports neither program. Tests may start a mock
 * coordinator as a peer, so only non-test sources are checked.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')

function sourceFiles(folder: string): string[] {
  const files: string[] = []
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name)
    if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) files.push(path)
  }
  return files
}

const importPattern = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g

/** Every import of `file` that resolves into one of `forbidden` (folders under the root). */
function forbiddenImports(file: string, forbidden: readonly string[]): string[] {
  const found: string[] = []
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    const specifier = match[1] ?? match[2]
    if (specifier === undefined || !specifier.startsWith('.')) continue
    const target = relative(root, resolve(file, '..', specifier))
    if (forbidden.some((folder) => target === folder || target.startsWith(`${folder}/`))) {
      found.push(`${relative(root, file)} imports ${target}`)
    }
  }
  return found
}

describe('layering', () => {
  it('finds an import into a forbidden folder (the check itself works)', () => {
    const self = resolve(import.meta.dirname, 'layering.test.ts')
    expect(forbiddenImports(self, ['node_modules'])).toEqual([])
    expect(forbiddenImports(resolve(root, 'mock-trino/config.ts'), ['trino'])).not.toEqual([])
  })

  it('gateway/ sources never import mock-trino/ or harness/', () => {
    expect(
      sourceFiles('gateway').flatMap((file) => forbiddenImports(file, ['mock-trino', 'harness'])),
    ).toEqual([])
  })

  it('the shared Trino model imports neither program nor the harness', () => {
    expect(
      sourceFiles('trino').flatMap((file) => forbiddenImports(file, ['gateway', 'mock-trino', 'harness'])),
    ).toEqual([])
  })
})
