import { render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { AdminPage } from '../admin/AdminPage'
import { MyTicketsPage } from '../tickets/MyTicketsPage'
import { QueuePage } from '../tickets/QueuePage'
import { TicketPage } from '../tickets/TicketPage'
import { Route, Routes } from 'react-router'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { pageTitle, useTitle } from './useTitle'

afterEach(() => {
  document.title = ''
})

function Titled({ parts }: { parts: (string | undefined)[] }) {
  useTitle(...parts)
  return null
}

const me = { id: 'a1', email: 'sam@example.com', name: 'Sam', role: 'admin', active: true }

describe('useTitle', () => {
  it('names the tab after the page and puts the app’s name back on leaving', () => {
    expect(pageTitle('Queue')).toBe('Queue · Ticketflow')
    expect(pageTitle('Users', 'Admin')).toBe('Users · Admin · Ticketflow')
    expect(pageTitle(undefined, ' ', 'Admin')).toBe('Admin · Ticketflow')
    expect(pageTitle()).toBe('Ticketflow')
    const { rerender, unmount } = render(<Titled parts={['Board']} />)
    expect(document.title).toBe('Board · Ticketflow')
    rerender(<Titled parts={['Printer on fire']} />)
    expect(document.title).toBe('Printer on fire · Ticketflow')
    unmount()
    expect(document.title).toBe('Ticketflow')
  })

  it('gives each page a title of its own', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: me }),
      'GET /helpdesk/categories': () => ({ body: { items: [] } }),
      'GET /helpdesk/tickets': () => ({ body: { items: [] } }),
      'GET /auth/users': () => ({ body: { items: [] } }),
      'GET /helpdesk/tickets/t1': () => ({
        body: {
          id: 't1', title: 'Printer on fire', description: '', status: 'open', priority: 'high', category_id: 'c1', requester_id: 'emp',
          assignee_id: null, step: 'triage', created_at: '2026-11-03T09:00:00Z', updated_at: '2026-11-03T09:00:00Z',
        },
      }),
    })
    const session = signedInSession('a1', 'admin')
    const queue = renderApp(<QueuePage />, { session })
    expect(document.title).toBe('Queue · Ticketflow')
    queue.unmount()
    const mine = renderApp(<MyTicketsPage />, { session })
    expect(document.title).toBe('My tickets · Ticketflow')
    mine.unmount()
    const admin = renderApp(<Routes><Route path="/admin/*" element={<AdminPage />} /></Routes>, { session, path: '/admin/processes' })
    expect(document.title).toBe('Processes · Admin · Ticketflow')
    admin.unmount()
    renderApp(<Routes><Route path="/tickets/:id" element={<TicketPage />} /></Routes>, { session, path: '/tickets/t1' })
    expect(document.title).toBe('Ticket · Ticketflow')
    await screen.findByRole('heading', { name: 'Printer on fire' })
    expect(document.title).toBe('Printer on fire · Ticketflow')
  })
})
