/**
 * The one HTTP exchange the probes make: bounded in time and body size, never throwing; the outcome
 * says what happened so the pure decision functions can name it.
 */
import type { Dispatcher } from 'undici'

/** Largest probe response body read; a busy cluster's QUEUED list is the biggest one expected. */
export const probeBodyBytesMax = 8 * 1024 * 1024

export type HttpOutcome =
  | {
      kind: 'response'
      statusCode: number
      headers: Readonly<Record<string, string | string[] | undefined>>
      text: string
    }
  | { kind: 'error'; message: string }
  | { kind: 'timeout' }

export interface HttpExchange {
  method: 'GET' | 'POST' | 'DELETE'
  url: string
  headers?: Readonly<Record<string, string>>
  body?: string
}

export async function exchange(
  dispatcher: Dispatcher,
  request: HttpExchange,
  timeoutMs: number,
): Promise<HttpOutcome> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const url = new URL(request.url)
    const response = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers: request.headers ?? {},
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    })
    const { text, complete } = await readBodyPrefix(response.body, probeBodyBytesMax)
    if (!complete) throw new Error(`response body larger than ${probeBodyBytesMax} bytes`)
    return { kind: 'response', statusCode: response.statusCode, headers: response.headers, text }
  } catch (error) {
    if (signal.aborted) return { kind: 'timeout' }
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) }
  }
}

/** Repeats a GET on 502/503/504 up to `retries` more times, as Trino Gateway's monitors do. */
export async function exchangeWithRetries(
  dispatcher: Dispatcher,
  request: HttpExchange,
  timeoutMs: number,
  retries: number,
): Promise<HttpOutcome> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await exchange(dispatcher, request, timeoutMs)
    const retriable = outcome.kind === 'response' && [502, 503, 504].includes(outcome.statusCode)
    if (!retriable || attempt >= retries) return outcome
  }
}

/** Describes a failed exchange for a log line and a `problem`. */
export function describeOutcome(what: string, outcome: HttpOutcome): string {
  switch (outcome.kind) {
    case 'timeout':
      return `${what}: no answer in time`
    case 'error':
      return `${what}: ${outcome.message}`
    case 'response':
      return `${what}: HTTP ${outcome.statusCode}`
  }
}

/** JSON of a 200 response, or a description of why there is none. */
export function jsonOf(
  what: string,
  outcome: HttpOutcome,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  if (outcome.kind !== 'response' || outcome.statusCode !== 200)
    return { ok: false, problem: describeOutcome(what, outcome) }
  try {
    return { ok: true, value: JSON.parse(outcome.text) }
  } catch {
    return {
      ok: false,
      problem: `${what}: the body is not JSON (${JSON.stringify(outcome.text.slice(0, 80))})`,
    }
  }
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

/** `proxyTo` without a trailing slash, joined with an absolute path. */
export function urlOf(proxyTo: string, path: string): string {
  return `${proxyTo.replace(/\/+$/, '')}${path}`
}

/**
 * Reads a response body up to `bytesMax` bytes; a larger body is destroyed once past the bound,
 * and `complete` is false with the text cut at `bytesMax` bytes.
 */
export async function readBodyPrefix(
  body: AsyncIterable<Buffer | Uint8Array> & { destroy?: () => void },
  bytesMax: number,
): Promise<{ text: string; complete: boolean }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk))
    size += chunk.length
    if (size > bytesMax) {
      body.destroy?.()
      break
    }
  }
  return { text: Buffer.concat(chunks).subarray(0, bytesMax).toString('utf8'), complete: size <= bytesMax }
}
