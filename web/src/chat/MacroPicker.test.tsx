import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { TicketMacro } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { ChatPanel } from './ChatPanel'

const agent = { id: 'a1', email: 'sam@example.com', name: 'Sam', role: 'agent', active: true }
const macro = (over: Partial<TicketMacro>): TicketMacro => ({
  id: 'm1', team_id: 'team', name: 'Greeting', body: 'Hi {{requester.name}}', internal: false, to_step: null, priority: null,
  created_at: '2026-11-27T10:00:00Z', updated_at: '2026-11-27T10:00:00Z', rendered: 'Hi Ana', ...over,
})
const macros = [
  macro({}),
  macro({ id: 'm2', name: 'Hostile', body: '{{requester.name}}<script>x</script>', rendered: 'Ana<script>x</script>' }),
  macro({ id: 'm3', name: 'Resolve', body: 'Fixed.', rendered: 'Fixed.', to_step: 'resolved', priority: 'low' }),
  macro({ id: 'm4', name: 'Note', body: 'Checked', rendered: 'Checked', internal: true }),
]

function setUp(apply: (url: URL) => { status?: number; body?: unknown } | undefined) {
  return mockApi({
    'GET /auth/me': () => ({ body: agent }),
    'GET /messaging/tickets/t1/comments': () => ({ body: { items: [] } }),
    'GET /workflow/tickets/t1/macros': () => ({ body: { items: macros } }),
    'POST /workflow/tickets/t1/macros/*/apply': (_, url) => apply(url),
  })
}

const reply = () => screen.getByRole('textbox') as HTMLTextAreaElement
const choose = async (name: string) => {
  const select = (await screen.findByLabelText('Canned reply or macro')) as HTMLSelectElement
  fireEvent.change(select, { target: { value: macros.find((m) => m.name === name)!.id } })
}

describe('MacroPicker in the reply box', () => {
  it('inserts a canned reply as plain text for the agent to edit, and as a note when it is one', async () => {
    const { calls } = setUp(() => undefined)
    renderApp(<ChatPanel ticketId="t1" myId="a1" staff />, { session: signedInSession('a1', 'agent') })
    await choose('Hostile')
    expect(screen.getByTestId('macro-preview').textContent).toContain('Ana<script>x</script>')
    expect(document.querySelector('script')).toBeNull()
    fireEvent.click(screen.getByRole('button', { name: 'Insert' }))
    expect(reply().value).toBe('Ana<script>x</script>')
    fireEvent.change(reply(), { target: { value: 'Ana, edited' } })
    await choose('Note')
    fireEvent.click(screen.getByRole('button', { name: 'Insert' }))
    expect(reply().value).toBe('Ana, edited\nChecked')
    expect((screen.getByRole('checkbox', { name: /Internal note/ }) as HTMLInputElement).checked).toBe(true)
    expect(screen.getByRole('button', { name: 'Add note' })).toBeTruthy()
    // Inserting sends nothing: the agent sends when ready.
    expect(calls.filter((c) => (c.startsWith('POST') && c.includes('/comments')) || c.endsWith('/apply'))).toEqual([])
  })

  it('applies a macro in one click and says what changed, or why it was refused', async () => {
    let refuse = true
    const applied: string[] = []
    setUp((url) => {
      applied.push(url.pathname)
      if (refuse) {
        return { status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, code: 'conflict', detail: 'the macro\'s step "resolved" cannot be reached from "triage"' } }
      }
      return { body: { ticket_id: 't1', macro_id: 'm3', step: 'resolved', priority: 'low', comment_id: 'c9', internal: false } }
    })
    renderApp(<ChatPanel ticketId="t1" myId="a1" staff />, { session: signedInSession('a1', 'agent') })
    await choose('Resolve')
    expect(screen.getByTestId('macro-preview').textContent).toContain('step → resolved, priority → low')
    fireEvent.click(screen.getByRole('button', { name: 'Apply macro' }))
    expect((await screen.findByRole('alert')).textContent).toContain('cannot be reached from "triage"')
    refuse = false
    fireEvent.click(screen.getByRole('button', { name: 'Apply macro' }))
    await waitFor(() => expect(screen.getByTestId('macro-result').textContent).toBe('Macro applied: moved to resolved, priority set to low, reply sent.'))
    expect(applied).toEqual(['/workflow/tickets/t1/macros/m3/apply', '/workflow/tickets/t1/macros/m3/apply'])
    expect(reply().value).toBe('')
  })

  it('is not offered to requesters', async () => {
    const { calls } = setUp(() => undefined)
    renderApp(<ChatPanel ticketId="t1" myId="u1" staff={false} />)
    await screen.findByRole('textbox')
    expect(screen.queryByTestId('macro-picker')).toBeNull()
    expect(calls).not.toContain('GET /workflow/tickets/t1/macros')
  })
})
