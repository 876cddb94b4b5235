import { useState } from 'preact/hooks'
import { backendBodySchema } from '../../../gateway/api/bodies.ts'
import { api, type Backend } from '../api.ts'
import { Field, FormError, HeaderRow, Loading, SaveCancel, Section, StatusBadge } from '../components.tsx'
import { errorsOf, type FieldErrors, textOrNull, validate } from '../form.ts'
import { useLoad } from '../hooks.ts'

interface Draft {
  name: string
  routingGroup: string
  proxyTo: string
  externalUrl: string
  active: boolean
}

const emptyDraft: Draft = { name: '', routingGroup: 'adhoc', proxyTo: '', externalUrl: '', active: true }

export function Clusters(props: { admin: boolean }) {
  const backends = useLoad(() => api.backends())
  const [draft, setDraft] = useState<Draft | undefined>(undefined)
  const [editing, setEditing] = useState<string | undefined>(undefined)
  const [errors, setErrors] = useState<FieldErrors>({})
  const [notice, setNotice] = useState<string | undefined>(undefined)

  const open = (backend?: Backend) => {
    setErrors({})
    setEditing(backend?.name)
    setDraft(
      backend === undefined
        ? emptyDraft
        : {
            name: backend.name,
            routingGroup: backend.routingGroup,
            proxyTo: backend.proxyTo,
            externalUrl: backend.externalUrl ?? '',
            active: backend.active,
          },
    )
  }
  const save = async (event: Event) => {
    event.preventDefault()
    if (draft === undefined) return
    const checked = validate(backendBodySchema, { ...draft, externalUrl: textOrNull(draft.externalUrl) })
    if (!checked.ok) {
      setErrors(checked.errors)
      return
    }
    try {
      const body = { ...checked.data, externalUrl: checked.data.externalUrl ?? null }
      if (editing === undefined) await api.saveBackend(body)
      else await api.updateBackend(body)
      setNotice(`${editing === undefined ? 'Created' : 'Saved'} backend ${checked.data.name}`)
      setDraft(undefined)
      backends.reload()
    } catch (error) {
      setErrors(errorsOf(error))
    }
  }
  const act = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work()
      setNotice(what)
    } catch (error) {
      setNotice(errorsOf(error).form ?? Object.values(errorsOf(error)).join('; '))
    }
    backends.reload()
  }
  const set = (key: keyof Draft) => (value: string) => setDraft((current) => current && { ...current, [key]: value })

  return (
    <Section
      title="Cluster"
      actions={
        <>
          <button type="button" onClick={backends.reload}>
            Refresh
          </button>
          {props.admin && (
            <button type="button" class="primary" onClick={() => open()}>
              Create backend
            </button>
          )}
        </>
      }
    >
      {notice !== undefined && <p class="notice">{notice}</p>}
      {draft !== undefined && (
        <form class="panel" onSubmit={save} noValidate>
          <h3>{editing === undefined ? 'New backend' : `Edit ${editing}`}</h3>
          <Field label="Name" name="name" value={draft.name} errors={errors} onInput={set('name')} readOnly={editing !== undefined} placeholder="trino-1" />
          <Field label="Routing group" name="routingGroup" value={draft.routingGroup} errors={errors} onInput={set('routingGroup')} placeholder="adhoc" />
          <Field label="Proxy to" name="proxyTo" value={draft.proxyTo} errors={errors} onInput={set('proxyTo')} placeholder="http://trino-1:8080" />
          <Field label="External URL" name="externalUrl" value={draft.externalUrl} errors={errors} onInput={set('externalUrl')} placeholder="https://trino-1.example.com (optional)" />
          <label class="checkbox">
            <input
              type="checkbox"
              name="active"
              checked={draft.active}
              onChange={(event) => setDraft({ ...draft, active: (event.target as HTMLInputElement).checked })}
            />
            Active
          </label>
          <FormError errors={errors} />
          <SaveCancel onCancel={() => setDraft(undefined)} />
        </form>
      )}
      {backends.data === undefined ? (
        <Loading error={backends.error} />
      ) : (
        <table id="backends">
          <HeaderRow columns={['Name', 'Routing group', 'Proxy to', 'External URL', 'Active', 'Status', 'Queued', 'Running']} actions={props.admin} />
          <tbody>
            {backends.data.map((backend) => (
              <tr key={backend.name} data-backend={backend.name}>
                <td>{backend.name}</td>
                <td>{backend.routingGroup}</td>
                <td>{backend.proxyTo}</td>
                <td>{backend.externalUrl}</td>
                <td class="active">{backend.active ? 'yes' : 'no'}</td>
                <td class="status">
                  <StatusBadge status={backend.status} />
                </td>
                <td>{backend.queued ?? 0}</td>
                <td>{backend.running ?? 0}</td>
                {props.admin && (
                  <td class="row-actions">
                    <button type="button" onClick={() => open(backend)}>
                      Edit
                    </button>
                    <button
                      type="button"
                      onClick={() =>
                        act(`${backend.active ? 'Deactivated' : 'Activated'} ${backend.name}`, () =>
                          api.updateBackend({ ...backend, active: !backend.active }),
                        )
                      }
                    >
                      {backend.active ? 'Deactivate' : 'Activate'}
                    </button>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => {
                        if (window.confirm(`Delete backend ${backend.name}?`)) {
                          void act(`Deleted ${backend.name}`, () => api.deleteBackend(backend.name))
                        }
                      }}
                    >
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  )
}
