/**
 * The base of every program's error catalog (`gateway/errors.ts`, `mock-trino/errors.ts`,
 * `harness/errors.ts`). Each error has a stable code that appears in logs, HTTP bodies and tests.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 500,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message)
    this.name = 'CodedError'
  }

  toJSON(): { code: string; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details }
  }
}

/** A catalog of errors: stable code → the HTTP status it maps to and what it means. */
export type ErrorCatalog = Readonly<Record<string, { statusCode: number; summary: string }>>

/** The builder of a catalog's errors: the code picks the status, so callers never repeat it. */
export function catalogErrors<Catalog extends ErrorCatalog>(
  catalog: Catalog,
): (
  code: keyof Catalog & string,
  message: string,
  details?: Readonly<Record<string, unknown>>,
) => CodedError {
  return (code, message, details) => new CodedError(code, message, catalog[code]?.statusCode, details)
}

/** Formats zod issues as `path: message (got <value>)` lines, for errors people read. */
export function describeIssues(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  root: unknown,
  prefix = '',
): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.')
    const where = [prefix, path].filter((part) => part !== '').join('.') || '(root)'
    const value = valueAt(root, issue.path)
    const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`
    return `${where}: ${issue.message}${got}`
  })
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = root
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}
