import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'

/** Bytes of a POST or PUT body read before routing; a larger body streams on after this prefix. */
export const requestBodyPrefixBytesMax = 1024 * 1024

export interface BodyPrefix {
  prefix: Buffer
  /** True when the prefix is the whole body. */
  complete: boolean
}

/** Reads up to `bytesMax` bytes of a request body, then pauses it without losing the rest. */
export function readBodyPrefix(
  request: IncomingMessage,
  bytesMax = requestBodyPrefixBytesMax,
): Promise<BodyPrefix> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      request.off('data', onData)
      request.off('end', onEnd)
      request.off('error', onError)
      request.off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= bytesMax) {
        cleanup()
        request.pause()
        resolve({ prefix: Buffer.concat(chunks), complete: false })
      }
    }
    const onEnd = () => {
      cleanup()
      resolve({ prefix: Buffer.concat(chunks), complete: true })
    }
    const onError = (error: Error) => {
      cleanup()
      reject(error)
    }
    const onClose = () => {
      if (request.readableEnded) return
      cleanup()
      reject(new Error('the client closed the connection while sending the body'))
    }
    request.on('data', onData)
    request.on('end', onEnd)
    request.on('error', onError)
    request.on('close', onClose)
  })
}

/** The whole body again: the prefix already read, then whatever the client still sends. */
export function bodyAfterPrefix(prefix: Buffer, rest: IncomingMessage): Readable {
  return Readable.from(
    (async function* () {
      yield prefix
      for await (const chunk of rest) yield chunk as Buffer
    })(),
    { objectMode: false },
  )
}
