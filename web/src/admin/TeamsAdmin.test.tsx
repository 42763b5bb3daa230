import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Member, Team } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { TeamsAdmin } from './TeamsAdmin'

const member = (user_id: string, name: string, available = true): Member => ({ user_id, name, available, assignable: true, capacity: null, open_tickets: 2 })
const agents = [
  { user_id: 'a1', email: 'sam@example.com', name: 'Sam', role: 'agent' },
  { user_id: 'a2', email: 'kim@example.com', name: 'Kim', role: 'agent' },
]

describe('TeamsAdmin', { timeout: 20_000 }, () => {
  it('creates a team, adds and removes members and sets who is available', async () => {
    const teams: Team[] = [{ id: 'team1', name: 'Service desk', calendar: null, members: [member('a1', 'Sam')], strategy: 'round_robin' }]
    const sent: [string, unknown][] = []
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /workflow/agents': () => ({ body: { items: agents } }),
      'GET /workflow/teams': () => ({ body: { items: structuredClone(teams) } }),
      'POST /workflow/teams': (body) => {
        sent.push(['POST /workflow/teams', body])
        const t: Team = { id: 'team2', name: (body as { name: string }).name, calendar: null, members: [], strategy: 'round_robin' }
        teams.push(t)
        return { status: 201, body: t }
      },
      'PUT /workflow/teams/*/members/*': (body, url) => {
        sent.push([`PUT ${url.pathname}`, body])
        const [, , , teamId, , userId] = url.pathname.split('/')
        const t = teams.find((x) => x.id === teamId)!
        const m = t.members.find((x) => x.user_id === userId)
        if (m) Object.assign(m, body)
        else t.members.push(member(userId, agents.find((a) => a.user_id === userId)!.name, (body as { available: boolean }).available))
        return { status: m ? 200 : 201, body: t.members.find((x) => x.user_id === userId) }
      },
      'DELETE /workflow/teams/*/members/*': (_, url) => {
        sent.push([`DELETE ${url.pathname}`, undefined])
        const [, , , teamId, , userId] = url.pathname.split('/')
        const t = teams.find((x) => x.id === teamId)!
        t.members = t.members.filter((x) => x.user_id !== userId)
        return { status: 204 }
      },
    })
    renderApp(<TeamsAdmin />, { session: signedInSession('u1', 'admin') })
    await screen.findByRole('heading', { name: 'Service desk' })

    fireEvent.change(screen.getByLabelText('New team'), { target: { value: ' Field service ' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create team' }))
    const field = within((await screen.findByRole('heading', { name: 'Field service' })).closest('article')!)
    expect(sent[0]).toEqual(['POST /workflow/teams', { name: 'Field service' }])
    expect(field.getByText('No members: its tickets wait unassigned.')).toBeTruthy()

    // Both agents can join the new team.
    const pick = field.getByLabelText('Add an agent') as HTMLSelectElement
    await waitFor(() => expect(within(pick).getAllByRole('option').map((o) => o.textContent)).toEqual(['Choose…', 'Sam (sam@example.com)', 'Kim (kim@example.com)']))
    fireEvent.change(pick, { target: { value: 'a2' } })
    fireEvent.click(field.getByRole('button', { name: 'Add' }))
    const kim = (await field.findByRole('checkbox', { name: 'Kim is available in Field service' })) as HTMLInputElement
    expect(sent[1]).toEqual(['PUT /workflow/teams/team2/members/a2', { available: true }])
    expect(kim.checked).toBe(true)

    // Sam is in the first team already: not offered there again.
    const desk = within(screen.getByRole('heading', { name: 'Service desk' }).closest('article')!)
    expect(within(desk.getByLabelText('Add an agent')).queryByRole('option', { name: /Sam/ })).toBeNull()
    const sam = desk.getByRole('checkbox', { name: 'Sam is available in Service desk' }) as HTMLInputElement
    expect(sam.checked).toBe(true)
    fireEvent.click(sam)
    await waitFor(() => expect(sent[2]).toEqual(['PUT /workflow/teams/team1/members/a1', { available: false }]))
    await waitFor(() => expect((desk.getByRole('checkbox', { name: 'Sam is available in Service desk' }) as HTMLInputElement).checked).toBe(false))

    fireEvent.click(field.getByRole('button', { name: 'Remove Kim from Field service' }))
    await waitFor(() => expect(field.queryByRole('checkbox', { name: /Kim/ })).toBeNull())
    expect(sent[3]).toEqual(['DELETE /workflow/teams/team2/members/a2', undefined])
    expect(desk.getByRole('checkbox', { name: 'Sam is available in Service desk' })).toBeTruthy()
  })
})
