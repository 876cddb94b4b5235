/**
 * The floor of a capacity run: the least a Node.js reverse proxy in front of a Trino coordinator
 * has to do, and nothing more. It is NOT the gateway and has none of its logic: no routing, no
 * sticky lookup, no database or query history, no logging, no configuration, one backend. Every
 * request goes to the backend over one undici `Pool` with `dispatch`; the answer is buffered, every
 * occurrence of the backend's origin in it is replaced by this proxy's origin (so nextUri comes back
 * here), and it is sent with a fixed content-length.
 *
 * The capacity run measures it in the same run as the mock directly and the gateway, so a report
 * shows how much of the gap between gateway and direct is the price of any Node.js proxy on that
 * machine, and how much is the gateway's own work.
 *
 *   node --import tsx harness/capacity/minimal-proxy.ts <backend origin>
 *
 * prints `minimal proxy listening http://127.0.0.1:<port>` and exits on SIGTERM or SIGINT.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import path from 'node:path'
import { type Dispatcher, Pool } from 'undici'
import { clientResponseHeaders, isUnforwardedRequestHeader } from '../../gateway/proxy/headers.ts'

/** Connections to the backend: as many as the capacity run's widest closed-loop step. */
export const backendConnections = 256
/** A backend answer not started or not finished within this is answered 502. */
export const backendTimeoutMs = 30_000
/** Request bodies (SQL text) above this are refused with 413 rather than buffered. */
export const requestBodyBytesMax = 1024 * 1024
/** Backend answers above this are refused with 502 rather than buffered. */
export const responseBodyBytesMax = 16 * 1024 * 1024
export const listenHost = '127.0.0.1'

export interface MinimalProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string
  close(): Promise<void>
}

/** The request headers to forward, as the gateway filters them, as a flat raw list. */
function forwardedRequestHeaders(rawHeaders: readonly string[]): string[] {
  const headers: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    const lower = name.toLowerCase()
    if (isUnforwardedRequestHeader(lower)) continue
    headers.push(name, rawHeaders[i + 1] as string)
  }
  return headers
}

/** The backend's answer headers to send on, as the gateway filters them, with content-length set anew. */
function forwardedResponseHeaders(headers: IncomingHttpHeaders, bodyBytes: number): OutgoingHttpHeaders {
  const out = clientResponseHeaders(headers)
  out['content-length'] = bodyBytes
  return out
}

function fail(response: http.ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy()
    return
  }
  const body = `minimal proxy: ${message.replaceAll('\n', ' ')}\n`
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  response.end(body)
}

/** Buffers one backend answer and sends it on with the backend origin rewritten. */
class BufferedExchange implements Dispatcher.DispatchHandler {
  #statusCode = 0
  #headers: IncomingHttpHeaders = {}
  #chunks: Buffer[] = []
  #bytes = 0

  constructor(
    private readonly response: http.ServerResponse,
    private readonly method: string,
    private readonly backendOrigin: string,
    private readonly ownOrigin: string,
  ) {}

  onRequestStart(): void {}

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#statusCode = statusCode
    this.#headers = headers
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length
    if (this.#bytes > responseBodyBytesMax) {
      controller.abort(new Error(`the backend answer exceeds ${responseBodyBytesMax} bytes`))
      return
    }
    this.#chunks.push(chunk)
  }

  onResponseEnd(): void {
    const response = this.response
    if (response.destroyed) return
    if (this.method === 'HEAD' || this.#statusCode === 204 || this.#statusCode === 304) {
      response.writeHead(this.#statusCode, this.#headers as OutgoingHttpHeaders)
      response.end()
      return
    }
    const raw = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks)
    // latin1 maps bytes to characters one to one, so the rewrite leaves any other byte as it was.
    const text = raw.toString('latin1')
    const body = text.includes(this.backendOrigin)
      ? Buffer.from(text.replaceAll(this.backendOrigin, this.ownOrigin), 'latin1')
      : raw
    response.writeHead(this.#statusCode, forwardedResponseHeaders(this.#headers, body.length))
    response.end(body)
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    fail(this.response, 502, `backend error: ${error.message}`)
  }
}

/** Parses the backend argument: an http origin such as `http://127.0.0.1:8080`. */
export function backendOriginOf(value: string | undefined): string {
  if (value === undefined || value === '')
    throw new Error('usage: minimal-proxy.ts <backend origin, e.g. http://127.0.0.1:8080>')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new Error(`backend origin ${JSON.stringify(value)} is not a URL`)
  }
  if (url.protocol !== 'http:') throw new Error(`backend origin ${value}: only http: is supported`)
  return url.origin
}

/** Starts the proxy on `listenHost` (port 0: any free port) in front of `backendOrigin`. */
export async function startMinimalProxy(backend: string, port = 0): Promise<MinimalProxy> {
  const backendOrigin = backendOriginOf(backend)
  const pool = new Pool(backendOrigin, {
    connections: backendConnections,
    headersTimeout: backendTimeoutMs,
    bodyTimeout: backendTimeoutMs,
  })
  let ownOrigin = ''
  const server = http.createServer((request, response) => {
    const method = request.method ?? 'GET'
    request.on('error', () => response.destroy())
    const forward = (body: Buffer | null) => {
      pool.dispatch(
        {
          origin: backendOrigin,
          path: request.url ?? '/',
          method: method as Dispatcher.HttpMethod,
          headers: forwardedRequestHeaders(request.rawHeaders),
          body,
        },
        new BufferedExchange(response, method, backendOrigin, ownOrigin),
      )
    }
    if (method === 'GET' || method === 'HEAD') {
      request.resume()
      forward(null)
      return
    }
    const chunks: Buffer[] = []
    let bytes = 0
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > requestBodyBytesMax) {
        fail(response, 413, `request body exceeds ${requestBodyBytesMax} bytes`)
        request.destroy()
        return
      }
      chunks.push(chunk)
    })
    request.on('end', () => forward(chunks.length === 0 ? null : Buffer.concat(chunks, bytes)))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, listenHost, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address')
  ownOrigin = `http://${listenHost}:${address.port}`
  return {
    url: ownOrigin,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pool.destroy()
    },
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  startMinimalProxy(process.argv[2] as string).then(
    (proxy) => {
      process.stdout.write(`minimal proxy listening ${proxy.url}\n`)
      const exit = () => process.exit(0)
      process.on('SIGTERM', exit)
      process.on('SIGINT', exit)
    },
    (error: unknown) => {
      process.stderr.write(`minimal proxy: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(2)
    },
  )
}
