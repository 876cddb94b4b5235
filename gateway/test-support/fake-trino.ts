/**
 * Tiny Trino coordinator doubles for the gateway's own tests: just enough of the client protocol
 * (statement POST, paged nextUri, /v1/query, /v1/info) to see where requests land. The fuller mock
 * lives in mock-trino/; these stay small so a gateway test fails only for a gateway reason.
 *
 * Statement bodies steer them: `SELECT <n> PAGES` answers over n pages, `SLEEP <ms>` delays the
 * answer, `BIG <bytes>` streams a result of about that size in one response.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  url: string
  headers: Readonly<Record<string, string | string[] | undefined>>
  body: string
}

export interface FakeTrino {
  name: string
  url: string
  port: number
  requests: RecordedRequest[]
  /** Ids of queries this coordinator created. */
  queries: Set<string>
  /** What `/v1/info` answers from now on. */
  setInfo(info: { statusCode?: number; starting?: boolean }): void
  /** BIG results whose reader went away before the end. */
  readonly abortedStreams: number
  /** Creates a query as if submitted directly, bypassing any gateway. */
  createQuery(pages?: number): string
  close(): Promise<void>
}

/** Largest statement body the double reads. */
const bodyBytesMax = 1024 * 1024
/** Bytes per written chunk of a BIG result. */
const bigChunkBytes = 64 * 1024

export async function startFakeTrino(name: string, options: { port?: number } = {}): Promise<FakeTrino> {
  const requests: RecordedRequest[] = []
  const queries = new Map<string, { pages: number }>()
  const queryIds = new Set<string>()
  let info = { statusCode: 200, starting: false }
  let sequence = 0
  let abortedStreams = 0
  const suffix = name.replace(/[^a-z0-9]/gi, '').toLowerCase() || 'x'
  let self = ''

  const newQuery = (pages: number) => {
    sequence++
    const id = `20260101_000000_${String(sequence).padStart(5, '0')}_${suffix}`
    queries.set(id, { pages })
    queryIds.add(id)
    return id
  }

  const page = (id: string, index: number) => {
    const query = queries.get(id)
    const finished = query === undefined || index >= query.pages
    return {
      id,
      infoUri: `${self}/ui/query.html?${id}`,
      ...(finished
        ? {}
        : {
            partialCancelUri: `${self}/v1/statement/executing/partialCancel/${id}/${index}/y${index}/${index + 1}`,
            nextUri: `${self}/v1/statement/executing/${id}/y${index}/${index + 1}`,
          }),
      columns: [{ name: 'backend', type: 'varchar' }],
      ...(index === 0 ? {} : { data: [[name]] }),
      stats: { state: finished ? 'FINISHED' : 'RUNNING' },
    }
  }

  const json = (response: ServerResponse, statusCode: number, body: unknown) => {
    const text = JSON.stringify(body)
    response.writeHead(statusCode, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    response.end(text)
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of request) {
      size += (chunk as Buffer).length
      if (size <= bodyBytesMax) chunks.push(chunk as Buffer)
    }
    const body = Buffer.concat(chunks).toString('utf8')
    const url = request.url ?? '/'
    const method = request.method ?? 'GET'
    requests.push({ method, url, headers: request.headers, body })
    const path = url.split('?')[0] ?? '/'

    if (path === '/v1/info') {
      if (info.statusCode !== 200) {
        response.writeHead(info.statusCode)
        response.end()
        return
      }
      json(response, 200, {
        nodeVersion: { version: 'fake' },
        environment: 'test',
        coordinator: true,
        starting: info.starting,
      })
      return
    }
    if (method === 'POST' && path === '/v1/statement') {
      const sleep = /^SLEEP (\d+)$/.exec(body)
      if (sleep) await new Promise((resolve) => setTimeout(resolve, Number(sleep[1])))
      const big = /^BIG (\d+)$/.exec(body)
      if (big) {
        await streamBig(response, newQuery(1), Number(big[1]))
        return
      }
      const pages = Number(/^SELECT (\d+) PAGES$/.exec(body)?.[1] ?? 1)
      json(response, 200, page(newQuery(pages), 0))
      return
    }
    const executing = /^\/v1\/statement\/executing\/(?:partialCancel\/)?([^/]+)\/[^/]+\/(\d+)$/.exec(path)
    if (executing) {
      const id = executing[1] as string
      if (!queries.has(id)) {
        response.writeHead(404, { 'content-type': 'text/plain' })
        response.end(`Query not found: ${id}`)
        return
      }
      if (method === 'DELETE') {
        response.writeHead(204)
        response.end()
        return
      }
      json(response, 200, page(id, Number(executing[2])))
      return
    }
    const queryInfo = /^\/v1\/query\/([^/]+)$/.exec(path)
    if (queryInfo) {
      const id = queryInfo[1] as string
      if (!queries.has(id)) {
        response.writeHead(404)
        response.end()
        return
      }
      if (method === 'DELETE') {
        queries.delete(id)
        response.writeHead(204)
        response.end()
        return
      }
      json(response, 200, { queryId: id, state: 'RUNNING' })
      return
    }
    if (path.startsWith('/echo')) {
      json(response, 200, { method, url, headers: request.headers, body })
      return
    }
    response.writeHead(404, { 'content-type': 'text/plain' })
    response.end(`fake trino ${name}: no route for ${method} ${path}`)
  }

  async function streamBig(response: ServerResponse, id: string, bytes: number): Promise<void> {
    response.writeHead(200, { 'content-type': 'application/json' })
    const head = JSON.stringify(page(id, 0)).slice(0, -1)
    response.write(`${head},"data":[`)
    const row = `["${'x'.repeat(1000)}"]`
    const rowsPerChunk = Math.max(1, Math.floor(bigChunkBytes / (row.length + 1)))
    let written = 0
    let first = true
    while (written < bytes) {
      const rows: string[] = []
      for (let i = 0; i < rowsPerChunk && written < bytes; i++) {
        rows.push(row)
        written += row.length + 1
      }
      const chunk = `${first ? '' : ','}${rows.join(',')}`
      first = false
      if (!response.write(chunk)) await drainOrClose(response)
      if (response.destroyed) {
        abortedStreams++
        return
      }
    }
    response.end(']}')
  }

  const drainOrClose = (response: ServerResponse) =>
    new Promise<void>((resolve) => {
      const done = () => {
        response.off('drain', done)
        response.off('close', done)
        resolve()
      }
      response.on('drain', done)
      response.on('close', done)
    })

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      if (!response.headersSent) response.writeHead(500)
      response.end(error.message)
    })
  })
  server.listen(options.port ?? 0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  self = `http://127.0.0.1:${port}`
  return {
    name,
    url: self,
    port,
    requests,
    queries: queryIds,
    setInfo(next) {
      info = { statusCode: next.statusCode ?? 200, starting: next.starting ?? false }
    },
    createQuery: (pages = 1) => newQuery(pages),
    get abortedStreams() {
      return abortedStreams
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
