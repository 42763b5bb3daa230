import { describe, expect, it } from 'vitest'
import type { BoardTicket } from '../api/types'
import { defaultFilters, deleteView, loadViews, saveView } from '../lib/savedViews'
import { boardRowsFor } from './QueuePage'

const now = Date.parse('2026-11-03T09:00:00Z')
const row = (id: string, patch: Partial<BoardTicket> = {}): BoardTicket => ({
  ticket_id: id, category_id: 'c1', title: `Ticket ${id}`, priority: 'normal', step: 'triage', status: 'open', assignee_id: '',
  requester_id: 'r', team_id: 'team-a', sla_breached: false, first_response_due: null, resolution_due: null, updated_at: '2026-11-03T08:00:00Z',
  ...patch,
})

describe('boardRowsFor', () => {
  const rows = [
    row('late', { sla_breached: true }),
    row('soon', { first_response_due: '2026-11-03T10:00:00Z', resolution_due: '2026-11-05T09:00:00Z' }),
    row('sooner', { resolution_due: '2026-11-03T09:30:00Z', team_id: 'team-b' }),
    row('later', { first_response_due: '2026-11-04T09:00:00Z' }),
    row('closed', { status: 'closed', sla_breached: true }),
  ]
  it('finds what breaches soon, the nearest deadline first', () => {
    expect(boardRowsFor(rows, { ...defaultFilters, view: 'breaching' }, [], now).map((r) => r.ticket_id)).toEqual(['sooner', 'soon', 'late'])
  })
  it('finds the team’s open tickets and applies the filters', () => {
    expect(boardRowsFor(rows, { ...defaultFilters, view: 'team' }, ['team-b'], now).map((r) => r.ticket_id)).toEqual(['sooner'])
    expect(boardRowsFor(rows, { ...defaultFilters, view: 'team', q: 'LATER' }, ['team-a'], now).map((r) => r.ticket_id)).toEqual(['later'])
  })
})

describe('saved views', () => {
  it('are kept per user in localStorage, one per name', () => {
    saveView('u1', { name: 'Urgent', filters: { ...defaultFilters, priority: 'urgent' } })
    saveView('u1', { name: 'Urgent', filters: { ...defaultFilters, priority: 'high' } })
    saveView('u1', { name: 'Mine', filters: defaultFilters })
    expect(loadViews('u1').map((v) => [v.name, v.filters.priority])).toEqual([['Urgent', 'high'], ['Mine', '']])
    expect(loadViews('u2')).toEqual([])
    expect(deleteView('u1', 'Urgent').map((v) => v.name)).toEqual(['Mine'])
    localStorage.setItem('ticketflow.views.u3', '{broken')
    expect(loadViews('u3')).toEqual([])
  })
})
