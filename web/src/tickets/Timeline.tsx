import { useQuery } from '@tanstack/react-query'
import { helpdeskApi } from '../api/endpoints'
import type { HistoryEntry, Step, TransitionRecord } from '../api/types'
import { dateTime, relativeTime } from '../lib/time'
import { Empty, ErrorText, Loading } from '../ui/Status'
import { stepName } from './Badges'

export interface TimelineItem {
  at: string
  text: string
  who?: string
  note?: string
}

/**
 * timelineItems merges the helpdesk's history with the workflow's
 * transitions, oldest first. Step changes appear in both; the workflow's,
 * which carry the note and the actor's role, are kept.
 */
export function timelineItems(history: HistoryEntry[], transitions: TransitionRecord[], steps?: Step[] | null): TimelineItem[] {
  const items: TimelineItem[] = []
  for (const h of history) {
    if (h.field === 'step' && transitions.length > 0) continue
    items.push({ at: h.at, who: h.actor_name, text: describe(h, steps) })
  }
  for (const t of transitions) {
    items.push({
      at: t.at,
      who: t.actor.role === 'system' ? 'Workflow' : t.actor.role,
      text: `Moved from ${stepName(t.from, steps)} to ${stepName(t.to, steps)}`,
      note: t.note,
    })
  }
  return items.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
}

function describe(h: HistoryEntry, steps?: Step[] | null): string {
  switch (h.field) {
    case 'ticket':
      return 'Opened the ticket'
    case 'status':
      return `Status: ${h.old ?? '—'} → ${h.new ?? '—'}`
    case 'step':
      return `Step: ${h.old ? stepName(h.old, steps) : '—'} → ${h.new ? stepName(h.new, steps) : '—'}`
    case 'assignee_id':
      return h.new ? 'Assigned the ticket' : 'Unassigned the ticket'
    case 'priority':
      return `Priority: ${h.old ?? '—'} → ${h.new ?? '—'}`
    case 'category_id':
      return 'Changed the category'
    default:
      return `Changed the ${h.field}`
  }
}

export function Timeline({ ticketId, transitions, steps }: { ticketId: string; transitions: TransitionRecord[]; steps?: Step[] | null }) {
  const history = useQuery({ queryKey: ['history', ticketId], queryFn: async () => (await helpdeskApi.history(ticketId)).items })
  if (history.isPending) return <Loading />
  if (history.isError) return <ErrorText error={history.error} />
  const items = timelineItems(history.data, transitions, steps)
  if (items.length === 0) return <Empty>Nothing has happened yet.</Empty>
  return (
    <ol className="timeline">
      {items.map((it, i) => (
        <li key={i}>
          <time dateTime={it.at} title={dateTime(it.at)}>{relativeTime(it.at)}</time>
          <span>
            {it.text}
            {it.who && <span className="muted"> · {it.who}</span>}
          </span>
          {it.note && <q>{it.note}</q>}
        </li>
      ))}
    </ol>
  )
}
