/** Waits on a condition with a deadline; never a fixed sleep. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  const intervalMs = options.intervalMs ?? 20
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: last error ${lastError.message}` : ''
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${cause}`)
    }
    await sleepMs(intervalMs)
  }
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
