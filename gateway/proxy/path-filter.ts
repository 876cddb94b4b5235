/**
 * Which request paths the gateway proxies to a Trino backend (Trino Gateway's `PathFilter`):
 * a statement-path prefix, one of the fixed Trino prefixes, or a full match of an extra regex.
 * Matching is case-sensitive, as in Trino Gateway.
 */

/** Prefixes that are always proxied, whatever the configuration. */
export const fixedProxiedPathPrefixes: readonly string[] = [
  '/v1/query',
  '/v1/spooled',
  '/ui',
  '/v1/info',
  '/v1/node',
  '/ui/api/stats',
  '/oauth2',
]

export const defaultStatementPaths: readonly string[] = ['/v1/statement']

/** Methods the data plane forwards; anything else on a proxied path is answered 405. */
export const proxiedMethods: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD'])

export interface PathFilterOptions {
  /** Full list of statement paths (the default plus `additionalStatementPaths`). */
  statementPaths: readonly string[]
  /** Regexes that must match the whole path (`extraWhitelistPaths`). */
  extraWhitelistPaths: readonly string[]
}

export type PathFilter = (path: string) => boolean

/** Builds the whitelist test; throws naming the pattern when an extra regex does not compile. */
export function createPathFilter(options: PathFilterOptions): PathFilter {
  const prefixes = [...options.statementPaths, ...fixedProxiedPathPrefixes]
  const patterns = options.extraWhitelistPaths.map((source) => {
    try {
      // Anchored so the regex must match the whole path, as Java's `Matcher.matches()` does.
      return new RegExp(`^(?:${source})$`)
    } catch (error) {
      throw new Error(
        `extraWhitelistPaths: invalid regex pattern ${JSON.stringify(source)}: ${(error as Error).message}`,
      )
    }
  })
  return (path) => {
    for (const prefix of prefixes) if (path.startsWith(prefix)) return true
    for (const pattern of patterns) if (pattern.test(path)) return true
    return false
  }
}

/** The statement path a request path starts with, if any. */
export function statementPathOf(path: string, statementPaths: readonly string[]): string | undefined {
  return statementPaths.find((prefix) => path.startsWith(prefix))
}
