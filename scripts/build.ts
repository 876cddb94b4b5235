/**
 * `npm run build`: the production form of the gateway. Bundles `gateway/main.ts` with esbuild into
 * `dist/gateway/` (ESM for Node 20, packages left external so node_modules resolve at run time,
 * code split so the embedded database's chunk stays a lazy `import()`), and copies the SQL
 * migrations, which the store reads at run time from `./migrations/` beside its module.
 * `npm start` then runs it with plain `node`: no tsx loader thread in the process.
 */
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { bundleWeb } from './web-build.ts'

export const repositoryRoot = path.resolve(import.meta.dirname, '..')
/** Every build goes under here: `--packages=external` needs the repository's node_modules above it. */
export const distRoot = path.join(repositoryRoot, 'dist')
/** Where `npm run build` writes and `npm start` runs from. */
export const gatewayOutDir = path.join(distRoot, 'gateway')
const entryPoint = path.join(repositoryRoot, 'gateway/main.ts')
const migrationsSource = path.join(repositoryRoot, 'gateway/store/migrations')
/** The Node version the bundle's syntax targets: package.json's engines floor. */
const nodeTarget = 'node20'
const bytesPerKibibyte = 1024

export interface GatewayBuild {
  /** Absolute path of the bundle's entry file (`<outDir>/main.js`). */
  mainFile: string
  outDir: string
  /** JavaScript files written (the entry and its chunks). */
  jsFiles: number
  /** Their total size in bytes (source maps not counted). */
  jsBytes: number
  /** Migration files copied to `<outDir>/migrations/`. */
  migrations: number
  /** Web UI files written to `<outDir>/web/` (the page, its script and style sheet). */
  webFiles: number
}

/** Refuses an output folder that is not strictly inside `dist/` (it is emptied before building). */
function checkedOutDir(outDir: string): string {
  const resolved = path.resolve(repositoryRoot, outDir)
  const relative = path.relative(distRoot, resolved)
  if (
    relative === '' ||
    relative === '..' ||
    relative.startsWith(`..${path.sep}`) ||
    path.isAbsolute(relative)
  ) {
    throw new Error(
      `build output folder ${resolved} must be a folder inside ${distRoot}: it is emptied before building, and the bundle's external packages resolve from the repository's node_modules`,
    )
  }
  return resolved
}

/** Bundles the gateway into `outDir` (default `dist/gateway/`, emptied first) and copies its migrations. */
export async function buildGateway(options: { outDir?: string } = {}): Promise<GatewayBuild> {
  const outDir = checkedOutDir(options.outDir ?? gatewayOutDir)
  const migrationFiles = await readdir(migrationsSource).then(
    (names) => names.filter((name) => name.endsWith('.sql')),
    (error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the gateway's migrations folder ${migrationsSource}: ${error.message}`)
    },
  )
  if (migrationFiles.length === 0) throw new Error(`no .sql migration files in ${migrationsSource}`)
  await rm(outDir, { recursive: true, force: true })
  const result = await build({
    entryPoints: [entryPoint],
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: nodeTarget,
    packages: 'external',
    splitting: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
  }).catch((error: Error) => {
    // esbuild's message lists each error with its file and line.
    throw new Error(`bundling ${path.relative(repositoryRoot, entryPoint)} failed: ${error.message}`)
  })
  await cp(migrationsSource, path.join(outDir, 'migrations'), { recursive: true })
  // The UI ships prebuilt: the gateway serves these files and never bundles in production.
  const web = await bundleWeb()
  for (const [name, contents] of web) {
    const file = path.join(outDir, 'web', name)
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, contents)
  }
  const mainFile = path.join(outDir, 'main.js')
  await stat(mainFile).catch(() => {
    throw new Error(`esbuild finished but wrote no ${mainFile}`)
  })
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'))
  return {
    mainFile,
    outDir,
    jsFiles: outputs.length,
    jsBytes: outputs.reduce((total, [, output]) => total + output.bytes, 0),
    migrations: migrationFiles.length,
    webFiles: web.size,
  }
}

/** The one line `npm run build` prints. */
export function buildSummary(built: GatewayBuild): string {
  const kibibytes = Math.round(built.jsBytes / bytesPerKibibyte)
  return `built ${path.relative(process.cwd(), built.mainFile)}: ${built.jsFiles} JavaScript files, ${kibibytes} KiB (source maps beside them), ${built.migrations} migrations copied, ${built.webFiles} web UI files`
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { help: { type: 'boolean' } }, strict: true })
  if (values.help) {
    console.log('usage: npm run build   (writes dist/gateway/; then npm start -- --config config.yaml)')
    return
  }
  console.log(buildSummary(await buildGateway()))
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`npm run build: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  })
}
