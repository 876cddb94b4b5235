/**
 * Bundles the web UI (web/src/main.tsx, Preact) with esbuild into three files: `index.html`,
 * `assets/app.js` and `assets/app.css`. `npm run build` writes them into `dist/gateway/web/`; a
 * gateway run from source (tsx) bundles them in memory on the first UI request instead.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { build } from 'esbuild'

const webRoot = path.resolve(import.meta.dirname, '..', 'web')
/** Browsers the bundle's syntax targets (Debian's Chromium and every current browser). */
const browserTargets = ['chrome120', 'firefox120', 'safari17']

/** File name (relative to the UI root) → contents. */
export type WebFiles = Map<string, Buffer>

export async function bundleWeb(): Promise<WebFiles> {
  const result = await build({
    entryPoints: { app: path.join(webRoot, 'src/main.tsx') },
    bundle: true,
    write: false,
    outdir: '/assets',
    format: 'esm',
    platform: 'browser',
    target: browserTargets,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  }).catch((error: Error) => {
    throw new Error(`bundling the web UI (web/src/main.tsx) failed: ${error.message}`)
  })
  const files: WebFiles = new Map()
  for (const output of result.outputFiles) {
    files.set(`assets/${path.basename(output.path)}`, Buffer.from(output.contents))
  }
  files.set('index.html', await readFile(path.join(webRoot, 'index.html')))
  for (const required of ['assets/app.js', 'assets/app.css']) {
    if (!files.has(required)) throw new Error(`bundling the web UI wrote no ${required}`)
  }
  return files
}
