import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { TicketState } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { StateControls } from './StateControls'

const steps = [
  { key: 'triage', name: 'Triage', terminal: false },
  { key: 'in_progress', name: 'In progress', terminal: false },
  { key: 'waiting_on_requester', name: 'Waiting on requester', terminal: false },
  { key: 'resolved', name: 'Resolved', terminal: false },
  { key: 'closed', name: 'Closed', terminal: true },
]
const state = (patch: Partial<TicketState> = {}): TicketState => ({
  ticket_id: 't1', workflow_id: 'ticket-t1', category_id: 'c1', requester_id: 'emp', step: 'in_progress', status: 'open', priority: 'high',
  assignee_id: 'a1', waiting_for_agent: false, allowed_transitions: ['waiting_on_requester', 'resolved'], steps, definition_version: 1,
  sla: { first_response_due: null, resolution_due: null, breached: false, first_response: { met: true, breached: false, warned: false, paused: false }, resolution: { met: false, breached: false, warned: false, paused: false } },
  history: [],
  ...patch,
})
const agentMe = { id: 'a1', email: 'sam@example.com', name: 'Sam', role: 'agent', active: true }
const agents = [
  { user_id: 'a1', email: 'sam@example.com', name: 'Sam', role: 'agent' },
  { user_id: 'a2', email: 'kim@example.com', name: 'Kim', role: 'agent' },
]
const moves = () => within(screen.getByRole('group', { name: 'Move the ticket' }))

describe('StateControls', { timeout: 20_000 }, () => {
  it('offers the allowed transitions as buttons and posts the one clicked, with the note', async () => {
    const posted: unknown[] = []
    mockApi({
      'GET /auth/me': () => ({ body: agentMe }),
      'GET /workflow/agents': () => ({ body: { items: agents } }),
      'POST /workflow/tickets/t1/transitions': (body) => {
        posted.push(body)
        return { body: state({ step: 'resolved', status: 'resolved', allowed_transitions: ['in_progress', 'closed'] }) }
      },
    })
    renderApp(<StateControls state={state()} staff />, { session: signedInSession('a1', 'agent') })
    expect(moves().getAllByRole('button').map((b) => b.textContent)).toEqual(['Move to Waiting on requester', 'Resolve'])
    fireEvent.change(screen.getByLabelText('Note (optional)'), { target: { value: '  Replaced the fuser  ' } })
    fireEvent.click(moves().getByRole('button', { name: 'Resolve' }))
    await waitFor(() => expect(posted).toEqual([{ to: 'resolved', note: 'Replaced the fuser' }]))
    // Once the move is made the note is cleared.
    await waitFor(() => expect((screen.getByLabelText('Note (optional)') as HTMLInputElement).value).toBe(''))
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('shows the workflow’s reason in words when a move is refused', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: agentMe }),
      'GET /workflow/agents': () => ({ body: { items: agents } }),
      'POST /workflow/tickets/t1/transitions': (body) =>
        (body as { to: string }).to === 'resolved'
          ? { status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, code: 'conflict', detail: 'the ticket moved meanwhile: it is in "waiting_on_requester" now' } }
          : { status: 422, body: { type: 'about:blank', title: 'Unprocessable', status: 422, code: 'unprocessable', detail: 'the move is not valid', errors: [{ field: 'note', message: 'is too long' }] } },
    })
    renderApp(<StateControls state={state()} staff />, { session: signedInSession('a1', 'agent') })
    fireEvent.click(moves().getByRole('button', { name: 'Resolve' }))
    expect((await screen.findByRole('alert')).textContent).toBe('The move was refused: the ticket moved meanwhile: it is in "waiting_on_requester" now')
    fireEvent.click(moves().getByRole('button', { name: 'Move to Waiting on requester' }))
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('The move was refused: the move is not valid: note is too long'))
  })

  it('posts the reassignment chosen in the assignee select', async () => {
    const assigned: unknown[] = []
    mockApi({
      'GET /auth/me': () => ({ body: agentMe }),
      'GET /workflow/agents': () => ({ body: { items: agents } }),
      'POST /workflow/tickets/t1/assignee': (body) => {
        assigned.push(body)
        return { body: state({ assignee_id: 'a2' }) }
      },
    })
    renderApp(<StateControls state={state()} staff />, { session: signedInSession('a1', 'agent') })
    const select = screen.getByLabelText('Assignee') as HTMLSelectElement
    await within(select).findByRole('option', { name: 'Kim (agent)' })
    expect(select.value).toBe('a1')
    fireEvent.change(select, { target: { value: 'a2' } })
    await waitFor(() => expect(assigned).toEqual([{ agent_id: 'a2' }]))
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('gives a requester only their moves and no assignee control', () => {
    mockApi({ 'GET /auth/me': () => ({ body: { ...agentMe, id: 'emp', role: 'employee' } }) })
    const { unmount } = renderApp(<StateControls state={state({ step: 'resolved', status: 'resolved', allowed_transitions: ['in_progress', 'closed'] })} staff={false} />)
    expect(moves().getAllByRole('button').map((b) => b.textContent)).toEqual(['Move to In progress', 'Close'])
    expect(screen.queryByLabelText('Assignee')).toBeNull()
    unmount()
    renderApp(<StateControls state={state({ allowed_transitions: [] })} staff={false} />)
    expect(screen.getByText('No move is open to you at this step.')).toBeTruthy()
    expect(screen.queryByRole('group', { name: 'Move the ticket' })).toBeNull()
  })
})
