import { useQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { helpdeskApi, workflowApi } from '../api/endpoints'
import { dateTime } from '../lib/time'
import { Empty, ErrorText, Loading } from '../ui/Status'

function share(good: number, total: number) {
  return total === 0 ? '—' : `${Math.round((100 * good) / total)}%`
}

/** SurveysAdmin is the satisfaction report: ratings per agent and per team, and the latest ones. */
export function SurveysAdmin() {
  const report = useQuery({ queryKey: ['survey-report'], queryFn: () => helpdeskApi.surveyReport() })
  // Team names belong to the workflow engine.
  const teams = useQuery({ queryKey: ['teams'], queryFn: async () => (await workflowApi.teams()).items })
  const teamName = (id: string) => teams.data?.find((t) => t.id === id)?.name ?? id.slice(0, 8)
  if (report.isPending) return <Loading />
  if (report.isError) return <ErrorText error={report.error} />
  const r = report.data
  return (
    <section aria-labelledby="surveys-title">
      <h2 id="surveys-title">Satisfaction</h2>
      <p data-testid="survey-overall">
        {r.overall.total} ratings: {r.overall.good} good, {r.overall.bad} bad ({share(r.overall.good, r.overall.total)} good); {r.pending} awaiting an answer.
      </p>
      {r.overall.total === 0 ? <Empty>No rating yet.</Empty> : (
        <>
          <h3>Per agent</h3>
          <table className="table" data-testid="survey-agents">
            <thead><tr><th>Agent</th><th>Good</th><th>Bad</th><th>Good share</th></tr></thead>
            <tbody>
              {r.agents.map((a) => (
                <tr key={a.agent_id}><td>{a.name || a.agent_id.slice(0, 8)}</td><td>{a.good}</td><td>{a.bad}</td><td>{share(a.good, a.total)}</td></tr>
              ))}
            </tbody>
          </table>
          <h3>Per team</h3>
          <table className="table" data-testid="survey-teams">
            <thead><tr><th>Team</th><th>Good</th><th>Bad</th><th>Good share</th></tr></thead>
            <tbody>
              {r.teams.map((t) => (
                <tr key={t.team_id}><td>{teamName(t.team_id)}</td><td>{t.good}</td><td>{t.bad}</td><td>{share(t.good, t.total)}</td></tr>
              ))}
            </tbody>
          </table>
          <h3>Latest ratings</h3>
          <table className="table" data-testid="survey-recent">
            <thead><tr><th>When</th><th>Ticket</th><th>Rating</th><th>Comment</th><th>Agent</th><th>Requester</th></tr></thead>
            <tbody>
              {r.recent.map((x) => (
                <tr key={x.ticket_id}>
                  <td><time dateTime={x.rated_at}>{dateTime(x.rated_at)}</time></td>
                  <td><Link to={`/tickets/${x.ticket_id}`}>{x.title}</Link></td>
                  <td>{x.rating === 'good' ? '👍 good' : '👎 bad'}</td>
                  <td>{x.comment}</td>
                  <td>{x.agent_name || '—'}</td>
                  <td>{x.requester_name || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
