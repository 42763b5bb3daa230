import type { Active, Over } from '@dnd-kit/core'
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api/http'
import type { Board, BoardTicket } from '../api/types'
import { mockApi, renderApp } from '../test/harness'
import { boardAnnouncements, boardInstructions } from './announcements'
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

describe('board announcements', () => {
  const names = { triage: 'Triage', in_progress: 'In progress', closed: 'Closed' }
  const a = boardAnnouncements(names)
  const active = { id: 't1', data: { current: { ticket: row('t1', 'triage') } } } as unknown as Active
  const over = (step: string) => ({ id: step, data: { current: undefined } }) as unknown as Over

  it('say the ticket’s title and the columns’ names, never IDs', () => {
    expect(a.onDragStart({ active })).toBe('Picked up “Ticket t1” from Triage.')
    expect(a.onDragOver({ active, over: over('in_progress') })).toBe('“Ticket t1” is over In progress.')
    expect(a.onDragOver({ active, over: over('triage') })).toBe('“Ticket t1” is over Triage, its own column.')
    expect(a.onDragOver({ active, over: null })).toBe('“Ticket t1” is no longer over a column.')
    expect(a.onDragEnd({ active, over: over('closed') })).toBe('“Ticket t1” was dropped on Closed.')
    expect(a.onDragEnd({ active, over: over('triage') })).toBe('“Ticket t1” was dropped back in Triage.')
    expect(a.onDragEnd({ active, over: null })).toBe('“Ticket t1” was dropped outside the columns: it stays in Triage.')
    expect(a.onDragCancel({ active, over: null })).toBe('Moving “Ticket t1” was cancelled: it stays in Triage.')
  })

  it('are what the board says when a card is picked up with the keyboard and put back', async () => {
    mockApi({ 'GET /auth/me': () => ({ body: { id: 'u1', email: 'a@x', name: 'A', role: 'agent', active: true } }) })
    const transition = vi.fn(async () => ({}))
    renderApp(<BoardView board={board} transition={transition} />)
    const handle = screen.getByRole('button', { name: 'Drag “Ticket t1”' })
    // The handle is described by the instructions, in words.
    const described = handle.getAttribute('aria-describedby')
    expect(described && document.getElementById(described)?.textContent).toBe(boardInstructions.draggable)
    const live = () => document.querySelector('[id^="DndLiveRegion"]')?.textContent ?? ''
    handle.focus()
    await act(async () => {
      fireEvent.keyDown(handle, { code: 'Space', key: ' ' })
    })
    await waitFor(() => expect(live()).toBe('Picked up “Ticket t1” from Triage.'))
    await act(async () => {
      fireEvent.keyDown(document, { code: 'Escape', key: 'Escape' })
    })
    await waitFor(() => expect(live()).toBe('Moving “Ticket t1” was cancelled: it stays in Triage.'))
    expect(transition).not.toHaveBeenCalled()
  })
})
