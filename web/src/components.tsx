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

/** The Save and Cancel buttons closing every edit form. */
export function SaveCancel(props: { onCancel: () => void }) {
  return (
    <div class="buttons">
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  )
}

/** Edit and Delete of one table row (admin only). */
export function RowActions(props: { onEdit: () => void; onDelete: () => void }) {
  return (
    <td class="row-actions">
      <button type="button" onClick={props.onEdit}>
        Edit
      </button>
      <button type="button" class="danger" onClick={props.onDelete}>
        Delete
      </button>
    </td>
  )
}

/** A table's header row; `actions` adds the empty column of row buttons. */
export function HeaderRow(props: { columns: readonly string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column) => (
          <th key={column}>{column}</th>
        ))}
        {props.actions === true && <th />}
      </tr>
    </thead>
  )
}

/** Chooses one `node.environment` of the resource groups, or all. */
export function EnvironmentFilter(props: {
  value: string
  environments: readonly string[]
  onChange: (value: string) => void
}) {
  return (
    <label class="inline">
      Environment{' '}
      <select
        name="environment-filter"
        value={props.value}
        onChange={(event) => props.onChange((event.target as HTMLSelectElement).value)}
      >
        <option value="">all</option>
        {props.environments
          .filter((name) => name !== '')
          .map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
      </select>
    </label>
  )
}
