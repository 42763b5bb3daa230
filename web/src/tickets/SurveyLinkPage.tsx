import { useState } from 'react'
import { useMutation } from '@tanstack/react-query'
import { Link, useSearchParams } from 'react-router'
import { helpdeskApi } from '../api/endpoints'
import type { Rating } from '../api/types'
import { ErrorText } from '../ui/Status'
import { useTitle } from '../lib/useTitle'

/**
 * SurveyLinkPage is where a survey e-mail's links lead, without signing
 * in: the rating picked in the e-mail is preselected, a comment may be
 * added, and sending spends the link. Opening the page spends nothing, so
 * mail scanners that follow links cannot use it up.
 */
export function SurveyLinkPage() {
  useTitle('How did we do?')
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const [rating, setRating] = useState<Rating>(params.get('rating') === 'bad' ? 'bad' : 'good')
  const [comment, setComment] = useState('')
  const send = useMutation({ mutationFn: () => helpdeskApi.rateByLink(token, rating, comment) })
  return (
    <main className="page narrow">
      <h1>How did we do?</h1>
      {!token ? (
        <p className="status error" role="alert">This link is incomplete: open it from the e-mail again.</p>
      ) : send.isSuccess ? (
        <div className="card" data-testid="survey-thanks">
          <p>Thank you! Your rating ({send.data.rating}) was saved.</p>
          <p><Link to={`/tickets/${send.data.ticket_id}`}>Open the ticket</Link> (you may have to sign in).</p>
        </div>
      ) : (
        <form className="card form" onSubmit={(e) => { e.preventDefault(); send.mutate() }}>
          <fieldset>
            <legend>Was the help good?</legend>
            <label className="check"><input type="radio" name="rating" checked={rating === 'good'} onChange={() => setRating('good')} /> 👍 Good</label>
            <label className="check"><input type="radio" name="rating" checked={rating === 'bad'} onChange={() => setRating('bad')} /> 👎 Bad</label>
          </fieldset>
          <label>
            Comment (optional)
            <textarea rows={4} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={send.isPending}>Send my rating</button>
          <ErrorText error={send.error} title="The rating was not saved" />
        </form>
      )}
    </main>
  )
}
