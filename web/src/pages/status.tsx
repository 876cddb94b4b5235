import { api, type UserInfo } from '../api.ts'
import { Loading, Section } from '../components.tsx'
import { useLoad } from '../hooks.ts'

export function Status(props: { user: UserInfo; loginType: string }) {
  const readiness = useLoad(() => api.readiness())
  const distribution = useLoad(() => api.distribution(1))
  return (
    <Section title="Gateway status" actions={<button type="button" onClick={readiness.reload}>Refresh</button>}>
      <dl class="status" id="gateway-status">
        <dt>Ready</dt>
        <dd class="ready">{readiness.data === undefined ? <Loading error={readiness.error} /> : readiness.data.ready ? 'yes' : 'no'}</dd>
        <dt>Routing rules</dt>
        <dd>
          <code>{readiness.data === undefined ? '' : JSON.stringify(readiness.data.routingRules)}</code>
        </dd>
        <dt>Started</dt>
        <dd>{distribution.data === undefined ? '' : new Date(distribution.data.startTime).toLocaleString()}</dd>
        <dt>Login</dt>
        <dd>{props.loginType === 'none' ? 'authentication off (every caller is admin)' : `${props.loginType} login`}</dd>
        <dt>Signed in as</dt>
        <dd class="user">
          {props.user.userName} ({props.user.roles.join(', ') || 'no role'})
        </dd>
      </dl>
    </Section>
  )
}
