import { useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { helpdeskApi } from '../api/endpoints'
import type { Rating, Survey } from '../api/types'
import { dateTime } from '../lib/time'
import { ErrorText } from '../ui/Status'

/**
 * SurveyPanel is a resolved ticket's satisfaction survey: the requester
 * rates it in one click (good or bad, with an optional comment), once;
 * staff see the rating. Nothing shows before the requester was asked.
 */
export function SurveyPanel({ ticketId, requester, status }: { ticketId: string; requester: boolean; status?: string }) {
  const survey = useQuery({
    queryKey: ['survey', ticketId, status],
    queryFn: () => helpdeskApi.survey(ticketId),
    // The workflow asks a moment after the resolution: look again shortly.
    refetchInterval: (q) => (q.state.data?.status === 'none' && status === 'resolved' ? 3000 : false),
  })
  const s = survey.data
  if (!s || s.status === 'none') return null
  // A reopened ticket is rated once it is resolved again.
  if (s.status === 'pending' && status !== 'resolved' && status !== 'closed') return null
  return (
    <section className="card" aria-labelledby="survey-title" data-testid="survey">
      <h2 id="survey-title">{requester ? 'How did we do?' : 'Requester’s rating'}</h2>
      {s.status === 'rated' ? <Rated survey={s} requester={requester} /> : requester ? <RateForm ticketId={ticketId} /> : <p className="muted">Asked, not answered yet.</p>}
    </section>
  )
}

function Rated({ survey, requester }: { survey: Survey; requester: boolean }) {
  return (
    <div>
      <p data-testid="survey-rating">
        {requester ? 'You rated this ticket ' : 'Rated '}
        <strong>{survey.rating === 'good' ? '👍 good' : '👎 bad'}</strong>
        {survey.rated_at && <> on <time dateTime={survey.rated_at}>{dateTime(survey.rated_at)}</time></>}.
      </p>
      {survey.comment && <blockquote className="description">{survey.comment}</blockquote>}
    </div>
  )
}

function RateForm({ ticketId }: { ticketId: string }) {
  const qc = useQueryClient()
  const [comment, setComment] = useState('')
  const rate = useMutation({
    mutationFn: (rating: Rating) => helpdeskApi.rate(ticketId, rating, comment),
    onSuccess: (s) => qc.setQueriesData({ queryKey: ['survey', ticketId] }, s),
  })
  return (
    <div className="form">
      <p>Your ticket was resolved. Was the help good?</p>
      <label>
        Comment (optional)
        <textarea rows={3} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} disabled={rate.isPending} />
      </label>
      <div className="inline-form">
        <button type="button" className="primary" disabled={rate.isPending} onClick={() => rate.mutate('good')}>👍 Good</button>
        <button type="button" disabled={rate.isPending} onClick={() => rate.mutate('bad')}>👎 Bad</button>
      </div>
      <ErrorText error={rate.error} title="The rating was not saved" />
    </div>
  )
}
