/**
 * Serves the web UI on the gateway's own port, where Trino Gateway serves its UI: `GET /` redirects
 * (303) to `/trino-gateway`, which is the page; its script and style sheet are under
 * `/trino-gateway/assets/`. A production build (`npm run build`) ships the files prebuilt in
 * `dist/gateway/web/`; a gateway run from source bundles them in memory on the first request.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { gatewayError } from '../errors.ts'

/** Where `npm run build` puts the UI, beside the bundled gateway's main.js. */
export const builtUiDir = path.join(import.meta.dirname, 'web')
/** The path of the page; Trino Gateway's UI lives here too. */
export const uiPath = '/trino-gateway'

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/** Only the gateway's own origin may run script, style the page or be called from it. */
const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
}

/** A UI file as read or bundled, and gzipped once for clients that accept it. */
interface UiFile {
  body: Buffer
  gzipped: Buffer
}

let files: Promise<Map<string, UiFile>> | undefined

async function readBuilt(dir: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>()
  found.set('index.html', await readFile(path.join(dir, 'index.html')))
  for (const name of await readdir(path.join(dir, 'assets'))) {
    found.set(`assets/${name}`, await readFile(path.join(dir, 'assets', name)))
  }
  return found
}

/** The UI's files: prebuilt when the gateway runs from `dist/`, else bundled once per process. */
export function uiFiles(): Promise<Map<string, UiFile>> {
  files ??= (
    existsSync(path.join(builtUiDir, 'index.html'))
      ? readBuilt(builtUiDir)
      : import('../../scripts/web-build.ts').then((builder) => builder.bundleWeb())
  )
    .then(
      (raw) => new Map([...raw].map(([name, body]) => [name, { body, gzipped: gzipSync(body) }] as const)),
    )
    .catch((error: unknown) => {
      files = undefined
      throw gatewayError(
        'UI_ASSETS_UNAVAILABLE',
        `the web UI is unavailable: ${error instanceof Error ? error.message : String(error)}`,
      )
    })
  return files
}

async function send(request: FastifyRequest, reply: FastifyReply, name: string): Promise<FastifyReply> {
  const file = (await uiFiles()).get(name)
  if (file === undefined) {
    return reply.code(404).send({ code: 'NOT_FOUND', message: `no UI file ${name}` })
  }
  reply.headers(securityHeaders)
  reply.header('content-type', contentTypes[path.extname(name)] ?? 'application/octet-stream')
  reply.header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=300')
  reply.header('vary', 'accept-encoding')
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
    return reply.header('content-encoding', 'gzip').send(file.gzipped)
  }
  return reply.send(file.body)
}

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => reply.code(303).header('location', uiPath).send())
  app.get(uiPath, async (request, reply) => send(request, reply, 'index.html'))
  app.get(`${uiPath}/`, async (request, reply) => send(request, reply, 'index.html'))
  app.get<{ Params: { file: string } }>(`${uiPath}/assets/:file`, async (request, reply) =>
    send(request, reply, `assets/${request.params.file}`),
  )
}
