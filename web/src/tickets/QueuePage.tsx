import { useEffect, useRef, useState, type KeyboardEvent } from 'react'
import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { helpdeskApi, nextDue, workflowApi, type TicketQuery } from '../api/endpoints'
import { priorities, statuses, type BoardTicket, type TicketStatus, type Priority } from '../api/types'
import { useAuth } from '../auth/AuthContext'
import { defaultFilters, deleteView, loadViews, saveView, type QueueFilters, type SavedView } from '../lib/savedViews'
import { countdown, dateTime, relativeTime } from '../lib/time'
import { useNow } from '../lib/useNow'
import { Empty, ErrorText, Loading } from '../ui/Status'
import { PriorityBadge, stepName } from './Badges'
import { useCategories } from './hooks'
import { TicketTable } from './TicketTable'
import { useTitle } from '../lib/useTitle'

const views: { id: QueueFilters['view']; label: string }[] = [
  { id: 'mine', label: 'Assigned to me' },
  { id: 'team', label: 'My team' },
  { id: 'unassigned', label: 'Unassigned' },
  { id: 'all', label: 'All' },
  { id: 'breaching', label: 'Breaching soon' },
]

/** breachWindowMs is how close a deadline must be for "breaching soon". */
export const breachWindowMs = 4 * 3_600_000

/** QueuePage is the agents' work list: views, filters, search and saved views. */
export function QueuePage() {
  useTitle('Queue')
  const { user } = useAuth()
  const [filters, setFilters] = useState<QueueFilters>(defaultFilters)
  const [search, setSearch] = useState('')
  const [saved, setSaved] = useState<SavedView[]>(() => (user ? loadViews(user.id) : []))
  const set = (patch: Partial<QueueFilters>) => setFilters((f) => ({ ...f, ...patch }))

  // Search as the agent types, once they pause.
  useEffect(() => {
    const id = setTimeout(() => set({ q: search.trim() }), 300)
    return () => clearTimeout(id)
  }, [search])

  const fromBoard = filters.view === 'team' || filters.view === 'breaching'
  return (
    <main className="page">
      <div className="page-head">
        <h1>Queue</h1>
      </div>
      <ViewTabs view={filters.view} onSelect={(view) => set({ view })} />
      <Filters filters={filters} set={set} search={search} setSearch={setSearch} />
      <SavedViews
        saved={saved}
        onApply={(v) => {
          setFilters(v.filters)
          setSearch(v.filters.q)
        }}
        onSave={(name) => user && setSaved(saveView(user.id, { name, filters }))}
        onDelete={(name) => user && setSaved(deleteView(user.id, name))}
      />
      <div role="tabpanel" id={panelId} aria-labelledby={tabId(filters.view)}>
        {fromBoard ? <BoardRows filters={filters} userId={user?.id ?? ''} /> : <HelpdeskRows filters={filters} userId={user?.id ?? ''} />}
      </div>
    </main>
  )
}

const panelId = 'queue-panel'
const tabId = (view: QueueFilters['view']) => `queue-tab-${view}`

/**
 * ViewTabs are the queue's views as tabs: one tab stop, the selected view;
 * Left and Right (wrapping), Home and End move between them and select.
 */
function ViewTabs({ view, onSelect }: { view: QueueFilters['view']; onSelect: (v: QueueFilters['view']) => void }) {
  const tabs = useRef<(HTMLButtonElement | null)[]>([])
  const onKeyDown = (e: KeyboardEvent<HTMLButtonElement>, i: number) => {
    const n = views.length
    const to = e.key === 'ArrowRight' ? (i + 1) % n : e.key === 'ArrowLeft' ? (i - 1 + n) % n : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : -1
    if (to < 0) return
    e.preventDefault()
    onSelect(views[to].id)
    tabs.current[to]?.focus()
  }
  return (
    <div className="tabs" role="tablist" aria-label="Views">
      {views.map((v, i) => (
        <button
          key={v.id}
          ref={(el) => {
            tabs.current[i] = el
          }}
          id={tabId(v.id)}
          role="tab"
          type="button"
          aria-selected={view === v.id}
          aria-controls={panelId}
          tabIndex={view === v.id ? 0 : -1}
          onClick={() => onSelect(v.id)}
          onKeyDown={(e) => onKeyDown(e, i)}
        >
          {v.label}
        </button>
      ))}
    </div>
  )
}

function Filters({ filters, set, search, setSearch }: { filters: QueueFilters; set: (p: Partial<QueueFilters>) => void; search: string; setSearch: (s: string) => void }) {
  const categories = useCategories()
  return (
    <div className="filters" role="search">
      <label>
        Search
        <input type="search" value={search} placeholder="Words in title or description" onChange={(e) => setSearch(e.target.value)} />
      </label>
      <label>
        Status
        <select value={filters.status} onChange={(e) => set({ status: e.target.value })}>
          <option value="">Any</option>
          {statuses.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      <label>
        Priority
        <select value={filters.priority} onChange={(e) => set({ priority: e.target.value })}>
          <option value="">Any</option>
          {priorities.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </label>
      <label>
        Category
        <select value={filters.category_id} onChange={(e) => set({ category_id: e.target.value })}>
          <option value="">Any</option>
          {(categories.data ?? []).map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </label>
    </div>
  )
}

function SavedViews({ saved, onApply, onSave, onDelete }: { saved: SavedView[]; onApply: (v: SavedView) => void; onSave: (name: string) => void; onDelete: (name: string) => void }) {
  const [name, setName] = useState('')
  return (
    <details className="saved-views">
      <summary>Saved views{saved.length > 0 ? ` (${saved.length})` : ''}</summary>
      <ul>
        {saved.map((v) => (
          <li key={v.name}>
            <button type="button" className="link" onClick={() => onApply(v)}>{v.name}</button>
            <button type="button" className="link danger" aria-label={`Delete view ${v.name}`} onClick={() => onDelete(v.name)}>Delete</button>
          </li>
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (name.trim()) onSave(name.trim())
          setName('')
        }}
      >
        <label>
          Save the current filters as
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Urgent hardware" />
        </label>
        <button type="submit" disabled={!name.trim()}>Save view</button>
      </form>
    </details>
  )
}

function HelpdeskRows({ filters, userId }: { filters: QueueFilters; userId: string }) {
  const query: TicketQuery = {
    status: filters.status as TicketStatus | '',
    priority: filters.priority as Priority | '',
    category_id: filters.category_id || undefined,
    q: filters.q || undefined,
    assignee_id: filters.view === 'mine' ? userId : filters.view === 'unassigned' ? 'none' : undefined,
    sort: 'updated',
  }
  const list = useInfiniteQuery({
    queryKey: ['tickets', 'queue', query],
    queryFn: ({ pageParam }) => helpdeskApi.tickets({ ...query, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor || undefined,
  })
  if (list.isPending) return <Loading label="Loading tickets…" />
  if (list.isError) return <ErrorText error={list.error} title="The queue could not be loaded" />
  const tickets = list.data.pages.flatMap((p) => p.items)
  if (tickets.length === 0) return <Empty>No ticket matches. Try another view or fewer filters.</Empty>
  return (
    <>
      <TicketTable tickets={tickets} staff caption="Tickets" />
      {list.hasNextPage && (
        <button type="button" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          {list.isFetchingNextPage ? 'Loading…' : 'Show more'}
        </button>
      )}
    </>
  )
}

/** boardRowsFor picks the board rows of the team and "breaching soon" views. */
export function boardRowsFor(rows: BoardTicket[], filters: QueueFilters, teamIds: string[], now: number): BoardTicket[] {
  const q = filters.q.toLowerCase()
  let out = rows.filter(
    (r) =>
      r.status !== 'closed' &&
      (!filters.status || r.status === filters.status) &&
      (!filters.priority || r.priority === filters.priority) &&
      (!filters.category_id || r.category_id === filters.category_id) &&
      (!q || r.title.toLowerCase().includes(q)),
  )
  if (filters.view === 'team') out = out.filter((r) => teamIds.includes(r.team_id))
  if (filters.view === 'breaching') {
    out = out.filter((r) => {
      const due = nextDue(r)
      return r.sla_breached || (due !== null && Date.parse(due) - now < breachWindowMs)
    })
    out.sort((a, b) => Date.parse(nextDue(a) ?? '9999') - Date.parse(nextDue(b) ?? '9999'))
  }
  return out
}

function BoardRows({ filters, userId }: { filters: QueueFilters; userId: string }) {
  const now = useNow(1000)
  const board = useQuery({ queryKey: ['board', 'all'], queryFn: () => workflowApi.board(), refetchInterval: 30_000 })
  const teams = useQuery({ queryKey: ['teams'], queryFn: async () => (await workflowApi.teams()).items })
  if (board.isPending || teams.isPending) return <Loading label="Loading tickets…" />
  if (board.isError) return <ErrorText error={board.error} title="The board could not be loaded" />
  const myTeams = (teams.data ?? []).filter((t) => t.members.some((m) => m.user_id === userId)).map((t) => t.id)
  if (filters.view === 'team' && myTeams.length === 0) return <Empty>You are in no team yet. An admin adds agents to teams.</Empty>
  const rows = boardRowsFor(board.data.columns.flatMap((c) => c.tickets), filters, myTeams, now)
  if (rows.length === 0) return <Empty>{filters.view === 'breaching' ? 'No deadline is close. Well done.' : 'No open ticket for your team.'}</Empty>
  return (
    <table className="tickets">
      <caption className="visually-hidden">Tickets by deadline</caption>
      <thead>
        <tr>
          <th scope="col">Title</th>
          <th scope="col">Step</th>
          <th scope="col">Priority</th>
          <th scope="col">Next deadline</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const due = nextDue(r)
          const left = due ? Date.parse(due) - now : null
          return (
            <tr key={r.ticket_id} className={r.sla_breached || (left !== null && left < 0) ? 'breached' : ''}>
              <td data-label="Title"><Link to={`/tickets/${r.ticket_id}`}>{r.title}</Link></td>
              <td data-label="Step">{stepName(r.step)}</td>
              <td data-label="Priority"><PriorityBadge priority={r.priority} /></td>
              <td data-label="Next deadline">
                {r.sla_breached ? <strong>Breached</strong> : due && left !== null ? (
                  <time dateTime={due} title={dateTime(due)}>{relativeTime(due, now)} · {countdown(left)}</time>
                ) : '—'}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
