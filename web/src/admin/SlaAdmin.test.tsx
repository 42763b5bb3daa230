import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { SLAPolicy } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { SlaAdmin } from './SlaAdmin'

const policy = (priority: SLAPolicy['priority'], first: number, resolution: number): SLAPolicy => ({
  priority, first_response_seconds: first, resolution_seconds: resolution, warn_ratio: 0.75, business_hours: false, auto_close_seconds: 7 * 86400,
})

describe('SlaAdmin', { timeout: 20_000 }, () => {
  it('shows each priority’s times and saves the edited ones in seconds', async () => {
    const puts: [string, unknown][] = []
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /workflow/sla-policies': () => ({ body: { items: [policy('low', 86400, 5 * 86400), policy('normal', 8 * 3600, 3 * 86400), policy('high', 4 * 3600, 86400), policy('urgent', 3600, 4 * 3600)] } }),
      'PUT /workflow/sla-policies/*': (body, url) => {
        puts.push([url.pathname, body])
        return { body: { priority: url.pathname.split('/').pop(), ...(body as object) } }
      },
    })
    renderApp(<SlaAdmin />, { session: signedInSession('u1', 'admin') })
    const urgent = within(await screen.findByRole('form', { name: 'SLA policy urgent' }))
    expect(screen.getAllByRole('form').map((f) => f.getAttribute('aria-label'))).toEqual(['SLA policy low', 'SLA policy normal', 'SLA policy high', 'SLA policy urgent'])
    expect((urgent.getByLabelText('First response (hours)') as HTMLInputElement).value).toBe('1')
    expect((urgent.getByLabelText('Resolution (hours)') as HTMLInputElement).value).toBe('4')
    expect((urgent.getByLabelText('Warn at (% of the time)') as HTMLInputElement).value).toBe('75')

    // 15 minutes and 2 h 30 min.
    fireEvent.change(urgent.getByLabelText('First response (hours)'), { target: { value: '0.25' } })
    fireEvent.change(urgent.getByLabelText('Resolution (hours)'), { target: { value: '2.5' } })
    fireEvent.change(urgent.getByLabelText('Warn at (% of the time)'), { target: { value: '80' } })
    fireEvent.click(urgent.getByLabelText(/Count business hours only/))
    fireEvent.click(urgent.getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(puts).toEqual([['/workflow/sla-policies/urgent', {
      first_response_seconds: 900, resolution_seconds: 9000, warn_ratio: 0.8, business_hours: true, auto_close_seconds: 7 * 86400,
    }]]))
    expect(await urgent.findByRole('button', { name: 'Saved' })).toBeTruthy()
    // The other priorities were left alone.
    expect(within(screen.getByRole('form', { name: 'SLA policy high' })).getByRole('button', { name: 'Save' })).toBeTruthy()
  })

  it('shows the server’s reason when a policy is refused', async () => {
    mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /workflow/sla-policies': () => ({ body: { items: [policy('low', 86400, 5 * 86400)] } }),
      'PUT /workflow/sla-policies/*': () => ({ status: 422, body: { type: 'about:blank', title: 'Unprocessable', status: 422, code: 'unprocessable', detail: 'the policy is invalid', errors: [{ field: 'resolution_seconds', message: 'must be longer than the first response' }] } }),
    })
    renderApp(<SlaAdmin />, { session: signedInSession('u1', 'admin') })
    const low = within(await screen.findByRole('form', { name: 'SLA policy low' }))
    fireEvent.change(low.getByLabelText('Resolution (hours)'), { target: { value: '1' } })
    fireEvent.click(low.getByRole('button', { name: 'Save' }))
    expect((await low.findByRole('alert')).textContent).toBe('Not saved: the policy is invalid: resolution_seconds must be longer than the first response')
  })
})
