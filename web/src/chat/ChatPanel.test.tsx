import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Comment } from '../api/types'
import { FakeSocket } from '../test/fakeSocket'
import { mockApi, renderApp, type Reply } from '../test/harness'
import { ChatPanel } from './ChatPanel'
import { LiveSocket } from './live'

const me = { id: 'u1', email: 'ana@example.com', name: 'Ana', role: 'employee', active: true }
let seq = 0
const comment = (body: string, author = 'agent-1', name = 'Sam'): Comment => ({
  id: `c${++seq}`, ticket_id: 't1', author_id: author, author_name: name, author_role: author === 'u1' ? 'employee' : 'agent',
  body, internal: false, created_at: new Date(Date.UTC(2026, 10, 3, 9, seq)).toISOString(), edited_at: null, deleted: false,
})

beforeEach(() => {
  FakeSocket.all = []
  seq = 0
})

function messages() {
  return within(screen.getByRole('list', { name: 'Messages' })).getAllByRole('listitem').map((li) => li.querySelector('.comment-body')!.textContent)
}

describe('ChatPanel', () => {
  it('shows comments live, once each, and catches up after a reconnect', async () => {
    const server: Comment[] = [comment('Hello, my printer is on fire', 'u1', 'Ana')]
    mockApi({
      'GET /auth/me': () => ({ body: me }),
      'GET /messaging/tickets/t1/comments': () => ({ body: { items: [...server] } }),
      'POST /messaging/tickets/t1/comments': (body) => {
        const c = comment((body as { body: string }).body, 'u1', 'Ana')
        server.push(c)
        return { status: 201, body: c }
      },
    })
    const socket = new LiveSocket({
      ticket: async () => 'wst', url: (t) => `ws://test/?ticket=${t}`,
      WebSocket: FakeSocket as unknown as typeof WebSocket, baseDelayMs: 10, maxDelayMs: 20,
    })
    renderApp(<ChatPanel ticketId="t1" myId="u1" staff={false} />, { socket })
    await screen.findByText('Hello, my printer is on fire')
    await waitFor(() => expect(FakeSocket.all).toHaveLength(1))
    const ws = FakeSocket.last()
    ws.open()
    await waitFor(() => expect(ws.sent).toContainEqual({ type: 'subscribe', ticket_id: 't1' }))
    await screen.findByText('Live')

    // An agent's reply arrives over the socket, twice (say, from two replicas): shown once.
    const reply = comment('Put it out first')
    server.push(reply)
    ws.receive({ type: 'comment.created', ticket_id: 't1', data: reply })
    ws.receive({ type: 'comment.created', ticket_id: 't1', data: reply })
    await screen.findByText('Put it out first')
    expect(messages()).toEqual(['Hello, my printer is on fire', 'Put it out first'])
    // The list is a polite live region of additions: a screen reader reads the new message, not the list again.
    const list = screen.getByRole('list', { name: 'Messages' })
    expect(list.getAttribute('aria-live')).toBe('polite')
    expect(list.getAttribute('aria-relevant')).toBe('additions')

    // Typing and presence.
    ws.receive({ type: 'typing', ticket_id: 't1', data: { user_id: 'agent-1', name: 'Sam' } })
    await screen.findByText('Sam is typing…')
    ws.receive({ type: 'presence', ticket_id: 't1', data: { ticket_id: 't1', viewers: [{ user_id: 'u1', name: 'Ana' }, { user_id: 'agent-1', name: 'Sam' }] } })
    await screen.findByText('Also viewing: Sam')

    // My own reply comes back from the POST and from the socket: shown once.
    fireEvent.change(screen.getByLabelText('Reply'), { target: { value: 'Done, it is out' } })
    fireEvent.click(screen.getByRole('button', { name: 'Send reply' }))
    await waitFor(() => expect(messages()).toContain('Done, it is out'))
    ws.receive({ type: 'comment.created', ticket_id: 't1', data: server.at(-1) })
    expect(messages()).toHaveLength(3)

    // The connection drops; a reply is written meanwhile; after the reconnect it is there, nothing twice.
    ws.drop()
    await screen.findByText('Reconnecting…')
    server.push(comment('Missed while offline'))
    await waitFor(() => expect(FakeSocket.all).toHaveLength(2))
    const ws2 = FakeSocket.last()
    ws2.open()
    await screen.findByText('Missed while offline')
    expect(ws2.sent).toContainEqual({ type: 'subscribe', ticket_id: 't1' })
    expect(messages()).toEqual(['Hello, my printer is on fire', 'Put it out first', 'Done, it is out', 'Missed while offline'])
    socket.stop()
  })

  it('keeps comments that arrive over the socket while the conversation is being fetched', async () => {
    const first = comment('Hello, my printer is on fire', 'u1', 'Ana')
    const during = comment('Put it out first')
    const after = comment('Then call facilities')
    let release: (r: Reply) => void = () => {}
    const { calls } = mockApi({
      'GET /auth/me': () => ({ body: me }),
      // The server's answer was read before the last reply was written, and
      // is held back until the test lets it go.
      'GET /messaging/tickets/t1/comments': () => new Promise<Reply>((r) => (release = r)),
    })
    const socket = new LiveSocket({
      ticket: async () => 'wst', url: (t) => `ws://test/?ticket=${t}`,
      WebSocket: FakeSocket as unknown as typeof WebSocket, baseDelayMs: 10, maxDelayMs: 20,
    })
    renderApp(<ChatPanel ticketId="t1" myId="u1" staff={false} />, { socket })
    await waitFor(() => expect(calls).toContain('GET /messaging/tickets/t1/comments'))
    await waitFor(() => expect(FakeSocket.all).toHaveLength(1))
    const ws = FakeSocket.last()
    ws.open()
    await waitFor(() => expect(ws.sent).toContainEqual({ type: 'subscribe', ticket_id: 't1' }))

    // Both replies arrive while the fetch is in flight; the server's page has the first of them only.
    ws.receive({ type: 'comment.created', ticket_id: 't1', data: during })
    ws.receive({ type: 'comment.created', ticket_id: 't1', data: after })
    await screen.findByText('Then call facilities')
    release({ body: { items: [first, during] } })
    await screen.findByText('Hello, my printer is on fire')
    expect(messages()).toEqual(['Hello, my printer is on fire', 'Put it out first', 'Then call facilities'])
    // Nothing is lost on a later render either.
    await new Promise((r) => setTimeout(r, 50))
    expect(messages()).toEqual(['Hello, my printer is on fire', 'Put it out first', 'Then call facilities'])
    socket.stop()
  })

  it('renders comment bodies as Markdown, and HTML in them as text', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: me }),
      'GET /messaging/tickets/t1/comments': () => ({
        body: { items: [comment('It is **urgent** <img src=x onerror="alert(1)"> see [this](javascript:alert(1))')] },
      }),
    })
    const socket = new LiveSocket({ ticket: () => new Promise(() => {}), url: () => '' })
    renderApp(<ChatPanel ticketId="t1" myId="u1" staff={false} />, { socket })
    const strong = await screen.findByText('urgent')
    expect(strong.tagName).toBe('STRONG')
    const body = strong.closest('.comment-body')!
    expect(body.querySelector('img, a')).toBeNull()
    expect(body.textContent).toBe('It is urgent <img src=x onerror="alert(1)"> see this')
  })

  it('offers internal notes to staff only', async () => {
    mockApi({ 'GET /auth/me': () => ({ body: me }), 'GET /messaging/tickets/t1/comments': () => ({ body: { items: [] } }) })
    const socket = new LiveSocket({ ticket: () => new Promise(() => {}), url: () => '' })
    const { unmount } = renderApp(<ChatPanel ticketId="t1" myId="u1" staff={false} />, { socket })
    await screen.findByText(/No messages yet/)
    expect(screen.queryByLabelText('Internal note')).toBeNull()
    unmount()
    renderApp(<ChatPanel ticketId="t1" myId="u1" staff />, { socket })
    await screen.findByText(/No messages yet/)
    expect(screen.getByRole('checkbox', { name: 'Internal note' })).toBeTruthy()
  })
})
