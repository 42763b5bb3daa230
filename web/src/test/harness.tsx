import type { ReactNode } from 'react'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { vi } from 'vitest'
import { AuthProvider } from '../auth/AuthContext'
import { Session } from '../auth/session'
import { LiveProvider } from '../chat/LiveContext'
import type { LiveSocket } from '../chat/live'

export type Reply = { status?: number; body?: unknown } | undefined

/**
 * Handler answers one request. It may return a Promise to hold the answer
 * back, e.g. to deliver a WebSocket frame while a fetch is in flight.
 */
export type Handler = (body: unknown, url: URL) => Reply | Promise<Reply>

/** mockApi answers fetch from a table of "METHOD /path" handlers (paths with * match one segment). */
export function mockApi(routes: Record<string, Handler>) {
  const calls: string[] = []
  const fetchMock = vi.fn(async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, 'http://test')
    const key = `${init.method ?? 'GET'} ${url.pathname}`
    calls.push(key)
    const entry = Object.entries(routes).find(([pattern]) => new RegExp('^' + pattern.replace(/[.?]/g, '\\$&').replace(/\*/g, '[^/]+') + '$').test(key))
    const res = await entry?.[1](init.body ? JSON.parse(String(init.body)) : undefined, url)
    if (!res) {
      return new Response(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found', detail: `no mock for ${key}` }), {
        status: 404, headers: { 'Content-Type': 'application/problem+json' },
      })
    }
    const status = res.status ?? 200
    return new Response(status === 204 ? null : JSON.stringify(res.body), {
      status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
    })
  })
  vi.stubGlobal('fetch', fetchMock)
  return { fetchMock, calls }
}

export function jwtFor(sub: string, role: string): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '')
  return `${b64({ alg: 'EdDSA' })}.${b64({ sub, role, exp: 2e9 })}.sig`
}

/** signedInSession is a session of the given user, as after sign-in. */
export function signedInSession(sub = 'u1', role = 'employee'): Session {
  const s = new Session({ refresh: async () => { throw new Error('no refresh in tests') }, store: { load: () => null, save: () => {} } })
  s.start({ access_token: jwtFor(sub, role), refresh_token: 'r', token_type: 'Bearer', expires_in: 900 })
  return s
}

export function renderApp(ui: ReactNode, opts: { session?: Session; socket?: LiveSocket; path?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } })
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[opts.path ?? '/']}>
        <AuthProvider session={opts.session ?? signedInSession()}>
          <LiveProvider socket={opts.socket}>{ui}</LiveProvider>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  )
}
