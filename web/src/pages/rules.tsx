import { useState } from 'preact/hooks'
import { routingRuleSchema } from '../../../gateway/routing/rules/rule-schema.ts'
import { api, type RoutingRule } from '../api.ts'
import { Field, FormError, HeaderRow, Loading, SaveCancel, Section } from '../components.tsx'
import { errorsOf, type FieldErrors, numberOrNull, validate } from '../form.ts'
import { useLoad } from '../hooks.ts'

interface Draft {
  name: string
  description: string
  priority: string
  condition: string
  actions: string
}

export function Rules(props: { admin: boolean }) {
  const rules = useLoad(() => api.routingRules())
  const [draft, setDraft] = useState<Draft | undefined>(undefined)
  const [errors, setErrors] = useState<FieldErrors>({})
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const edit = (rule: RoutingRule) => {
    setErrors({})
    setDraft({
      name: rule.name,
      description: rule.description ?? '',
      priority: String(rule.priority),
      condition: rule.condition,
      actions: rule.actions.join('\n'),
    })
  }
  const save = async (event: Event) => {
    event.preventDefault()
    if (draft === undefined) return
    const checked = validate(routingRuleSchema, {
      name: draft.name,
      description: draft.description,
      priority: numberOrNull(draft.priority),
      condition: draft.condition,
      actions: draft.actions
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== ''),
    })
    if (!checked.ok) {
      setErrors(checked.errors)
      return
    }
    try {
      await api.updateRoutingRule(checked.data)
      setNotice(`Saved rule ${checked.data.name}`)
      setDraft(undefined)
      rules.reload()
    } catch (error) {
      setErrors(errorsOf(error))
    }
  }
  const set = (key: keyof Draft) => (value: string) => setDraft((current) => current && { ...current, [key]: value })
  if (rules.data === 'external') {
    return (
      <Section title="Routing rules">
        <p class="muted">Routing rules are managed by an external service (routingRules.rulesType: EXTERNAL).</p>
      </Section>
    )
  }
  return (
    <Section title="Routing rules" actions={<button type="button" onClick={rules.reload}>Refresh</button>}>
      {notice !== undefined && <p class="notice">{notice}</p>}
      {draft !== undefined && (
        <form class="panel" onSubmit={save} noValidate>
          <h3>Edit {draft.name}</h3>
          <Field label="Description" name="description" value={draft.description} errors={errors} onInput={set('description')} />
          <Field label="Priority" name="priority" value={draft.priority} errors={errors} onInput={set('priority')} />
          <label class={errors.condition === undefined ? 'field' : 'field invalid'}>
            <span>Condition (MVEL)</span>
            <textarea name="condition" rows={3} value={draft.condition} onInput={(event) => set('condition')((event.target as HTMLTextAreaElement).value)} />
            {errors.condition !== undefined && <small class="error">condition: {errors.condition}</small>}
          </label>
          <label class={errors.actions === undefined ? 'field' : 'field invalid'}>
            <span>Actions (one per line)</span>
            <textarea name="actions" rows={3} value={draft.actions} onInput={(event) => set('actions')((event.target as HTMLTextAreaElement).value)} />
            {errors.actions !== undefined && <small class="error">actions: {errors.actions}</small>}
          </label>
          <FormError errors={errors} />
          <SaveCancel onCancel={() => setDraft(undefined)} />
        </form>
      )}
      {rules.data === undefined ? (
        <Loading error={rules.error} />
      ) : (
        <table id="rules">
          <HeaderRow columns={['Priority', 'Name', 'Description', 'Condition', 'Actions']} actions={props.admin} />
          <tbody>
            {[...rules.data]
              .sort((a, b) => a.priority - b.priority)
              .map((rule) => (
                <tr key={rule.name} data-rule={rule.name}>
                  <td>{rule.priority}</td>
                  <td>{rule.name}</td>
                  <td>{rule.description}</td>
                  <td><code>{rule.condition}</code></td>
                  <td>{rule.actions.map((action) => <code key={action} class="block">{action}</code>)}</td>
                  {props.admin && (
                    <td><button type="button" onClick={() => edit(rule)}>Edit</button></td>
                  )}
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </Section>
  )
}
