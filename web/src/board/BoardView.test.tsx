import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api/http'
import type { Board, BoardTicket } from '../api/types'
import { mockApi, renderApp } from '../test/harness'
import { applyMoves, settleMoves, withMove, withoutMove } from './boardState'
import { BoardView } from './BoardView'

const row = (id: string, step: string): BoardTicket => ({
  ticket_id: id, category_id: 'cat', title: `Ticket ${id}`, priority: 'normal', step, status: 'open', assignee_id: 'a', requester_id: 'r',
  team_id: 'team', sla_breached: false, first_response_due: null, resolution_due: null, updated_at: '2026-11-03T09:00:00Z',
})
const board: Board = {
  category_id: 'cat',
  columns: [
    { step: 'triage', name: 'Triage', tickets: [row('t1', 'triage'), row('t2', 'triage')] },
    { step: 'in_progress', name: 'In progress', tickets: [] },
    { step: 'closed', name: 'Closed', tickets: [] },
  ],
}

const column = (name: string) => screen.getByRole('region', { name: new RegExp(`^${name}`) })
const titles = (name: string) => within(column(name)).queryAllByRole('link').map((a) => a.textContent)

describe('board state', () => {
  it('moves cards until the server shows the move, and takes a move back', () => {
    const moved = withMove({}, 't1', 'in_progress')
    expect(applyMoves(board, moved).columns.map((c) => c.tickets.map((t) => t.ticket_id))).toEqual([['t2'], ['t1'], []])
    expect(settleMoves(board, moved)).toBe(moved)
    const serverMoved: Board = { columns: [{ ...board.columns[0], tickets: [row('t2', 'triage')] }, { ...board.columns[1], tickets: [row('t1', 'in_progress')] }, board.columns[2]] }
    expect(settleMoves(serverMoved, moved)).toEqual({})
    expect(withoutMove(moved, 't1')).toEqual({})
  })
})

describe('BoardView', () => {
  it('snaps a refused move back and shows the server’s reason', async () => {
    mockApi({ 'GET /auth/me': () => ({ body: { id: 'u1', email: 'a@x', name: 'A', role: 'agent', active: true } }) })
    let refuse!: (e: unknown) => void
    const transition = vi.fn(() => new Promise((_, reject) => (refuse = reject)))
    renderApp(<BoardView board={board} transition={transition} />)
    fireEvent.change(within(column('Triage')).getByLabelText('Move “Ticket t1” to'), { target: { value: 'closed' } })
    // The card moves at once...
    expect(titles('Closed')).toEqual(['Ticket t1'])
    expect(transition).toHaveBeenCalledWith('t1', 'closed')
    // ...and snaps back when the workflow refuses.
    refuse(new ApiError(409, { type: 'about:blank', title: 'Conflict', status: 409, code: 'conflict', detail: 'no move from "triage" to "closed"' }))
    await waitFor(() => expect(titles('Triage')).toEqual(['Ticket t1', 'Ticket t2']))
    expect(titles('Closed')).toEqual([])
    expect(screen.getByRole('alert').textContent).toBe('“Ticket t1” cannot move to Closed: no move from "triage" to "closed"')
  })

  it('keeps an accepted move while the board catches up', async () => {
    mockApi({ 'GET /auth/me': () => ({ body: { id: 'u1', email: 'a@x', name: 'A', role: 'agent', active: true } }) })
    const transition = vi.fn(async () => ({}))
    const onMoved = vi.fn()
    const { rerender } = renderApp(<BoardView board={board} transition={transition} onMoved={onMoved} />)
    fireEvent.change(within(column('Triage')).getByLabelText('Move “Ticket t2” to'), { target: { value: 'in_progress' } })
    await waitFor(() => expect(onMoved).toHaveBeenCalled())
    expect(titles('In progress')).toEqual(['Ticket t2'])
    expect(screen.getByTestId('board-message').textContent).toBe('Moved “Ticket t2” to In progress.')
    void rerender
  })
})
