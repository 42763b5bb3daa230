import { fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Definition } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { ProcessAdmin } from './ProcessAdmin'
import { ProcessDiagram } from './ProcessDiagram'

const staff = ['agent', 'admin'] as Definition['transitions'][number]['roles']
const defaults: Definition = {
  version: 0,
  steps: [
    { key: 'new', name: 'New', terminal: false, status: 'new' },
    { key: 'triage', name: 'Triage', terminal: false, status: 'open' },
    { key: 'in_progress', name: 'In progress', terminal: false, status: 'open' },
    { key: 'resolved', name: 'Resolved', terminal: false, status: 'resolved' },
    { key: 'closed', name: 'Closed', terminal: true, status: 'closed' },
  ],
  transitions: [
    { from: 'new', to: 'triage', roles: staff },
    { from: 'triage', to: 'in_progress', roles: staff },
    { from: 'in_progress', to: 'resolved', roles: staff },
    { from: 'resolved', to: 'closed', roles: [...staff, 'requester'] },
    { from: 'resolved', to: 'in_progress', roles: [...staff, 'requester'] },
  ],
}

const nodes = () => [...document.querySelectorAll('svg.diagram g.node text')].map((t) => t.textContent)

describe('ProcessDiagram', () => {
  it('draws one node per step, marks the terminal ones, and one arrow per move between known steps', () => {
    const { container } = render(<ProcessDiagram steps={defaults.steps} transitions={[...defaults.transitions, { from: 'gone', to: 'new', roles: staff }]} />)
    expect(screen.getByRole('img', { name: 'Process with 5 steps and 6 moves' })).toBeTruthy()
    expect(nodes()).toEqual(['New', 'Triage', 'In progress', 'Resolved', 'Closed'])
    expect(container.querySelectorAll('g.node.terminal')).toHaveLength(1)
    expect(container.querySelectorAll('path.arrow')).toHaveLength(5)
    // Moving back (reopen) is drawn below.
    expect(container.querySelectorAll('path.arrow.back')).toHaveLength(1)
    expect(container.querySelector('path.arrow.back title')!.textContent).toBe('resolved → in_progress: agent, admin, requester')
  })
})

describe('ProcessAdmin', { timeout: 20_000 }, () => {
  it('edits a category’s process, redraws the diagram, saves it and shows the saved version', async () => {
    const saved: unknown[] = []
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /helpdesk/categories': () => ({ body: { items: [{ id: 'c1', name: 'Hardware', description: '', active: true, created_at: '2026-11-01T00:00:00Z' }] } }),
      'GET /workflow/teams': () => ({ body: { items: [{ id: 'team1', name: 'Service desk', calendar: null, members: [], strategy: 'round_robin' }] } }),
      'GET /workflow/definitions/c1': () => ({ body: structuredClone(defaults) }),
      'PUT /workflow/definitions/c1': (body) => {
        saved.push(body)
        const d = body as Definition
        if (!d.steps.some((s) => s.terminal)) {
          return { status: 422, body: { type: 'about:blank', title: 'Unprocessable', status: 422, code: 'unprocessable', detail: 'the process definition is invalid', errors: [{ field: 'steps', message: 'no step is terminal' }] } }
        }
        return { body: { ...d, category_id: 'c1', version: saved.length } }
      },
    })
    renderApp(<ProcessAdmin />, { session: signedInSession('u1', 'admin') })
    await screen.findByText(/Version 0 \(the built-in default\)/)
    expect(nodes()).toEqual(['New', 'Triage', 'In progress', 'Resolved', 'Closed'])

    // An invalid process is refused with the server's reasons.
    fireEvent.click(screen.getByRole('checkbox', { name: 'Step 5 is terminal' }))
    fireEvent.click(screen.getByRole('button', { name: 'Save process' }))
    expect((await screen.findByRole('alert')).textContent).toBe('Not saved: the process definition is invalid: steps no step is terminal')
    fireEvent.click(screen.getByRole('button', { name: 'Undo changes' }))
    expect((screen.getByRole('checkbox', { name: 'Step 5 is terminal' }) as HTMLInputElement).checked).toBe(true)

    // Add a step and a move to it; the diagram follows.
    fireEvent.click(screen.getByRole('button', { name: 'Add step' }))
    fireEvent.change(screen.getByLabelText('Key of step 6'), { target: { value: 'waiting' } })
    fireEvent.change(screen.getByLabelText('Name of step 6'), { target: { value: 'Waiting' } })
    expect(nodes()).toEqual(['New', 'Triage', 'In progress', 'Resolved', 'Closed', 'Waiting'])
    fireEvent.click(screen.getByRole('button', { name: 'Move step 6 up' }))
    expect(nodes()).toEqual(['New', 'Triage', 'In progress', 'Resolved', 'Waiting', 'Closed'])
    fireEvent.click(screen.getByRole('button', { name: 'Add move' }))
    fireEvent.change(screen.getByLabelText('From of move 6'), { target: { value: 'in_progress' } })
    fireEvent.change(screen.getByLabelText('To of move 6'), { target: { value: 'waiting' } })
    fireEvent.click(screen.getByRole('checkbox', { name: 'requester may make move 6' }))
    expect(screen.getByRole('img', { name: 'Process with 6 steps and 6 moves' })).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Team'), { target: { value: 'team1' } })
    expect((screen.getByLabelText('At the first SLA breach') as HTMLSelectElement).value).toBe('team_lead')
    fireEvent.change(screen.getByLabelText('At the first SLA breach'), { target: { value: 'none' } })

    fireEvent.click(screen.getByRole('button', { name: 'Save process' }))
    expect((await screen.findByRole('status')).textContent).toBe('Saved as version 2.')
    await waitFor(() => expect(screen.getByText(/^Version 2\./)).toBeTruthy())
    expect(saved[1]).toMatchObject({
      team_id: 'team1',
      escalation: 'none',
      steps: [...defaults.steps.slice(0, 4), { key: 'waiting', name: 'Waiting', terminal: false }, defaults.steps[4]],
      transitions: [...defaults.transitions, { from: 'in_progress', to: 'waiting', roles: ['agent', 'admin', 'requester'] }],
    })
    expect(within(screen.getByRole('img')).queryAllByText('Waiting')).toHaveLength(1)
  })
})
