import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Category } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { CategoriesAdmin } from './CategoriesAdmin'

const category = (id: string, name: string, active = true): Category => ({ id, name, description: `${name} things`, active, created_at: '2026-11-01T00:00:00Z' })

describe('CategoriesAdmin', { timeout: 20_000 }, () => {
  it('adds a category, deactivates one and activates it again', async () => {
    const items = [category('c1', 'Hardware')]
    const sent: [string, unknown][] = []
    const lists: string[] = []
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /helpdesk/categories': (_, url) => {
        lists.push(url.search)
        return { body: { items: items.map((c) => ({ ...c })) } }
      },
      'POST /helpdesk/categories': (body) => {
        sent.push(['POST', body])
        const b = body as { name: string; description: string }
        const c = { ...category('c2', b.name), description: b.description }
        items.push(c)
        return { status: 201, body: c }
      },
      'PATCH /helpdesk/categories/*': (body, url) => {
        sent.push([`PATCH ${url.pathname}`, body])
        const c = items.find((x) => url.pathname.endsWith(x.id))!
        Object.assign(c, body)
        return { body: c }
      },
    })
    renderApp(<CategoriesAdmin />, { session: signedInSession('u1', 'admin') })
    await screen.findByText('Hardware')
    // Admins see inactive categories too.
    expect(lists[0]).toBe('?all=true')

    const add = screen.getByRole('button', { name: 'Add category' })
    expect(add).toHaveProperty('disabled', true)
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: '  Access ' } })
    fireEvent.change(screen.getByLabelText('Description'), { target: { value: 'Accounts and VPN' } })
    fireEvent.click(add)
    await screen.findByText('Access')
    expect(sent).toEqual([['POST', { name: 'Access', description: 'Accounts and VPN' }]])
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('')

    const row = () => screen.getByText('Hardware').closest('li')!
    fireEvent.click(within(row()).getByRole('button', { name: 'Deactivate' }))
    await waitFor(() => expect(within(row()).getByText('inactive')).toBeTruthy())
    expect(sent[1]).toEqual(['PATCH /helpdesk/categories/c1', { active: false }])
    fireEvent.click(within(row()).getByRole('button', { name: 'Activate' }))
    await waitFor(() => expect(within(row()).queryByText('inactive')).toBeNull())
    expect(sent[2]).toEqual(['PATCH /helpdesk/categories/c1', { active: true }])
  })
})
