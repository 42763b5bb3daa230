import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Team } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { TeamsAdmin } from './TeamsAdmin'

const team = (id: string, name: string): Team => ({
  id, name, calendar: null, strategy: 'round_robin', lead_id: null,
  members: [{ user_id: 'a1', name: 'Sam', available: true, assignable: true, capacity: null, open_tickets: 0 }],
})

const inUse = 'team "Service desk" is still in use and was not deleted: the current process of category c1 (version 2) names it as its team'

describe('TeamsAdmin: deleting a team', { timeout: 20_000 }, () => {
  it('asks first, deletes on confirmation, and shows why the server refused', async () => {
    let teams: Team[] = [team('team1', 'Service desk'), team('team2', 'Field service')]
    const deletes: string[] = []
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /workflow/agents': () => ({ body: { items: [] } }),
      'GET /workflow/teams': () => ({ body: { items: structuredClone(teams) } }),
      'DELETE /workflow/teams/*': (_, url) => {
        const id = url.pathname.split('/')[3]
        deletes.push(id)
        if (id === 'team1') {
          return { status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, code: 'conflict', detail: inUse } }
        }
        teams = teams.filter((t) => t.id !== id)
        return { status: 204 }
      },
    })
    renderApp(<TeamsAdmin />, { session: signedInSession('u1', 'admin') })
    const card = (name: string) => within(screen.getByRole('heading', { name }).closest('article')!)
    await screen.findByRole('heading', { name: 'Field service' })

    // The first click only asks; Cancel leaves the team alone.
    fireEvent.click(card('Field service').getByRole('button', { name: 'Delete team Field service' }))
    expect(card('Field service').getByRole('group', { name: 'Confirm deleting Field service' }).textContent).toContain('Delete Field service and its 1 member?')
    fireEvent.click(card('Field service').getByRole('button', { name: 'Cancel' }))
    expect(card('Field service').queryByRole('group')).toBeNull()
    expect(deletes).toEqual([])

    // Confirmed, the team is deleted and leaves the list.
    fireEvent.click(card('Field service').getByRole('button', { name: 'Delete team Field service' }))
    fireEvent.click(card('Field service').getByRole('button', { name: 'Yes, delete Field service' }))
    await waitFor(() => expect(screen.queryByRole('heading', { name: 'Field service' })).toBeNull())
    expect(deletes).toEqual(['team2'])

    // A team still in use stays, and the server's reason is shown in words.
    fireEvent.click(card('Service desk').getByRole('button', { name: 'Delete team Service desk' }))
    fireEvent.click(card('Service desk').getByRole('button', { name: 'Yes, delete Service desk' }))
    const alert = await card('Service desk').findByRole('alert')
    expect(alert.textContent).toBe(`The team was not deleted: ${inUse}`)
    expect(deletes).toEqual(['team2', 'team1'])
    expect(screen.getByRole('heading', { name: 'Service desk' })).toBeTruthy()
    expect(card('Service desk').getByRole('button', { name: 'Delete team Service desk' })).toBeTruthy()
  })
})
