import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Survey } from '../api/types'
import { mockApi, renderApp } from '../test/harness'
import { SurveyLinkPage } from './SurveyLinkPage'
import { SurveyPanel } from './SurveyPanel'

const me = { 'GET /auth/me': () => ({ body: { id: 'u1', email: 'a@x', name: 'A', role: 'employee', active: true } }) }
const pending: Survey = {
  ticket_id: 't1', status: 'pending', rating: null, comment: '', agent_id: 'a1', team_id: 'team', requested_at: '2026-11-27T10:00:00Z',
  expires_at: '2026-12-04T10:00:00Z', rated_at: null, rated_via: null,
}

describe('SurveyPanel', () => {
  it('lets the requester rate once, with a comment', async () => {
    let sent: unknown
    mockApi({
      ...me,
      'GET /helpdesk/tickets/t1/survey': () => ({ body: pending }),
      'POST /helpdesk/tickets/t1/survey': (body) => {
        sent = body
        return { body: { ...pending, status: 'rated', rating: 'bad', comment: 'Slow', rated_at: '2026-11-27T11:00:00Z', rated_via: 'app' } }
      },
    })
    renderApp(<SurveyPanel ticketId="t1" requester status="resolved" />)
    fireEvent.change(await screen.findByLabelText('Comment (optional)'), { target: { value: 'Slow' } })
    fireEvent.click(screen.getByRole('button', { name: /Bad/ }))
    await waitFor(() => expect(screen.getByTestId('survey-rating').textContent).toContain('You rated this ticket 👎 bad'))
    expect(sent).toEqual({ rating: 'bad', comment: 'Slow' })
    expect(screen.queryByRole('button', { name: /Good/ })).toBeNull()
  })

  it('shows nothing before the requester was asked, or while a reopened ticket is worked on', async () => {
    const { calls } = mockApi({ ...me, 'GET /helpdesk/tickets/*/survey': (_, url) => ({ body: url.pathname.includes('t2') ? pending : { ...pending, status: 'none' } }) })
    const { container } = renderApp(<><SurveyPanel ticketId="t1" requester status="open" /><SurveyPanel ticketId="t2" requester status="open" /></>)
    await waitFor(() => expect(calls.filter((c) => c.endsWith('/survey'))).toHaveLength(2))
    expect(container.querySelector('[data-testid="survey"]')).toBeNull()
  })
})

describe('SurveyLinkPage', () => {
  it('preselects the rating of the link and sends it with the token, without a session', async () => {
    let sent: unknown
    const { fetchMock } = mockApi({
      ...me,
      'POST /helpdesk/surveys/rate': (body) => {
        sent = body
        return { body: { ticket_id: 't1', rating: 'bad' } }
      },
    })
    renderApp(<SurveyLinkPage />, { path: '/survey?token=abc.def.ghi&rating=bad' })
    expect((screen.getByRole('radio', { name: /Bad/ }) as HTMLInputElement).checked).toBe(true)
    fireEvent.click(screen.getByRole('button', { name: 'Send my rating' }))
    await screen.findByTestId('survey-thanks')
    expect(sent).toEqual({ token: 'abc.def.ghi', rating: 'bad', comment: '' })
    const call = fetchMock.mock.calls.find(([u]) => String(u).includes('/surveys/rate'))
    const auth = new Headers((call?.[1] as RequestInit | undefined)?.headers).get('Authorization')
    expect(auth).toBeNull()
  })

  it('shows why a spent link is refused', async () => {
    mockApi({
      ...me,
      'POST /helpdesk/surveys/rate': () => ({ status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, code: 'conflict', detail: 'this ticket was rated already; the first rating stands' } }),
    })
    renderApp(<SurveyLinkPage />, { path: '/survey?token=abc&rating=good' })
    fireEvent.click(screen.getByRole('button', { name: 'Send my rating' }))
    expect((await screen.findByRole('alert')).textContent).toContain('rated already')
  })
})
