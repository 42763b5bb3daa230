import { useQuery } from '@tanstack/react-query'
import { Link, useParams } from 'react-router'
import { helpdeskApi, workflowApi } from '../api/endpoints'
import { ApiError } from '../api/http'
import { useAuth } from '../auth/AuthContext'
import { ChatPanel } from '../chat/ChatPanel'
import { dateTime } from '../lib/time'
import { ErrorText, Loading } from '../ui/Status'
import { Attachments } from './Attachments'
import { PriorityBadge, StatusBadge, stepName } from './Badges'
import { useCategoryNames } from './hooks'
import { SlaPanel } from './SlaPanel'
import { StateControls } from './StateControls'
import { SurveyPanel } from './SurveyPanel'
import { TemporalLink } from './TemporalLink'
import { Timeline } from './Timeline'
import { useTitle } from '../lib/useTitle'

/** TicketPage is one ticket: its details, SLA, controls, conversation and timeline. */
export function TicketPage() {
  const { id = '' } = useParams()
  const { user, hasRole } = useAuth()
  const staff = hasRole('agent', 'admin')
  const categories = useCategoryNames()
  const ticket = useQuery({ queryKey: ['ticket', id], queryFn: () => helpdeskApi.ticket(id) })
  useTitle(ticket.data?.title ?? 'Ticket')
  // A new ticket's run starts a moment after the ticket: keep asking.
  const state = useQuery({
    queryKey: ['state', id],
    queryFn: () => workflowApi.state(id),
    retry: (n, err) => err instanceof ApiError && err.status === 404 && n < 20,
    retryDelay: 1000,
    refetchInterval: 30_000,
  })

  if (ticket.isPending) return <main className="page"><Loading label="Loading the ticket…" /></main>
  if (ticket.isError) {
    return (
      <main className="page">
        <ErrorText error={ticket.error} title="This ticket could not be shown" />
        <Link to="/">Back</Link>
      </main>
    )
  }
  const t = ticket.data
  const s = state.data
  return (
    <main className="page ticket-page">
      <header className="ticket-head">
        <h1>{t.title}</h1>
        <div className="badges">
          <StatusBadge status={s?.status ?? t.status} staff={staff} />
          <PriorityBadge priority={s?.priority ?? t.priority} />
          <span className="badge step" data-testid="step">{stepName(s?.step ?? t.step, s?.steps)}</span>
        </div>
        <dl className="facts">
          <div><dt>Category</dt><dd>{categories[t.category_id] ?? '—'}</dd></div>
          <div><dt>Requester</dt><dd>{t.requester_name || (t.requester_id === user?.id ? 'You' : '—')}</dd></div>
          <div><dt>Assignee</dt><dd>{t.assignee_name || (t.assignee_id ? 'Assigned' : 'Nobody yet')}</dd></div>
          <div><dt>Opened</dt><dd><time dateTime={t.created_at}>{dateTime(t.created_at)}</time></dd></div>
        </dl>
      </header>
      <div className="ticket-grid">
        <div className="ticket-main">
          {t.description && (
            <section className="card">
              <h2 className="visually-hidden">Description</h2>
              <p className="description">{t.description}</p>
            </section>
          )}
          <ChatPanel ticketId={id} myId={user?.id} staff={staff} />
        </div>
        <aside className="ticket-side">
          <section className="card" aria-labelledby="sla-title">
            <h2 id="sla-title">Service level</h2>
            {state.isPending ? (
              <Loading label="Waiting for the workflow…" />
            ) : state.isError ? (
              <ErrorText error={state.error} title="Workflow state unavailable" />
            ) : (
              <SlaPanel sla={state.data.sla} status={state.data.status} />
            )}
          </section>
          {s && (s.allowed_transitions.length > 0 || staff) && (
            <section className="card" aria-labelledby="controls-title">
              <h2 id="controls-title">{staff ? 'Status and assignee' : 'Your ticket'}</h2>
              <StateControls state={s} staff={staff} />
            </section>
          )}
          {s?.temporal_url && (
            <p>
              <TemporalLink href={s.temporal_url} />
            </p>
          )}
          <SurveyPanel ticketId={id} requester={t.requester_id === user?.id} status={s?.status ?? t.status} />
          <Attachments ticketId={id} />
          <section className="card" aria-labelledby="timeline-title">
            <h2 id="timeline-title">Timeline</h2>
            <Timeline ticketId={id} transitions={s?.history ?? []} steps={s?.steps} />
          </section>
        </aside>
      </div>
    </main>
  )
}
