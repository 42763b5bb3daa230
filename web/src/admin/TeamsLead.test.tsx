import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Member, Team } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { TeamsAdmin } from './TeamsAdmin'

const member = (user_id: string, name: string, assignable = true): Member => ({ user_id, name, available: true, assignable, capacity: null, open_tickets: 0 })

describe('TeamsAdmin team lead', () => {
  it('offers the members as lead, sets and removes the lead', async () => {
    const teams: Team[] = [
      { id: 'team1', name: 'Service desk', calendar: null, members: [member('a1', 'Sam'), member('a2', 'Kim'), member('a3', 'Gus', false)], strategy: 'round_robin', lead_id: null },
      { id: 'team2', name: 'Empty', calendar: null, members: [], strategy: 'round_robin', lead_id: null },
    ]
    const sent: [string, unknown][] = []
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /workflow/agents': () => ({ body: { items: [] } }),
      'GET /workflow/teams': () => ({ body: { items: structuredClone(teams) } }),
      'PATCH /workflow/teams/*': (body, url) => {
        sent.push([`PATCH ${url.pathname}`, body])
        const t = teams.find((x) => x.id === url.pathname.split('/')[3])!
        t.lead_id = (body as { lead_id: string | null }).lead_id
        return { body: t }
      },
    })
    renderApp(<TeamsAdmin />, { session: signedInSession('u1', 'admin') })
    const desk = within((await screen.findByRole('heading', { name: 'Service desk' })).closest('article')!)
    const select = desk.getByLabelText('Lead of Service desk') as HTMLSelectElement
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['No lead', 'Sam', 'Kim', 'Gus'])
    expect(select.value).toBe('')
    // A member who is not assignable cannot become lead.
    expect((within(select).getByRole('option', { name: 'Gus' }) as HTMLOptionElement).disabled).toBe(true)
    // A team without members has nobody to lead it.
    expect((screen.getByLabelText('Lead of Empty') as HTMLSelectElement).disabled).toBe(true)

    fireEvent.change(select, { target: { value: 'a2' } })
    await waitFor(() => expect(sent).toEqual([['PATCH /workflow/teams/team1', { lead_id: 'a2' }]]))
    await waitFor(() => expect((desk.getByLabelText('Lead of Service desk') as HTMLSelectElement).value).toBe('a2'))
    expect(desk.getByText('lead')).toBeTruthy()

    fireEvent.change(desk.getByLabelText('Lead of Service desk'), { target: { value: '' } })
    await waitFor(() => expect(sent[1]).toEqual(['PATCH /workflow/teams/team1', { lead_id: null }]))
    await waitFor(() => expect(desk.queryByText('lead')).toBeNull())
  })
})
