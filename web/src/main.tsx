/**
 * The gateway's web UI: Dashboard, Cluster, History, Routing rules, Resource groups, Selectors and
 * Status, on the same REST API as Trino Gateway's UI. Pages are chosen by the URL hash
 * (`#/cluster`), so the gateway serves one page.
 */
import './styles.css'
import { render } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError, api, type UserInfo, whenUnauthenticated } from './api.ts'
import { Clusters } from './pages/clusters.tsx'
import { Dashboard } from './pages/dashboard.tsx'
import { History } from './pages/history.tsx'
import { Login } from './pages/login.tsx'
import { ResourceGroups } from './pages/resource-groups.tsx'
import { Rules } from './pages/rules.tsx'
import { Selectors } from './pages/selectors.tsx'
import { Status } from './pages/status.tsx'

const pages = [
  ['dashboard', 'Dashboard', false],
  ['cluster', 'Cluster', false],
  ['history', 'History', false],
  ['routing-rules', 'Routing rules', true],
  ['resource-group', 'Resource groups', false],
  ['selector', 'Selectors', false],
  ['status', 'Status', false],
] as const

type PageId = (typeof pages)[number][0]

function currentPage(): PageId {
  const id = window.location.hash.replace(/^#\/?/, '')
  return (pages.find(([page]) => page === id)?.[0] ?? 'dashboard') as PageId
}

function App() {
  const [page, setPage] = useState<PageId>(currentPage())
  const [user, setUser] = useState<UserInfo | 'anonymous' | undefined>(undefined)
  const [loginType, setLoginType] = useState('none')
  const [error, setError] = useState<string | undefined>(undefined)
  const [disabledPages, setDisabledPages] = useState<readonly string[]>([])
  const refreshUser = useCallback(() => {
    api.loginType().then(setLoginType, () => {})
    api.uiConfiguration().then(
      (configuration) => setDisabledPages(configuration.disablePages),
      () => {},
    )
    api.userInfo().then(setUser, (failure: unknown) => {
      if (failure instanceof ApiError && failure.status === 401) setUser('anonymous')
      else setError(failure instanceof Error ? failure.message : String(failure))
    })
  }, [])
  useEffect(() => {
    whenUnauthenticated(() => setUser('anonymous'))
    refreshUser()
    const onHash = () => setPage(currentPage())
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [refreshUser])

  if (error !== undefined) return <p class="error">{error}</p>
  if (user === undefined) return <p class="muted">Loading…</p>
  if (user === 'anonymous') return <Login onLogin={refreshUser} />
  const admin = user.roles.includes('ADMIN')
  // Status is ours and always shown; Trino Gateway's pages follow uiConfiguration and pagePermissions.
  const visible = pages.filter(
    ([id, , adminOnly]) =>
      id === 'status' ||
      ((admin || !adminOnly) &&
        !disabledPages.includes(id) &&
        (user.permissions.length === 0 || user.permissions.includes(id))),
  )
  const shown = visible.some(([id]) => id === page) ? page : 'status'
  return (
    <div class="layout">
      <nav class="sidebar">
        <div class="brand">trino-gateway-lab</div>
        {visible.map(([id, label]) => (
            <a key={id} href={`#/${id}`} class={id === shown ? 'current' : ''} data-page={id}>
              {label}
            </a>
          ))}
        <div class="whoami">
          <span>{user.userName}</span>
          {loginType !== 'none' && (
            <button
              type="button"
              onClick={() =>
                api.logout().then(
                  () => setUser('anonymous'),
                  () => setUser('anonymous'),
                )
              }
            >
              Sign out
            </button>
          )}
        </div>
      </nav>
      <main data-current-page={shown}>
        {shown === 'dashboard' && <Dashboard />}
        {shown === 'cluster' && <Clusters admin={admin} />}
        {shown === 'history' && <History admin={admin} userName={user.userName} />}
        {shown === 'routing-rules' && <Rules admin={admin} />}
        {shown === 'resource-group' && <ResourceGroups admin={admin} />}
        {shown === 'selector' && <Selectors admin={admin} />}
        {shown === 'status' && <Status user={user} loginType={loginType} />}
      </main>
    </div>
  )
}

const root = document.getElementById('app')
if (root !== null) render(<App />, root)
