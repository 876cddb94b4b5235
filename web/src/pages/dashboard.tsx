import { api, type Backend } from '../api.ts'
import { HeaderRow, Loading, Section, StatusBadge } from '../components.tsx'
import { useLoad } from '../hooks.ts'

export function Dashboard() {
  const backends = useLoad(() => api.backends())
  const distribution = useLoad(() => api.distribution(1))
  const groups = new Map<string, Backend[]>()
  for (const backend of backends.data ?? []) {
    const members = groups.get(backend.routingGroup) ?? []
    members.push(backend)
    groups.set(backend.routingGroup, members)
  }
  const stats = distribution.data
  return (
    <div>
      <Section title="Dashboard" actions={<button type="button" onClick={() => { backends.reload(); distribution.reload() }}>Refresh</button>}>
        {stats === undefined ? (
          <Loading error={distribution.error} />
        ) : (
          <div class="cards">
            <Card label="Backends" value={stats.totalBackendCount} />
            <Card label="Active" value={stats.onlineBackendCount} />
            <Card label="Healthy" value={stats.healthyBackendCount} />
            <Card label="Queries (last hour)" value={stats.totalQueryCount} />
            <Card label="Queries per minute" value={stats.averageQueryCountMinute.toFixed(2)} />
            <Card label="Gateway started" value={new Date(stats.startTime).toLocaleString()} />
          </div>
        )}
      </Section>
      {backends.data === undefined ? (
        <Loading error={backends.error} />
      ) : (
        [...groups.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([group, members]) => (
            <Section key={group} title={`Routing group ${group}`}>
              <table class="routing-group" data-group={group}>
                <HeaderRow columns={['Backend', 'Status', 'Active', 'Queued', 'Running', 'Queries (last hour)']} />
                <tbody>
                  {members.map((backend) => (
                    <tr key={backend.name}>
                      <td>{backend.name}</td>
                      <td>
                        <StatusBadge status={backend.status} />
                      </td>
                      <td>{backend.active ? 'yes' : 'no'}</td>
                      <td>{backend.queued ?? 0}</td>
                      <td>{backend.running ?? 0}</td>
                      <td>
                        {stats?.distributionChart.find((entry) => entry.name === backend.name)?.queryCount ?? 0}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          ))
      )}
      {backends.data?.length === 0 && <p class="muted">No backends yet: add one on the Cluster page.</p>}
    </div>
  )
}

function Card(props: { label: string; value: string | number }) {
  return (
    <div class="card">
      <div class="card-value">{props.value}</div>
      <div class="card-label">{props.label}</div>
    </div>
  )
}
