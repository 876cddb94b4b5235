/**
 * Form validation in the page with the gateway's own zod schemas (gateway/api/*), so the page and
 * the server refuse the same values with the same words; server refusals are mapped back to fields.
 */
import type { z } from 'zod'
import { ApiError } from './api.ts'

export type FieldErrors = Record<string, string>

export function validate<T extends z.ZodType>(
  schema: T,
  value: unknown,
): { ok: true; data: z.output<T> } | { ok: false; errors: FieldErrors } {
  const parsed = schema.safeParse(value)
  if (parsed.success) return { ok: true, data: parsed.data }
  const errors: FieldErrors = {}
  for (const issue of parsed.error.issues) {
    const field = issue.path.map(String).join('.') || 'form'
    errors[field] ??= issue.message
  }
  return { ok: false, errors }
}

/** A failed call as field errors: `field: message` lines by field, anything else under `form`. */
export function errorsOf(error: unknown): FieldErrors {
  if (error instanceof ApiError) {
    const errors: FieldErrors = {}
    for (const line of error.problems) {
      const colon = line.indexOf(': ')
      const field = colon === -1 ? 'form' : line.slice(0, colon)
      errors[field] ??= colon === -1 ? line : line.slice(colon + 2)
    }
    if (Object.keys(errors).length === 0) errors.form = `${error.code}: ${error.message}`
    return errors
  }
  return { form: error instanceof Error ? error.message : String(error) }
}

/** `''` → null, digits → number: what the number and optional text inputs of a form mean. */
export function numberOrNull(text: string): number | null | string {
  const trimmed = text.trim()
  if (trimmed === '') return null
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed
}

export function textOrNull(text: string): string | null {
  return text.trim() === '' ? null : text.trim()
}
