import { act, fireEvent, screen, waitFor } from '@testing-library/react'
import { Route, Routes } from 'react-router'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { mockApi, renderApp } from '../test/harness'
import { NewTicketPage } from './NewTicketPage'

/** FakeXHR stands in for XMLHttpRequest (upload.ts); the test reports its progress and answers. */
class FakeXHR {
  static all: FakeXHR[] = []
  method = ''
  url = ''
  headers: Record<string, string> = {}
  body: FormData | null = null
  status = 0
  responseText = ''
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  onabort: (() => void) | null = null
  constructor() {
    FakeXHR.all.push(this)
  }
  open(method: string, url: string) {
    this.method = method
    this.url = url
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v
  }
  send(body: FormData) {
    this.body = body
  }
  abort() {
    this.onabort?.()
  }
  // Driven by the test:
  progress(loaded: number, total: number) {
    act(() => this.upload.onprogress?.({ lengthComputable: true, loaded, total }))
  }
  answer(status: number, body: unknown) {
    this.status = status
    this.responseText = JSON.stringify(body)
    act(() => this.onload?.())
  }
}

const me = { id: 'u1', email: 'ana@example.com', name: 'Ana', role: 'employee', active: true }
const created = {
  id: 't1', title: 'Printer on fire', description: '', status: 'new', priority: 'high', category_id: 'c1', requester_id: 'u1', assignee_id: null,
  step: 'new', created_at: '2026-11-03T09:00:00Z', updated_at: '2026-11-03T09:00:00Z',
}

beforeEach(() => {
  FakeXHR.all = []
  vi.stubGlobal('XMLHttpRequest', FakeXHR)
})

function page() {
  const tickets: unknown[] = []
  mockApi({
    'GET /auth/me': () => ({ body: me }),
    'GET /helpdesk/categories': () => ({ body: { items: [{ id: 'c1', name: 'Hardware', description: '', active: true, created_at: '2026-11-01T00:00:00Z' }] } }),
    'POST /helpdesk/tickets': (body) => {
      tickets.push(body)
      return { status: 201, body: created }
    },
  })
  renderApp(
    <Routes>
      <Route path="/tickets/new" element={<NewTicketPage />} />
      <Route path="/tickets/:id" element={<p>The ticket page</p>} />
    </Routes>,
    { path: '/tickets/new' },
  )
  return tickets
}

async function fillAndDrop(...files: File[]) {
  fireEvent.change(await screen.findByLabelText('Category'), { target: { value: 'c1' } })
  fireEvent.change(screen.getByLabelText('Priority'), { target: { value: 'high' } })
  fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'Printer on fire' } })
  fireEvent.drop(screen.getByTestId('filedrop'), { dataTransfer: { files } })
}

const bar = (name: string) => screen.getByRole('progressbar', { name: `Upload of ${name}` }) as HTMLProgressElement

describe('NewTicketPage', { timeout: 20_000 }, () => {
  it('opens the ticket, then uploads each dropped file showing its progress', async () => {
    const tickets = page()
    await fillAndDrop(new File(['smoke'], 'smoke.txt', { type: 'text/plain' }), new File(['png'], 'photo.png'))
    fireEvent.click(screen.getByRole('button', { name: 'Open ticket' }))
    await waitFor(() => expect(FakeXHR.all).toHaveLength(1))
    expect(tickets).toEqual([{ category_id: 'c1', priority: 'high', title: 'Printer on fire', description: '' }])
    const first = FakeXHR.all[0]
    expect(first.method).toBe('POST')
    expect(first.url).toBe('/messaging/tickets/t1/attachments')
    expect(first.headers.Authorization).toMatch(/^Bearer /)
    expect((first.body!.get('file') as File).name).toBe('smoke.txt')
    expect(screen.getByRole('button', { name: 'Sending…' })).toHaveProperty('disabled', true)

    expect(bar('smoke.txt').value).toBe(0)
    first.progress(25, 100)
    expect(bar('smoke.txt').value).toBe(0.25)
    first.progress(80, 100)
    expect(bar('smoke.txt').value).toBe(0.8)
    expect(bar('smoke.txt').textContent).toBe('80%')
    // The second file waits its turn.
    expect(screen.queryByRole('progressbar', { name: 'Upload of photo.png' })).toBeNull()
    first.answer(201, { id: 'att1' })

    await waitFor(() => expect(FakeXHR.all).toHaveLength(2))
    expect(bar('smoke.txt').value).toBe(1)
    FakeXHR.all[1].progress(1, 2)
    expect(bar('photo.png').value).toBe(0.5)
    FakeXHR.all[1].answer(201, { id: 'att2' })
    expect(await screen.findByText('The ticket page')).toBeTruthy()
  })

  it('keeps the ticket when an upload fails and retries only that file', async () => {
    const tickets = page()
    await fillAndDrop(new File(['ok'], 'ok.txt'), new File(['bad'], 'bad.exe'))
    fireEvent.click(screen.getByRole('button', { name: 'Open ticket' }))
    await waitFor(() => expect(FakeXHR.all).toHaveLength(1))
    FakeXHR.all[0].answer(201, { id: 'att1' })
    await waitFor(() => expect(FakeXHR.all).toHaveLength(2))
    FakeXHR.all[1].answer(415, { type: 'about:blank', title: 'Unsupported Media Type', status: 415, code: 'unsupported', detail: 'this kind of file is not accepted' })
    expect((await screen.findByRole('alert')).textContent).toBe('The ticket was opened, but some files could not be attached.')
    expect(screen.getByText('this kind of file is not accepted')).toBeTruthy()
    expect(screen.getByRole('link', { name: 'Go to the ticket' }).getAttribute('href')).toBe('/tickets/t1')

    fireEvent.click(screen.getByRole('button', { name: 'Retry the uploads' }))
    await waitFor(() => expect(FakeXHR.all).toHaveLength(3))
    expect((FakeXHR.all[2].body!.get('file') as File).name).toBe('bad.exe')
    FakeXHR.all[2].answer(201, { id: 'att2' })
    expect(await screen.findByText('The ticket page')).toBeTruthy()
    // The ticket was opened once.
    expect(tickets).toHaveLength(1)
  })

  it('names the missing fields instead of sending', async () => {
    const tickets = page()
    fireEvent.click(await screen.findByRole('button', { name: 'Open ticket' }))
    expect(await screen.findByText('Choose a category.')).toBeTruthy()
    expect(screen.getByText('Give the ticket a title.')).toBeTruthy()
    expect(screen.getByLabelText('Title').getAttribute('aria-invalid')).toBe('true')
    expect(screen.getByLabelText('Title').getAttribute('aria-describedby')).toBe('title-error')
    expect(tickets).toEqual([])
  })
})
