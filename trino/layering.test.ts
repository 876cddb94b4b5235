/**
 * The layering the architecture asks for: the gateway's source never imports the mock
 * coordinator, the harness or the simulator, and the shared Trino model imports neither program.
 * The routing and scheduling cores the live gateway, the mock and the simulator share do no I/O
 * and read no clock. Tests may start a mock coordinator as a peer, so only non-test sources are
 * checked.
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

/** Relative imports of one file, resolved to paths under the root. */
function relativeImports(file: string): { specifier: string; target: string }[] {
  const found: { specifier: string; target: string }[] = []
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    const specifier = match[1] ?? match[2]
    if (specifier === undefined) continue
    found.push({
      specifier,
      target: specifier.startsWith('.') ? resolve(file, '..', specifier) : specifier,
    })
  }
  return found
}

/** Every source file `entries` reach through relative imports (type-only imports included). */
function reachableFiles(entries: readonly string[]): string[] {
  const seen = new Set<string>()
  const pending = entries.map((entry) => resolve(root, entry))
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    for (const { specifier, target } of relativeImports(file)) {
      if (specifier.startsWith('.') && target.endsWith('.ts')) pending.push(target)
    }
  }
  return [...seen].sort()
}

/** Modules that do I/O (files, sockets, processes) or run code later (timers). */
const ioModules = [
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:http',
  'node:https',
  'node:child_process',
  'node:timers',
  'node:timers/promises',
  'undici',
  'pg',
  'fastify',
]
/** A core takes its time as an argument and its randomness as an injected PRNG. */
const clockOrTimerCalls =
  /\b(Date\.now|new Date|setTimeout|setInterval|setImmediate|Math\.random|performance\.now)\s*\(/

/** What the live gateway, the mock coordinator and the simulator decide with, and only with. */
const sharedCores = [
  'gateway/routing/route.ts',
  'gateway/routing/backend-picker.ts',
  'gateway/routing/query-count-router.ts',
  'gateway/routing/header-selector.ts',
  'gateway/routing/rules/engine.ts',
  'gateway/routing/rules/loader.ts',
  'trino/resource-groups/scheduler.ts',
  'trino/legacy-scheduler.ts',
]

function coreViolations(files: readonly string[]): string[] {
  return files.flatMap((file) => {
    const name = relative(root, file)
    const text = readFileSync(file, 'utf8')
    const io = relativeImports(file)
      .filter(({ specifier }) => ioModules.includes(specifier))
      .map(({ specifier }) => `${name} imports ${specifier}`)
    const clock = text
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line) && clockOrTimerCalls.test(line))
      .map((line) => `${name} calls ${line.trim()}`)
    return [...io, ...clock]
  })
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

  it('gateway/ sources never import sim/', () => {
    expect(sourceFiles('gateway').flatMap((file) => forbiddenImports(file, ['sim']))).toEqual([])
  })

  it('sim/ reaches into gateway/ only for the routing cores and the config parser', () => {
    const allowed = (target: string) =>
      target.startsWith('gateway/routing/') ||
      ['gateway/config.ts', 'gateway/clusters/trino-status.ts', 'gateway/store/types.ts'].includes(target)
    const offending = sourceFiles('sim').flatMap((file) =>
      forbiddenImports(file, ['gateway']).filter((line) => !allowed(line.split(' imports ')[1] ?? '')),
    )
    expect(offending).toEqual([])
  })

  it('finds I/O and clock reads in a file that has them (the purity check itself works)', () => {
    expect(coreViolations([resolve(root, 'gateway/routing/rules/file-selector.ts')])).not.toEqual([])
  })

  it('the shared routing and scheduling cores do no I/O and read no clock, nor does anything they import', () => {
    const files = reachableFiles(sharedCores)
    expect(files.length).toBeGreaterThan(sharedCores.length)
    expect(coreViolations(files)).toEqual([])
  })
})
