import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Ticket } from '../api/types'
import { loadViews } from '../lib/savedViews'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { QueuePage } from './QueuePage'

const me = { id: 'a1', email: 'sam@example.com', name: 'Sam', role: 'agent', active: true }
const ticket = (id: string, title: string): Ticket => ({
  id, title, description: '', status: 'open', priority: 'high', category_id: 'c1', requester_id: 'emp', assignee_id: 'a1', step: 'in_progress',
  created_at: '2026-11-03T09:00:00Z', updated_at: '2026-11-03T09:00:00Z',
})

/** queue renders the queue and records the query of every ticket list it asks for. */
function queue() {
  const queries: URLSearchParams[] = []
  mockApi({
    'GET /auth/me': () => ({ body: me }),
    'GET /helpdesk/categories': () => ({ body: { items: [{ id: 'c1', name: 'Hardware', description: '', active: true, created_at: '2026-11-01T00:00:00Z' }] } }),
    'GET /helpdesk/tickets': (_, url) => {
      queries.push(url.searchParams)
      const q = url.searchParams.get('q')
      return { body: { items: q ? [ticket('t2', `About ${q}`)] : [ticket('t1', 'Printer on fire')] } }
    },
  })
  renderApp(<QueuePage />, { session: signedInSession('a1', 'agent') })
  const last = () => Object.fromEntries(queries.at(-1)!)
  return { queries, last }
}

describe('QueuePage', { timeout: 20_000 }, () => {
  it('searches once the agent pauses typing and filters by priority', async () => {
    const { queries, last } = queue()
    await screen.findByRole('link', { name: 'Printer on fire' })
    expect(last()).toEqual({ assignee_id: 'a1', sort: 'updated' })

    const before = queries.length
    const search = screen.getByRole('searchbox', { name: 'Search' })
    fireEvent.change(search, { target: { value: 'prin' } })
    await new Promise((r) => setTimeout(r, 150))
    fireEvent.change(search, { target: { value: 'printer ' } })
    await new Promise((r) => setTimeout(r, 150))
    // Nothing is sent while the agent types...
    expect(queries).toHaveLength(before)
    // ...then one request with the whole, trimmed words.
    await screen.findByRole('link', { name: 'About printer' })
    expect(queries.slice(before).map((q) => q.get('q'))).toEqual(['printer'])

    fireEvent.change(screen.getByRole('combobox', { name: 'Priority' }), { target: { value: 'urgent' } })
    await waitFor(() => expect(last()).toEqual({ assignee_id: 'a1', sort: 'updated', q: 'printer', priority: 'urgent' }))

    fireEvent.click(screen.getByRole('tab', { name: 'All' }))
    await waitFor(() => expect(last()).toEqual({ sort: 'updated', q: 'printer', priority: 'urgent' }))
    expect(screen.getByRole('tab', { name: 'All' }).getAttribute('aria-selected')).toBe('true')
    fireEvent.click(screen.getByRole('tab', { name: 'Unassigned' }))
    await waitFor(() => expect(last().assignee_id).toBe('none'))
  })

  it('saves the current filters as a view and restores them when it is applied', async () => {
    const { last } = queue()
    await screen.findByRole('link', { name: 'Printer on fire' })
    fireEvent.change(screen.getByRole('combobox', { name: 'Priority' }), { target: { value: 'high' } })
    fireEvent.change(screen.getByRole('combobox', { name: 'Category' }), { target: { value: 'c1' } })
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search' }), { target: { value: 'toner' } })
    await waitFor(() => expect(last()).toMatchObject({ q: 'toner', priority: 'high', category_id: 'c1' }))

    const saved = screen.getByText(/^Saved views/).closest('details')!
    fireEvent.change(within(saved).getByLabelText('Save the current filters as'), { target: { value: ' Hot toner ' } })
    fireEvent.click(within(saved).getByRole('button', { name: 'Save view' }))
    expect(await within(saved).findByRole('button', { name: 'Hot toner' })).toBeTruthy()
    expect(screen.getByText('Saved views (1)')).toBeTruthy()
    expect(loadViews('a1')).toEqual([{ name: 'Hot toner', filters: { view: 'mine', status: '', priority: 'high', category_id: 'c1', q: 'toner' } }])

    // Back to no filters...
    fireEvent.change(screen.getByRole('combobox', { name: 'Priority' }), { target: { value: '' } })
    fireEvent.change(screen.getByRole('combobox', { name: 'Category' }), { target: { value: '' } })
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search' }), { target: { value: '' } })
    fireEvent.click(screen.getByRole('tab', { name: 'All' }))
    await waitFor(() => expect(last()).toEqual({ sort: 'updated' }))

    // ...and the view brings them all back, the search box and the tab included.
    fireEvent.click(within(saved).getByRole('button', { name: 'Hot toner' }))
    await waitFor(() => expect(last()).toEqual({ assignee_id: 'a1', sort: 'updated', q: 'toner', priority: 'high', category_id: 'c1' }))
    expect((screen.getByRole('searchbox', { name: 'Search' }) as HTMLInputElement).value).toBe('toner')
    expect((screen.getByRole('combobox', { name: 'Priority' }) as HTMLSelectElement).value).toBe('high')
    expect((screen.getByRole('combobox', { name: 'Category' }) as HTMLSelectElement).value).toBe('c1')
    expect(screen.getByRole('tab', { name: 'Assigned to me' }).getAttribute('aria-selected')).toBe('true')

    fireEvent.click(within(saved).getByRole('button', { name: 'Delete view Hot toner' }))
    expect(within(saved).queryByRole('button', { name: 'Hot toner' })).toBeNull()
    expect(loadViews('a1')).toEqual([])
  })

  it('moves between the views with the arrow keys, Home and End, one tab stop, the panel named after its tab', async () => {
    const { last } = queue()
    await screen.findByRole('link', { name: 'Printer on fire' })
    const tab = (name: string) => screen.getByRole('tab', { name })
    const selected = () => screen.getAllByRole('tab').filter((t) => t.getAttribute('aria-selected') === 'true').map((t) => t.textContent)
    const panel = screen.getByRole('tabpanel')
    // Every tab controls the panel; the panel is labelled by the selected tab.
    for (const t of screen.getAllByRole('tab')) expect(t.getAttribute('aria-controls')).toBe(panel.id)
    expect(panel.id).not.toBe('')
    expect(panel.getAttribute('aria-labelledby')).toBe(tab('Assigned to me').id)
    // One tab stop: the selected tab.
    expect(screen.getAllByRole('tab').map((t) => t.tabIndex)).toEqual([0, -1, -1, -1, -1])

    tab('Assigned to me').focus()
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' })
    expect(selected()).toEqual(['My team'])
    expect(document.activeElement).toBe(tab('My team'))
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' })
    expect(selected()).toEqual(['Unassigned'])
    await waitFor(() => expect(last().assignee_id).toBe('none'))
    expect(screen.getByRole('tabpanel').getAttribute('aria-labelledby')).toBe(tab('Unassigned').id)
    expect(screen.getAllByRole('tab').map((t) => t.tabIndex)).toEqual([-1, -1, 0, -1, -1])
    fireEvent.keyDown(document.activeElement!, { key: 'End' })
    expect(selected()).toEqual(['Breaching soon'])
    expect(document.activeElement).toBe(tab('Breaching soon'))
    // Right from the last wraps to the first; Left from the first to the last.
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' })
    expect(selected()).toEqual(['Assigned to me'])
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowLeft' })
    expect(selected()).toEqual(['Breaching soon'])
    fireEvent.keyDown(document.activeElement!, { key: 'Home' })
    expect(selected()).toEqual(['Assigned to me'])
    expect(document.activeElement).toBe(tab('Assigned to me'))
    // Other keys leave the tabs alone.
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' })
    expect(selected()).toEqual(['Assigned to me'])
  })
})
