import { Link } from 'react-router'
import type { Ticket } from '../api/types'
import { dateTime, relativeTime } from '../lib/time'
import { useNow } from '../lib/useNow'
import { PriorityBadge, StatusBadge, stepName } from './Badges'
import { useCategoryNames } from './hooks'

/** TicketTable lists tickets; on a phone its rows become cards (CSS). */
export function TicketTable({ tickets, staff, caption }: { tickets: Ticket[]; staff: boolean; caption: string }) {
  const now = useNow(60_000)
  const categories = useCategoryNames()
  return (
    <table className="tickets">
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Title</th>
          <th scope="col">Status</th>
          <th scope="col">Priority</th>
          <th scope="col">Category</th>
          {staff && <th scope="col">Assignee</th>}
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {tickets.map((t) => (
          <tr key={t.id}>
            <td data-label="Title">
              <Link to={`/tickets/${t.id}`}>{t.title}</Link>
              <span className="muted small"> · {stepName(t.step)}</span>
            </td>
            <td data-label="Status"><StatusBadge status={t.status} staff={staff} /></td>
            <td data-label="Priority"><PriorityBadge priority={t.priority} /></td>
            <td data-label="Category">{categories[t.category_id] ?? '—'}</td>
            {staff && <td data-label="Assignee">{t.assignee_name || (t.assignee_id ? 'Assigned' : <span className="muted">Unassigned</span>)}</td>}
            <td data-label="Updated">
              <time dateTime={t.updated_at} title={dateTime(t.updated_at)}>{relativeTime(t.updated_at, now)}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
