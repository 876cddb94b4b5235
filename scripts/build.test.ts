/**
 * The production build runs: bundled into a folder under dist/, started with plain `node` and the
 * flags of `npm start` on an embedded database, it serves the admin API, and the process is exactly
 * `node <flags> main.js ...` with no tsx loader anywhere on its command line or in NODE_OPTIONS.
 */
import { appendFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChildHandle,
  readStartScriptNodeFlags,
  startGatewayProcess,
} from '../harness/capacity/processes.ts'
import { buildGateway, distRoot, type GatewayBuild, repositoryRoot } from './build.ts'

const seed = 7
let buildDir: string
let built: GatewayBuild
let gateway: { url: string; handle: ChildHandle } | undefined

beforeAll(async () => {
  await mkdir(distRoot, { recursive: true })
  buildDir = await mkdtemp(path.join(distRoot, 'build-test-'))
  built = await buildGateway({ outDir: path.join(buildDir, 'gateway') })
})

afterAll(async () => {
  await gateway?.handle.stop()
  if (buildDir !== undefined) await rm(buildDir, { recursive: true, force: true })
})

describe('npm run build', () => {
  it('writes the bundle and the migrations beside it', async () => {
    expect(built.mainFile).toBe(path.join(buildDir, 'gateway', 'main.js'))
    // The entry, at least one shared chunk and the lazily imported embedded-database chunk.
    expect(built.jsFiles).toBeGreaterThanOrEqual(2)
    expect(built.jsBytes).toBeGreaterThan(0)
    const migrations = await readFile(
      path.join(built.outDir, 'migrations', 'V1__gateway_backend_and_query_history.sql'),
      'utf8',
    )
    expect(migrations).toMatch(/create table/i)
    expect(built.webFiles).toBe(3)
    const page = await readFile(path.join(built.outDir, 'web', 'index.html'), 'utf8')
    expect(page).toContain('/trino-gateway/assets/app.js')
  })

  it('starts with plain node and the flags of npm start, and serves the admin API', async () => {
    const flags = await readStartScriptNodeFlags()
    // A mark only the prebuilt file has: the gateway must serve dist/, not bundle again.
    const mark = `/* prebuilt ${seed} */`
    await appendFile(path.join(built.outDir, 'web', 'assets', 'app.css'), mark)
    gateway = await startGatewayProcess({
      mainFile: built.mainFile,
      nodeFlags: flags,
      // No dataStore: the gateway starts PGlite from the bundle's lazily imported chunk.
      config: { serverConfig: { 'http-server.http.port': 0 } },
      seed,
      workDir: buildDir,
    })
    const response = await fetch(`${gateway.url}/api/public/backends`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual([])
    const css = await fetch(`${gateway.url}/trino-gateway/assets/app.css`)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toContain(mark)

    const argv = (await readFile(`/proc/${gateway.handle.pid}/cmdline`, 'utf8')).split('\0').slice(0, -1)
    expect(argv).toEqual([
      process.execPath,
      ...flags,
      built.mainFile,
      '--config',
      path.join(buildDir, 'gateway-config.yaml'),
      '--seed',
      String(seed),
      '--log-level',
      'warn',
    ])
    const environment = (await readFile(`/proc/${gateway.handle.pid}/environ`, 'utf8')).split('\0')
    const nodeOptions = environment.find((entry) => entry.startsWith('NODE_OPTIONS='))
    expect(nodeOptions ?? '').not.toMatch(/tsx/)
  })

  it('refuses an output folder outside dist/, which it would empty', async () => {
    await expect(buildGateway({ outDir: repositoryRoot })).rejects.toThrow(/must be a folder inside .*dist/)
    await expect(buildGateway({ outDir: distRoot })).rejects.toThrow(/must be a folder inside .*dist/)
    await expect(buildGateway({ outDir: path.join(distRoot, '..', 'gateway') })).rejects.toThrow(
      /must be a folder inside .*dist/,
    )
  })
})
