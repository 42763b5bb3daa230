import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { Board, BoardTicket } from '../api/types'
import { mockApi, renderApp } from '../test/harness'
import { BoardView } from './BoardView'

const row = (id: string, step: string, patch: Partial<BoardTicket> = {}): BoardTicket => ({
  ticket_id: id, category_id: 'cat', title: `Ticket ${id}`, priority: 'high', step, status: 'open', assignee_id: 'a', requester_id: 'r',
  team_id: 'team', sla_breached: false, first_response_due: null, resolution_due: null, updated_at: '2026-11-03T09:00:00Z', ...patch,
})
const board: Board = {
  category_id: 'cat',
  columns: [
    { step: 'triage', name: 'Triage', tickets: [row('t1', 'triage'), row('t2', 'triage', { sla_breached: true, assignee_id: '' })] },
    { step: 'in_progress', name: 'In progress', tickets: [] },
  ],
}
const interactive = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"]), [role="button"], [role="link"]'

describe('board cards', { timeout: 20_000 }, () => {
  it('keep the ticket link outside the drag handle, both reachable by keyboard', () => {
    mockApi({ 'GET /auth/me': () => ({ body: { id: 'u1', email: 'a@x', name: 'A', role: 'agent', active: true } }) })
    renderApp(<BoardView board={board} transition={vi.fn(async () => ({}))} />)
    const handle = screen.getByRole('button', { name: 'Drag “Ticket t1”' })
    expect(handle.getAttribute('aria-roledescription')).toBe('draggable ticket')
    expect(handle.tabIndex).toBe(0)
    // A role=button must not hold another interactive element (no link, no control).
    expect(handle.querySelectorAll(interactive)).toHaveLength(0)
    const card = handle.closest('li')!
    const link = within(card).getByRole('link', { name: 'Ticket t1' })
    expect(link.getAttribute('href')).toBe('/tickets/t1')
    expect(handle.contains(link)).toBe(false)
    // What the handle says: the priority, the SLA and the assignee.
    const late = screen.getByRole('button', { name: 'Drag “Ticket t2”' })
    expect(late.textContent).toContain('SLA breached')
    expect(late.textContent).toContain('unassigned')
    expect(late.closest('li')!.className).toContain('late')
  })

  it('move with the keyboard through the “Move to…” select', async () => {
    mockApi({ 'GET /auth/me': () => ({ body: { id: 'u1', email: 'a@x', name: 'A', role: 'agent', active: true } }) })
    const transition = vi.fn(async () => ({}))
    renderApp(<BoardView board={board} transition={transition} />)
    const select = screen.getByRole('combobox', { name: 'Move “Ticket t1” to' })
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['Move to…', 'In progress'])
    fireEvent.change(select, { target: { value: 'in_progress' } })
    expect(transition).toHaveBeenCalledWith('t1', 'in_progress')
    await waitFor(() => expect(screen.getByTestId('board-message').textContent).toBe('Moved “Ticket t1” to In progress.'))
    const inProgress = screen.getByRole('region', { name: /^In progress/ })
    expect(within(inProgress).getByRole('link', { name: 'Ticket t1' })).toBeTruthy()
  })
})
