import { useState } from 'preact/hooks'
import { selectorBody } from '../../../gateway/api/resource-groups.ts'
import { api, type Selector } from '../api.ts'
import { EnvironmentFilter, Field, FormError, HeaderRow, Loading, RowActions, SaveCancel, Section } from '../components.tsx'
import { errorsOf, type FieldErrors, numberOrNull, textOrNull, validate } from '../form.ts'
import { useLoad } from '../hooks.ts'

const textFields = [
  ['priority', 'Priority', '1'],
  ['userRegex', 'User regex', 'alice|bob'],
  ['sourceRegex', 'Source regex', '.*etl.*'],
  ['queryType', 'Query type', 'SELECT, INSERT, DATA_DEFINITION, …'],
  ['clientTags', 'Client tags (JSON)', '["LargeCustomer"]'],
  ['selectorResourceEstimate', 'Resource estimate (JSON)', '{"executionTime":{"max":"5m"}}'],
] as const

type Draft = Record<(typeof textFields)[number][0] | 'resourceGroupId', string>

const emptyDraft: Draft = {
  resourceGroupId: '',
  priority: '',
  userRegex: '',
  sourceRegex: '',
  queryType: '',
  clientTags: '',
  selectorResourceEstimate: '',
}

function draftOf(selector: Selector): Draft {
  const text = (value: string | number | null) => (value === null ? '' : String(value))
  return {
    resourceGroupId: text(selector.resourceGroupId),
    priority: text(selector.priority),
    userRegex: text(selector.userRegex),
    sourceRegex: text(selector.sourceRegex),
    queryType: text(selector.queryType),
    clientTags: text(selector.clientTags),
    selectorResourceEstimate: text(selector.selectorResourceEstimate),
  }
}

export function Selectors(props: { admin: boolean }) {
  const selectors = useLoad(() => api.selectors())
  const groups = useLoad(() => api.resourceGroups())
  const [environment, setEnvironment] = useState('')
  const [draft, setDraft] = useState<Draft | undefined>(undefined)
  const [editing, setEditing] = useState<Selector | undefined>(undefined)
  const [errors, setErrors] = useState<FieldErrors>({})
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const groupOf = (id: number) => groups.data?.find((group) => group.resourceGroupId === id)
  const environments = [...new Set((groups.data ?? []).map((group) => group.environment ?? ''))].sort()
  const shown = (selectors.data ?? []).filter(
    (selector) => environment === '' || (groupOf(selector.resourceGroupId)?.environment ?? '') === environment,
  )

  const open = (selector?: Selector) => {
    setErrors({})
    setEditing(selector)
    setDraft(selector === undefined ? emptyDraft : draftOf(selector))
  }
  const save = async (event: Event) => {
    event.preventDefault()
    if (draft === undefined) return
    const body = {
      resourceGroupId: numberOrNull(draft.resourceGroupId),
      priority: numberOrNull(draft.priority),
      userRegex: textOrNull(draft.userRegex),
      sourceRegex: textOrNull(draft.sourceRegex),
      queryType: textOrNull(draft.queryType),
      clientTags: textOrNull(draft.clientTags),
      selectorResourceEstimate: textOrNull(draft.selectorResourceEstimate),
    }
    const checked = validate(selectorBody, body)
    if (!checked.ok) {
      setErrors(checked.errors)
      return
    }
    try {
      if (editing === undefined) await api.createSelector(body)
      else await api.updateSelector(editing, body)
      setNotice(editing === undefined ? 'Created selector' : 'Saved selector')
      setDraft(undefined)
      selectors.reload()
    } catch (error) {
      setErrors(errorsOf(error))
    }
  }
  const remove = async (selector: Selector) => {
    if (!window.confirm('Delete this selector?')) return
    try {
      await api.deleteSelector(selector)
      setNotice('Deleted selector')
    } catch (error) {
      setNotice(Object.values(errorsOf(error)).join('; '))
    }
    selectors.reload()
  }
  const set = (key: keyof Draft) => (value: string) => setDraft((current) => current && { ...current, [key]: value })
  const groupError = errors.resourceGroupId

  return (
    <Section
      title="Selectors"
      actions={
        <>
          <EnvironmentFilter value={environment} environments={environments} onChange={setEnvironment} />
          <button type="button" onClick={() => { selectors.reload(); groups.reload() }}>Refresh</button>
          {props.admin && <button type="button" class="primary" onClick={() => open()}>Create selector</button>}
        </>
      }
    >
      {notice !== undefined && <p class="notice">{notice}</p>}
      {draft !== undefined && (
        <form class="panel grid" onSubmit={save} noValidate>
          <h3>{editing === undefined ? 'New selector' : 'Edit selector'}</h3>
          <label class={groupError === undefined ? 'field' : 'field invalid'}>
            <span>Resource group</span>
            <select name="resourceGroupId" value={draft.resourceGroupId} onChange={(event) => set('resourceGroupId')((event.target as HTMLSelectElement).value)}>
              <option value="">choose…</option>
              {(groups.data ?? []).map((group) => (
                <option key={group.resourceGroupId} value={String(group.resourceGroupId)}>
                  {group.resourceGroupId}: {group.name}
                  {group.environment === null ? '' : ` (${group.environment})`}
                </option>
              ))}
            </select>
            {groupError !== undefined && <small class="error" data-field="resourceGroupId">resourceGroupId: {groupError}</small>}
          </label>
          {textFields.map(([key, label, placeholder]) => (
            <Field key={key} label={label} name={key} value={draft[key]} errors={errors} onInput={set(key)} placeholder={placeholder} />
          ))}
          <FormError errors={errors} />
          <SaveCancel onCancel={() => setDraft(undefined)} />
        </form>
      )}
      {selectors.data === undefined ? (
        <Loading error={selectors.error} />
      ) : (
        <table id="selectors">
          <HeaderRow
            columns={['Resource group', 'Priority', 'User regex', 'Source regex', 'Query type', 'Client tags', 'Estimate']}
            actions={props.admin}
          />
          <tbody>
            {shown.map((selector) => (
              <tr key={JSON.stringify(selector)} data-group-id={selector.resourceGroupId}>
                <td>
                  {selector.resourceGroupId}: {groupOf(selector.resourceGroupId)?.name ?? '?'}
                </td>
                <td>{selector.priority}</td>
                <td>{selector.userRegex}</td>
                <td>{selector.sourceRegex}</td>
                <td>{selector.queryType}</td>
                <td>{selector.clientTags}</td>
                <td>{selector.selectorResourceEstimate}</td>
                {props.admin && (
                  <RowActions onEdit={() => open(selector)} onDelete={() => void remove(selector)} />
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  )
}
