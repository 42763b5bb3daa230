import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { User } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { UsersAdmin } from './UsersAdmin'

const user = (id: string, name: string, role: User['role'], active = true): User => ({ id, email: `${name.toLowerCase()}@example.com`, name, role, active })

describe('UsersAdmin', { timeout: 20_000 }, () => {
  it('changes a role and deactivates an account with the right requests, and shows a refusal', async () => {
    const users = [user('u1', 'Ada', 'admin'), user('u2', 'Ana', 'employee'), user('u3', 'Sam', 'agent')]
    const patches: [string, unknown][] = []
    const queries: string[] = []
    mockApi({
      'GET /auth/me': () => ({ body: users[0] }),
      'GET /auth/users': (_, url) => {
        queries.push(url.search)
        return { body: { items: users.map((u) => ({ ...u })) } }
      },
      'PATCH /auth/users/*': (body, url) => {
        const id = url.pathname.split('/').pop()!
        patches.push([id, body])
        if (id === 'u3' && (body as { active?: boolean }).active === false) {
          return { status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, code: 'conflict', detail: 'Sam still has open tickets' } }
        }
        const u = users.find((x) => x.id === id)!
        Object.assign(u, body)
        return { body: u }
      },
    })
    renderApp(<UsersAdmin />, { session: signedInSession('u1', 'admin') })
    const role = (await screen.findByRole('combobox', { name: 'Role of Ana' })) as HTMLSelectElement
    expect(role.value).toBe('employee')
    // An admin cannot demote or deactivate themselves here.
    expect(screen.getByRole('combobox', { name: 'Role of Ada' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('checkbox', { name: 'Ada is active' })).toHaveProperty('disabled', true)

    fireEvent.change(role, { target: { value: 'agent' } })
    await waitFor(() => expect(patches).toEqual([['u2', { role: 'agent' }]]))
    await waitFor(() => expect((screen.getByRole('combobox', { name: 'Role of Ana' }) as HTMLSelectElement).value).toBe('agent'))

    const active = screen.getByRole('checkbox', { name: 'Ana is active' }) as HTMLInputElement
    expect(active.checked).toBe(true)
    fireEvent.click(active)
    await waitFor(() => expect(patches[1]).toEqual(['u2', { active: false }]))
    await waitFor(() => expect((screen.getByRole('checkbox', { name: 'Ana is active' }) as HTMLInputElement).checked).toBe(false))

    fireEvent.click(screen.getByRole('checkbox', { name: 'Sam is active' }))
    expect((await screen.findByRole('alert')).textContent).toBe('The change was refused: Sam still has open tickets')

    // The role filter asks the server.
    fireEvent.change(within(screen.getByRole('search')).getByRole('combobox', { name: 'Role' }), { target: { value: 'agent' } })
    await waitFor(() => expect(queries.at(-1)).toContain('role=agent'))
  })
})
