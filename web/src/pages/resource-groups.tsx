import { useState } from 'preact/hooks'
import { resourceGroupBody } from '../../../gateway/api/resource-groups.ts'
import { api, type ResourceGroup } from '../api.ts'
import { EnvironmentFilter, Field, FormError, HeaderRow, Loading, RowActions, SaveCancel, Section } from '../components.tsx'
import { errorsOf, type FieldErrors, numberOrNull, textOrNull, validate } from '../form.ts'
import { useLoad } from '../hooks.ts'

const fields = [
  ['name', 'Name', 'global or ${USER}'],
  ['environment', 'Environment', 'node.environment, e.g. production'],
  ['parent', 'Parent id', 'empty for a root group'],
  ['hardConcurrencyLimit', 'Hard concurrency limit', '10'],
  ['softConcurrencyLimit', 'Soft concurrency limit', 'optional'],
  ['maxQueued', 'Max queued', '100'],
  ['softMemoryLimit', 'Soft memory limit', '80% or 10GB'],
  ['schedulingPolicy', 'Scheduling policy', 'fair, weighted, weighted_fair, query_priority'],
  ['schedulingWeight', 'Scheduling weight', 'optional'],
  ['softCpuLimit', 'Soft CPU limit', 'optional duration, e.g. 1h'],
  ['hardCpuLimit', 'Hard CPU limit', 'optional duration, e.g. 2h'],
] as const

type FieldKey = (typeof fields)[number][0]
type Draft = Record<FieldKey, string>

const numeric: readonly FieldKey[] = ['parent', 'hardConcurrencyLimit', 'softConcurrencyLimit', 'maxQueued', 'schedulingWeight']

const emptyDraft: Draft = {
  name: '',
  environment: '',
  parent: '',
  hardConcurrencyLimit: '',
  softConcurrencyLimit: '',
  maxQueued: '',
  softMemoryLimit: '',
  schedulingPolicy: '',
  schedulingWeight: '',
  softCpuLimit: '',
  hardCpuLimit: '',
}

function draftOf(group: ResourceGroup): Draft {
  const draft = { ...emptyDraft }
  for (const [key] of fields) {
    const value = group[key]
    draft[key] = value === null || value === undefined ? '' : String(value)
  }
  return draft
}

export function ResourceGroups(props: { admin: boolean }) {
  const groups = useLoad(() => api.resourceGroups())
  const [environment, setEnvironment] = useState('')
  const [draft, setDraft] = useState<Draft | undefined>(undefined)
  const [editing, setEditing] = useState<number | undefined>(undefined)
  const [errors, setErrors] = useState<FieldErrors>({})
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const environments = [...new Set((groups.data ?? []).map((group) => group.environment ?? ''))].sort()
  const shown = (groups.data ?? []).filter((group) => environment === '' || (group.environment ?? '') === environment)

  const open = (group?: ResourceGroup) => {
    setErrors({})
    setEditing(group?.resourceGroupId)
    setDraft(group === undefined ? { ...emptyDraft, environment } : draftOf(group))
  }
  const save = async (event: Event) => {
    event.preventDefault()
    if (draft === undefined) return
    const body: Record<string, unknown> = { resourceGroupId: editing ?? null }
    for (const [key] of fields) {
      body[key] = numeric.includes(key) ? numberOrNull(draft[key]) : textOrNull(draft[key])
    }
    const checked = validate(resourceGroupBody, body)
    if (!checked.ok) {
      setErrors(checked.errors)
      return
    }
    try {
      if (editing === undefined) await api.createResourceGroup(body)
      else await api.updateResourceGroup(body)
      setNotice(`${editing === undefined ? 'Created' : 'Saved'} resource group ${draft.name}`)
      setDraft(undefined)
      groups.reload()
    } catch (error) {
      setErrors(errorsOf(error))
    }
  }
  const remove = async (group: ResourceGroup) => {
    if (!window.confirm(`Delete resource group ${group.name}?`)) return
    try {
      await api.deleteResourceGroup(group.resourceGroupId)
      setNotice(`Deleted resource group ${group.name}`)
    } catch (error) {
      setNotice(Object.values(errorsOf(error)).join('; '))
    }
    groups.reload()
  }
  const set = (key: FieldKey) => (value: string) => setDraft((current) => current && { ...current, [key]: value })

  return (
    <Section
      title="Resource groups"
      actions={
        <>
          <EnvironmentFilter value={environment} environments={environments} onChange={setEnvironment} />
          <button type="button" onClick={groups.reload}>Refresh</button>
          {props.admin && <button type="button" class="primary" onClick={() => open()}>Create resource group</button>}
        </>
      }
    >
      {notice !== undefined && <p class="notice">{notice}</p>}
      {draft !== undefined && (
        <form class="panel grid" onSubmit={save} noValidate>
          <h3>{editing === undefined ? 'New resource group' : `Edit resource group ${editing}`}</h3>
          {fields.map(([key, label, placeholder]) => (
            <Field key={key} label={label} name={key} value={draft[key]} errors={errors} onInput={set(key)} placeholder={placeholder} />
          ))}
          <FormError errors={errors} />
          <SaveCancel onCancel={() => setDraft(undefined)} />
        </form>
      )}
      {groups.data === undefined ? (
        <Loading error={groups.error} />
      ) : (
        <table id="resource-groups">
          <HeaderRow
            columns={['Id', 'Name', 'Environment', 'Parent', 'Hard concurrency', 'Max queued', 'Soft memory', 'Policy', 'Weight']}
            actions={props.admin}
          />
          <tbody>
            {shown.map((group) => (
              <tr key={group.resourceGroupId} data-group={group.name}>
                <td>{group.resourceGroupId}</td>
                <td>{group.name}</td>
                <td>{group.environment}</td>
                <td>{group.parent}</td>
                <td>{group.hardConcurrencyLimit}</td>
                <td>{group.maxQueued}</td>
                <td>{group.softMemoryLimit}</td>
                <td>{group.schedulingPolicy}</td>
                <td>{group.schedulingWeight}</td>
                {props.admin && (
                  <RowActions onEdit={() => open(group)} onDelete={() => void remove(group)} />
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  )
}
