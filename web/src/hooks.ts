import { useCallback, useEffect, useState } from 'preact/hooks'

/** Loads once on mount and on `reload()`; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const reload = useCallback(() => {
    load().then(
      (value) => {
        setData(value)
        setError(undefined)
      },
      (failure: unknown) => setError(failure instanceof Error ? failure.message : String(failure)),
    )
  }, deps)
  useEffect(reload, [reload])
  return { data, error, reload }
}
