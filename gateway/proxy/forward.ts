/**
 * One exchange with a backend on undici's dispatch API: the answer goes to the client chunk by
 * chunk as undici parses it, with backpressure both ways (a full client socket pauses the backend
 * connection), and without the intermediate Readable, async iterator and AbortSignal of
 * `dispatcher.request`, which cost more CPU per request than the rest of the data plane together.
 *
 * An answer may be held back until a bounded prefix of it has been read (`hold`): the gateway
 * needs the query id of a new query recorded, and the `nextUri` of a statement answer rewritten,
 * before the client sees a byte of it.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { CodedError } from '../../common/errors.ts'
import { clientResponseHeaders } from './headers.ts'

export interface BackendRequest {
  origin: string
  path: string
  method: Dispatcher.HttpMethod
  headers: Record<string, string>
  body: Buffer | Readable | null
  /** Both undici timeouts: until the response headers, and between two body chunks. */
  timeoutMs: number
}

/** Reads a held-back prefix; `T` is what the reader found (e.g. the scanned JSON fields). */
export interface HoldBack<T> {
  /** Whether this answer must be held back at all (a statement answer in JSON, say). */
  wanted(statusCode: number, headers: IncomingHttpHeaders): boolean
  /** Reads the prefix so far; `decided` when more bytes cannot change what was found. */
  inspect(prefix: Buffer): { decided: boolean; found: T }
  /** Bytes held back at most: past this the prefix is released as it is. */
  bytesMax: number
  /**
   * The bytes that replace the prefix (the prefix itself when nothing changes), or an error that
   * replaces the whole answer (the backend's answer is then dropped). Returned as they are when they
   * are known at once: the answer then goes on within the same parser callback, with no pause of the
   * backend connection and no turn of the event loop; a promise pauses the backend until it settles.
   */
  release(prefix: Buffer, found: T, statusCode: number): Released | Promise<Released>
}

/** What `release` puts in place of the held-back prefix. */
export type Released = Buffer | CodedError

export type ForwardResult =
  /** The answer reached the client. */
  | { kind: 'done' }
  /** `release` chose an error instead of the answer; nothing was sent, the caller sends it. */
  | { kind: 'replaced'; error: CodedError }
  /** Nothing was sent to the client yet: the caller answers with a gateway error. */
  | { kind: 'failed'; error: Error }
  /** The client went away, or the backend broke off after the headers were sent (client socket destroyed). */
  | { kind: 'aborted'; reason: string }

export function forwardToBackend<T>(
  dispatcher: Dispatcher,
  request: BackendRequest,
  response: ServerResponse,
  hold: HoldBack<T> | undefined,
): Promise<ForwardResult> {
  // The client may have left while the backend was being chosen (a history lookup, a probe).
  if (response.destroyed) return Promise.resolve({ kind: 'aborted', reason: 'the client went away' })
  return new Promise((settle) => {
    const exchange = new BackendExchange(response, hold, settle)
    dispatcher.dispatch(
      {
        origin: request.origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      },
      exchange,
    )
  })
}

type Phase = 'waiting' | 'holding' | 'releasing' | 'streaming' | 'finished'

class BackendExchange<T> implements Dispatcher.DispatchHandler {
  #phase: Phase = 'waiting'
  #controller: Dispatcher.DispatchController | undefined
  #clientGone = false
  #statusCode = 0
  #headers: IncomingHttpHeaders = {}
  /** The bytes held back so far, and (once there are any) what inspecting exactly them found. */
  #prefix: Buffer = Buffer.alloc(0)
  #found: T | undefined
  /** Chunks that arrived while the prefix was being released. */
  #tail: Buffer[] = []
  #upstreamEnded = false

  constructor(
    private readonly response: ServerResponse,
    private readonly hold: HoldBack<T> | undefined,
    private readonly settle: (result: ForwardResult) => void,
  ) {
    response.on('close', this.#onClientClose)
    response.on('drain', this.#onDrain)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#clientGone) controller.abort(new Error('the client went away'))
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200 || this.#phase === 'finished') return
    this.#statusCode = statusCode
    this.#headers = headers
    if (this.hold?.wanted(statusCode, headers)) {
      this.#phase = 'holding'
      return
    }
    this.response.writeHead(statusCode, clientResponseHeaders(headers))
    this.#phase = 'streaming'
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    switch (this.#phase) {
      case 'streaming':
        if (!this.response.write(chunk)) controller.pause()
        return
      case 'holding': {
        const hold = this.hold as HoldBack<T>
        this.#prefix = this.#prefix.length === 0 ? chunk : Buffer.concat([this.#prefix, chunk])
        const inspected = hold.inspect(this.#prefix)
        this.#found = inspected.found
        if (inspected.decided || this.#prefix.length >= hold.bytesMax)
          this.#release(this.#prefix, inspected.found)
        return
      }
      case 'releasing':
        this.#tail.push(chunk)
        return
      default:
        return
    }
  }

  onResponseEnd(): void {
    switch (this.#phase) {
      case 'holding': {
        this.#upstreamEnded = true
        // Every chunk was inspected as it came: only an answer without a body is read here.
        const found =
          this.#prefix.length > 0
            ? (this.#found as T)
            : (this.hold as HoldBack<T>).inspect(this.#prefix).found
        this.#release(this.#prefix, found)
        return
      }
      case 'releasing':
        this.#upstreamEnded = true
        return
      case 'finished':
        return
      default:
        // 'streaming': the answer is complete. ('waiting' only when the backend answered 1xx and
        // then nothing: end what was started.)
        if (!this.response.headersSent) this.response.writeHead(this.#statusCode || 502)
        this.response.end()
        this.#finish({ kind: 'done' })
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#phase === 'finished') return
    if (this.#clientGone) {
      this.#finish({ kind: 'aborted', reason: 'the client went away' })
    } else if (!this.response.headersSent) {
      this.#finish({ kind: 'failed', error })
    } else {
      this.response.destroy()
      this.#finish({ kind: 'aborted', reason: `the backend broke off the answer: ${error.message}` })
    }
  }

  /** Releases the held-back prefix: at once when `release` answers at once, else once it settles. */
  #release(prefix: Buffer, found: T): void {
    this.#phase = 'releasing'
    let released: Released | Promise<Released>
    try {
      released = (this.hold as HoldBack<T>).release(prefix, found, this.#statusCode)
    } catch (error) {
      released = error as CodedError
    }
    if (!(released instanceof Promise)) {
      this.#sendReleased(prefix, released, false)
      return
    }
    // The backend waits (no more chunks, no end) until the answer can go on.
    this.#controller?.pause()
    released.then(
      (value) => this.#sendReleased(prefix, value, true),
      (error: unknown) => this.#sendReleased(prefix, error as CodedError, true),
    )
  }

  #sendReleased(prefix: Buffer, released: Released, paused: boolean): void {
    // The client may have gone away (or the backend failed) while the prefix was being released.
    if ((this.#phase as Phase) === 'finished') return
    if (!Buffer.isBuffer(released)) {
      // Settled first: aborting reports back through onResponseError, which must not win.
      this.#finish({ kind: 'replaced', error: released })
      if (!this.#upstreamEnded) this.#controller?.abort(new Error('answer replaced by the gateway'))
      return
    }
    const headers: OutgoingHttpHeaders = clientResponseHeaders(this.#headers)
    if (headers['content-length'] !== undefined && released !== prefix) {
      headers['content-length'] = String(Number(headers['content-length']) + released.length - prefix.length)
    }
    this.response.writeHead(this.#statusCode, headers)
    let writable = this.response.write(released)
    for (const chunk of this.#tail) writable = this.response.write(chunk)
    this.#tail = []
    if (this.#upstreamEnded) {
      this.response.end()
      this.#finish({ kind: 'done' })
      return
    }
    this.#phase = 'streaming'
    // A full client socket pauses the backend until 'drain'; a release that paused it resumes it.
    if (paused && writable) this.#controller?.resume()
    else if (!paused && !writable) this.#controller?.pause()
  }

  #finish(result: ForwardResult): void {
    if (this.#phase === 'finished') return
    // A stream that ended normally settles 'done' once the answer is handed to the socket.
    this.#phase = 'finished'
    this.response.off('close', this.#onClientClose)
    this.response.off('drain', this.#onDrain)
    this.settle(result)
  }

  readonly #onDrain = (): void => {
    if (this.#phase === 'streaming') this.#controller?.resume()
  }

  readonly #onClientClose = (): void => {
    if (this.response.writableFinished || this.#phase === 'finished') return
    this.#clientGone = true
    if (this.#controller !== undefined) this.#controller.abort(new Error('the client went away'))
    // Until undici starts the request there is no controller; onRequestStart aborts then, and
    // undici reports that through onResponseError.
  }
}
