import { useState } from 'preact/hooks'
import { api } from '../api.ts'
import { HeaderRow, Loading, Section } from '../components.tsx'
import { useLoad } from '../hooks.ts'

/** Rows per History page. */
export const historyPageRows = 20

const filterFields = [
  ['user', 'User'],
  ['externalUrl', 'Backend URL'],
  ['queryId', 'Query id'],
  ['routingGroup', 'Routing group'],
  ['source', 'Source'],
] as const

type Filter = Record<(typeof filterFields)[number][0], string>

const emptyFilter: Filter = { user: '', externalUrl: '', queryId: '', routingGroup: '', source: '' }

export function History(props: { admin: boolean; userName: string }) {
  const [draft, setDraft] = useState<Filter>(emptyFilter)
  const [filter, setFilter] = useState<Filter>(emptyFilter)
  const [page, setPage] = useState(1)
  const result = useLoad(() => api.history({ ...filter, page, size: historyPageRows }), [filter, page])
  const backends = useLoad(() => api.backends())
  const nameOf = (url: string) => backends.data?.find((backend) => backend.proxyTo === url)?.name ?? url
  const pages = Math.max(1, Math.ceil((result.data?.total ?? 0) / historyPageRows))
  return (
    <Section title="History" actions={<button type="button" onClick={result.reload}>Refresh</button>}>
      {!props.admin && <p class="muted">Showing the queries of {props.userName} only.</p>}
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setPage(1)
          setFilter(draft)
        }}
      >
        {filterFields.map(([key, label]) => (
          <label class="field" key={key}>
            <span>{label}</span>
            <input
              name={key}
              value={draft[key]}
              onInput={(event) => setDraft({ ...draft, [key]: (event.target as HTMLInputElement).value })}
            />
          </label>
        ))}
        <div class="buttons">
          <button type="submit" class="primary">
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(emptyFilter)
              setFilter(emptyFilter)
              setPage(1)
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {result.data === undefined ? (
        <Loading error={result.error} />
      ) : (
        <>
          <table id="history">
            <HeaderRow columns={['Query id', 'User', 'Source', 'Routing group', 'Backend', 'Submitted', 'Query']} />
            <tbody>
              {result.data.rows.map((row) => (
                <tr key={row.queryId} data-query-id={row.queryId}>
                  <td>
                    <a
                      href={`${row.externalUrl ?? row.backendUrl}/ui/query.html?${encodeURIComponent(row.queryId)}`}
                      target="_blank"
                      rel="noreferrer"
                    >
                      {row.queryId}
                    </a>
                  </td>
                  <td>{row.user}</td>
                  <td>{row.source}</td>
                  <td>{row.routingGroup}</td>
                  <td class="backend" title={row.backendUrl}>
                    {nameOf(row.backendUrl)}
                  </td>
                  <td>{new Date(row.captureTime).toLocaleString()}</td>
                  <td class="query-text" title={row.queryText}>
                    {row.queryText.length > 80 ? `${row.queryText.slice(0, 80)}…` : row.queryText}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager">
            <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous
            </button>
            <span>
              Page {page} of {pages} ({result.data.total} queries)
            </span>
            <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
              Next
            </button>
          </nav>
        </>
      )}
    </Section>
  )
}
