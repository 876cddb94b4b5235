import type { ComponentChildren } from 'preact'
import type { FieldErrors } from './form.ts'

export function Field(props: {
  label: string
  name: string
  value: string
  errors: FieldErrors
  onInput: (value: string) => void
  placeholder?: string
  readOnly?: boolean
  type?: string
}) {
  const error = props.errors[props.name]
  return (
    <label class={error === undefined ? 'field' : 'field invalid'}>
      <span>{props.label}</span>
      <input
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        placeholder={props.placeholder}
        readOnly={props.readOnly}
        aria-invalid={error !== undefined}
        onInput={(event) => props.onInput((event.target as HTMLInputElement).value)}
      />
      {error !== undefined && (
        <small class="error" data-field={props.name}>
          {props.name}: {error}
        </small>
      )}
    </label>
  )
}

export function FormError(props: { errors: FieldErrors }) {
  const message = props.errors.form
  return message === undefined ? null : <p class="error form-error">{message}</p>
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section>
      <header class="section-header">
        <h2>{props.title}</h2>
        <div>{props.actions}</div>
      </header>
      {props.children}
    </section>
  )
}

export function StatusBadge(props: { status: string | undefined }) {
  const status = props.status ?? 'UNKNOWN'
  return <span class={`badge ${status.toLowerCase()}`}>{status}</span>
}

export function Loading(props: { error: string | undefined }) {
  return props.error === undefined ? <p class="muted">Loading…</p> : <p class="error">{props.error}</p>
}
