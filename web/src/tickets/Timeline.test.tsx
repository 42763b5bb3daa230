import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { HistoryEntry, TransitionRecord } from '../api/types'
import { mockApi, renderApp } from '../test/harness'
import { Timeline, timelineItems } from './Timeline'

const at = (min: number) => new Date(Date.UTC(2026, 10, 3, 9, min)).toISOString()
const steps = [
  { key: 'new', name: 'New', terminal: false },
  { key: 'triage', name: 'Triage', terminal: false },
  { key: 'in_progress', name: 'In progress', terminal: false },
  { key: 'closed', name: 'Closed', terminal: true },
]
const h = (min: number, field: string, old: string | null, nu: string | null, actor_name = 'Ana'): HistoryEntry => ({ field, old, new: nu, actor_id: 'x', actor_name, at: at(min) })
// Listed out of order on purpose: the merge sorts by time.
const history: HistoryEntry[] = [
  h(9, 'priority', 'normal', 'high', 'Sam'),
  h(0, 'ticket', null, null),
  h(5, 'step', 'triage', 'in_progress', 'Sam'),
  h(1, 'step', 'new', 'triage', 'Workflow'),
  h(2, 'assignee_id', null, 'a1', 'Workflow'),
]
const transitions: TransitionRecord[] = [
  { from: 'triage', to: 'in_progress', actor: { id: 'a1', role: 'agent' }, note: 'On my way', at: at(5) },
  { from: 'new', to: 'triage', actor: { id: 'system', role: 'system' }, at: at(1) },
]

describe('timelineItems', () => {
  it('merges history and transitions oldest first, keeping the workflow’s record of each step change', () => {
    expect(timelineItems(history, transitions, steps)).toEqual([
      { at: at(0), who: 'Ana', text: 'Opened the ticket' },
      { at: at(1), who: 'Workflow', text: 'Moved from New to Triage', note: undefined },
      { at: at(2), who: 'Workflow', text: 'Assigned the ticket' },
      { at: at(5), who: 'agent', text: 'Moved from Triage to In progress', note: 'On my way' },
      { at: at(9), who: 'Sam', text: 'Priority: normal → high' },
    ])
  })

  it('keeps the helpdesk’s step changes while the workflow has none to show', () => {
    const items = timelineItems(history, [], steps)
    expect(items.map((i) => i.text)).toEqual([
      'Opened the ticket', 'Step: New → Triage', 'Assigned the ticket', 'Step: Triage → In progress', 'Priority: normal → high',
    ])
  })

  it('names unknown steps and fields in words', () => {
    const items = timelineItems([h(0, 'step', null, 'waiting_on_requester'), h(1, 'title', 'a', 'b'), h(2, 'assignee_id', 'a1', null)], [], null)
    expect(items.map((i) => i.text)).toEqual(['Step: — → Waiting on requester', 'Changed the title', 'Unassigned the ticket'])
  })
})

describe('Timeline', { timeout: 20_000 }, () => {
  it('shows the merged events in order with who made them and the note', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ana@example.com', name: 'Ana', role: 'employee', active: true } }),
      'GET /helpdesk/tickets/t1/history': () => ({ body: { items: history } }),
    })
    renderApp(<Timeline ticketId="t1" transitions={transitions} steps={steps} />)
    const list = await screen.findByRole('list')
    const rows = within(list).getAllByRole('listitem')
    expect(rows.map((li) => li.querySelector('span')!.textContent)).toEqual([
      'Opened the ticket · Ana',
      'Moved from New to Triage · Workflow',
      'Assigned the ticket · Workflow',
      'Moved from Triage to In progress · agent',
      'Priority: normal → high · Sam',
    ])
    expect(rows[3].querySelector('q')!.textContent).toBe('On my way')
    expect(rows[3].querySelector('time')!.getAttribute('dateTime')).toBe(at(5))
  })

  it('says when nothing happened yet', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ana@example.com', name: 'Ana', role: 'employee', active: true } }),
      'GET /helpdesk/tickets/t1/history': () => ({ body: { items: [] } }),
    })
    renderApp(<Timeline ticketId="t1" transitions={[]} />)
    expect(await screen.findByText('Nothing has happened yet.')).toBeTruthy()
  })
})
