import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { mockApi, renderApp, signedInSession, type Reply } from '../test/harness'
import { TemporalLink } from './TemporalLink'

const runUrl = 'https://desk.example.com/temporal/namespaces/default/workflows/ticket-t1/run-1/history'
const me = { 'GET /auth/me': () => ({ body: { id: 'admin-1', email: 'ada@x', name: 'Ada', role: 'admin', active: true } }) }

/** fakeTab stands in for the tab window.open gives. */
function fakeTab() {
  const tab = { opener: window as unknown, location: { href: '' }, close: vi.fn() }
  const open = vi.spyOn(window, 'open').mockReturnValue(tab as unknown as Window)
  return { tab, open }
}

describe('TemporalLink', () => {
  it('gets the Temporal UI session first, then leads the tab it opened on click to the run', async () => {
    let release: (r: Reply) => void = () => {}
    const { calls, fetchMock } = mockApi({ ...me, 'POST /auth/temporal-session': () => new Promise<Reply>((r) => (release = r)) })
    const { tab, open } = fakeTab()
    renderApp(<TemporalLink href={runUrl} />, { session: signedInSession('admin-1', 'admin') })
    const link = screen.getByRole('link', { name: 'Open the workflow run in the Temporal UI' })
    // Still a real link.
    expect(link.getAttribute('href')).toBe(runUrl)

    fireEvent.click(link)
    // The tab is opened at once (no popup blocker), blank, cut off from the app.
    expect(open).toHaveBeenCalledWith('', '_blank')
    expect(tab.opener).toBeNull()
    await waitFor(() => expect(calls).toContain('POST /auth/temporal-session'))
    const [, init] = fetchMock.mock.calls.find(([url]) => String(url).endsWith('/auth/temporal-session'))!
    expect((init?.headers as Record<string, string>).Authorization).toMatch(/^Bearer .+/)
    await new Promise((r) => setTimeout(r, 20))
    expect(tab.location.href).toBe('')

    release({ status: 204 })
    await waitFor(() => expect(tab.location.href).toBe(runUrl))
    expect(tab.close).not.toHaveBeenCalled()
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('opens on a middle click too, but not on a right click', async () => {
    const { calls } = mockApi({ ...me, 'POST /auth/temporal-session': () => ({ status: 204 }) })
    const { tab, open } = fakeTab()
    renderApp(<TemporalLink href={runUrl} />, { session: signedInSession('admin-1', 'admin') })
    const link = screen.getByRole('link', { name: 'Open the workflow run in the Temporal UI' })
    fireEvent(link, new MouseEvent('auxclick', { bubbles: true, cancelable: true, button: 2 }))
    expect(open).not.toHaveBeenCalled()
    const middle = new MouseEvent('auxclick', { bubbles: true, cancelable: true, button: 1 })
    fireEvent(link, middle)
    expect(middle.defaultPrevented).toBe(true)
    await waitFor(() => expect(tab.location.href).toBe(runUrl))
    expect(calls.filter((c) => c === 'POST /auth/temporal-session')).toHaveLength(1)
  })

  it('says why when the session is refused, and closes the blank tab', async () => {
    mockApi({
      ...me,
      'POST /auth/temporal-session': () => ({
        status: 403, body: { type: 'about:blank', title: 'Forbidden', status: 403, detail: 'only admins may open the Temporal UI' },
      }),
    })
    const { tab } = fakeTab()
    renderApp(<TemporalLink href={runUrl} />, { session: signedInSession('admin-1', 'admin') })
    fireEvent.click(screen.getByRole('link', { name: 'Open the workflow run in the Temporal UI' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toContain('The Temporal UI could not be opened: only admins may open the Temporal UI')
    expect(tab.close).toHaveBeenCalled()
    expect(tab.location.href).toBe('')
  })
})
