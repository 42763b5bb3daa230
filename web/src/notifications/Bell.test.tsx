import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Notification, NotificationList } from '../api/types'
import { LiveSocket } from '../chat/live'
import { FakeSocket } from '../test/fakeSocket'
import { mockApi, renderApp } from '../test/harness'
import { Bell } from './Bell'
import { addNotification, markRead } from './cache'

const me = { id: 'u1', email: 'ana@example.com', name: 'Ana', role: 'employee', active: true }
const note = (id: string, patch: Partial<Notification> = {}): Notification => ({
  id, kind: 'comment.created', ticket_id: 't1', title: `Sam replied ${id}`, body: 'Put it out first', link: '/tickets/t1',
  created_at: new Date().toISOString(), read_at: null, ...patch,
})

beforeEach(() => {
  FakeSocket.all = []
})

function socket() {
  return new LiveSocket({
    ticket: async () => 'wst', url: (t) => `ws://test/?ticket=${t}`,
    WebSocket: FakeSocket as unknown as typeof WebSocket, baseDelayMs: 10, maxDelayMs: 20,
  })
}

const bell = () => screen.getByRole('button', { name: /^Notifications/ })

describe('Bell', { timeout: 20_000 }, () => {
  it('counts a pushed notification live, once, and marks it read when opened', async () => {
    const reads: string[] = []
    const { calls } = mockApi({
      'GET /auth/me': () => ({ body: me }),
      'GET /notifications': () => ({ body: { items: [], unread_count: 0 } satisfies NotificationList }),
      'POST /notifications/*/read': (_, url) => {
        reads.push(url.pathname)
        return { status: 204 }
      },
    })
    const live = socket()
    renderApp(<Bell />, { socket: live })
    await waitFor(() => expect(calls).toContain('GET /notifications'))
    expect(screen.queryByTestId('unread-count')).toBeNull()
    expect(bell().getAttribute('aria-label')).toBe('Notifications')

    await waitFor(() => expect(FakeSocket.all).toHaveLength(1))
    const ws = FakeSocket.last()
    ws.open()
    const frame = { type: 'notification', data: note('n1') }
    ws.receive(frame)
    expect((await screen.findByTestId('unread-count')).textContent).toBe('1')
    expect(bell().getAttribute('aria-label')).toBe('Notifications, 1 unread')
    // The same notification again (say, from two replicas) does not count twice...
    ws.receive(frame)
    // ...a malformed one is ignored...
    ws.receive({ type: 'notification', data: { id: 'n2' } })
    await new Promise((r) => setTimeout(r, 20))
    expect(screen.getByTestId('unread-count').textContent).toBe('1')
    // ...and the list was not fetched again: the count came over the socket.
    expect(calls.filter((c) => c === 'GET /notifications')).toHaveLength(1)

    fireEvent.click(bell())
    expect(bell().getAttribute('aria-expanded')).toBe('true')
    const panel = within(screen.getByRole('dialog', { name: 'Notifications' }))
    const items = panel.getAllByRole('listitem')
    expect(items).toHaveLength(1)
    expect(items[0].className).toBe('unread')
    fireEvent.click(panel.getByRole('link', { name: /Sam replied n1/ }))
    await waitFor(() => expect(reads).toEqual(['/notifications/n1/read']))
    expect(screen.queryByTestId('unread-count')).toBeNull()
    expect(screen.queryByRole('dialog')).toBeNull()

    // Opened again, it shows as read and is not marked a second time.
    fireEvent.click(bell())
    const again = within(screen.getByRole('dialog', { name: 'Notifications' }))
    expect(again.getAllByRole('listitem')[0].className).toBe('read')
    fireEvent.click(again.getByRole('link', { name: /Sam replied n1/ }))
    await new Promise((r) => setTimeout(r, 20))
    expect(reads).toHaveLength(1)
    live.stop()
  })

  it('closes the panel on Escape and on a click outside', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: me }),
      'GET /notifications': () => ({ body: { items: [note('n1'), note('n2', { read_at: '2026-11-03T09:00:00Z' })], unread_count: 1 } }),
    })
    const live = socket()
    renderApp(<Bell />, { socket: live })
    expect((await screen.findByTestId('unread-count')).textContent).toBe('1')
    fireEvent.click(bell())
    expect(within(screen.getByRole('dialog', { name: 'Notifications' })).getAllByRole('listitem')).toHaveLength(2)
    fireEvent.keyDown(document, { key: 'Enter' })
    expect(screen.getByRole('dialog')).toBeTruthy()
    fireEvent.keyDown(document, { key: 'Escape' })
    expect(screen.queryByRole('dialog')).toBeNull()
    expect(bell().getAttribute('aria-expanded')).toBe('false')

    fireEvent.click(bell())
    fireEvent.mouseDown(screen.getByRole('dialog'))
    expect(screen.getByRole('dialog')).toBeTruthy()
    fireEvent.mouseDown(document.body)
    expect(screen.queryByRole('dialog')).toBeNull()
    live.stop()
  })

  it('shows 99+ beyond 99 unread', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: me }),
      'GET /notifications': () => ({ body: { items: [note('n1')], unread_count: 120 } }),
    })
    const live = socket()
    renderApp(<Bell />, { socket: live })
    expect((await screen.findByTestId('unread-count')).textContent).toBe('99+')
    live.stop()
  })
})

describe('notification cache', () => {
  it('adds a notification once, counting only unread ones, and marks one read once', () => {
    const one = addNotification(undefined, note('n1'))
    expect(one.unread_count).toBe(1)
    expect(addNotification(one, note('n1'))).toBe(one)
    const two = addNotification(one, note('n2', { read_at: '2026-11-03T09:00:00Z' }))
    expect(two.items.map((n) => n.id)).toEqual(['n2', 'n1'])
    expect(two.unread_count).toBe(1)
    const read = markRead(two, 'n1')!
    expect(read.unread_count).toBe(0)
    expect(read.items.find((n) => n.id === 'n1')!.read_at).not.toBeNull()
    expect(markRead(read, 'n1')).toBe(read)
    expect(markRead(read, 'missing')).toBe(read)
    expect(markRead(undefined, 'n1')).toBeUndefined()
  })
})
