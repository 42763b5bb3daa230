import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Macro } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { MacrosAdmin } from './MacrosAdmin'

const team = { id: 'team1', name: 'Service desk', calendar: null, members: [], strategy: 'round_robin' }
const stored: Macro = {
  id: 'm1', team_id: 'team1', name: 'Greeting', body: 'Hi {{requester.name}}', internal: false, to_step: null, priority: null,
  created_at: '2026-11-27T10:00:00Z', updated_at: '2026-11-27T10:00:00Z',
}

describe('MacrosAdmin', () => {
  it('creates a macro with actions, shows a refusal, and edits one', async () => {
    const sent: unknown[] = []
    const items: Macro[] = [stored]
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /workflow/teams': () => ({ body: { items: [team] } }),
      'GET /workflow/macros': () => ({ body: { items: [...items] } }),
      'POST /workflow/macros': (body) => {
        sent.push(body)
        const b = body as { name: string; body: string; to_step: string; priority: string }
        if (b.body.includes('{{requester.email}}')) {
          return { status: 422, body: { type: 'about:blank', title: 'Unprocessable', status: 422, code: 'unprocessable', detail: 'the macro has invalid fields', errors: [{ field: 'body', message: 'unknown placeholder {{requester.email}}' }] } }
        }
        const m = { ...stored, id: 'm2', name: b.name, body: b.body, to_step: b.to_step || null, priority: (b.priority || null) as Macro['priority'] }
        items.push(m)
        return { status: 201, body: m }
      },
      'PATCH /workflow/macros/m1': (body) => {
        sent.push(body)
        items[0] = { ...items[0], ...(body as Partial<Macro>) }
        return { body: items[0] }
      },
    })
    renderApp(<MacrosAdmin />, { session: signedInSession('u1', 'admin') })
    const form = within(await screen.findByRole('form', { name: 'New macro' }))
    fireEvent.change(form.getByLabelText('Name'), { target: { value: 'Bad' } })
    fireEvent.change(form.getByLabelText('Text'), { target: { value: 'Dear {{requester.email}}' } })
    fireEvent.click(form.getByRole('button', { name: 'Add macro' }))
    expect((await form.findByRole('alert')).textContent).toContain('The macro was refused')

    fireEvent.change(form.getByLabelText('Name'), { target: { value: '  Start work ' } })
    fireEvent.change(form.getByLabelText('Text'), { target: { value: '{{agent.name}} is on it.' } })
    fireEvent.change(form.getByLabelText('Move to step'), { target: { value: 'in_progress' } })
    fireEvent.change(form.getByLabelText('Set priority'), { target: { value: 'urgent' } })
    fireEvent.click(form.getByRole('button', { name: 'Add macro' }))
    await screen.findByText('priority → urgent')
    expect(sent[1]).toEqual({ team_id: 'team1', name: 'Start work', body: '{{agent.name}} is on it.', internal: false, to_step: 'in_progress', priority: 'urgent' })

    const list = within(screen.getByRole('list', { name: 'Macros' }))
    fireEvent.click(list.getAllByRole('button', { name: 'Edit' })[0])
    const edit = within(await screen.findByRole('form', { name: 'Edit Greeting' }))
    fireEvent.click(edit.getByLabelText(/internal note/))
    fireEvent.click(edit.getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(screen.queryByRole('form', { name: 'Edit Greeting' })).toBeNull())
    expect(sent[2]).toMatchObject({ name: 'Greeting', internal: true, to_step: '', priority: '' })
  })
})
