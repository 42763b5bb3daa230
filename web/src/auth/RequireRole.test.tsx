import { screen } from '@testing-library/react'
import { Route, Routes } from 'react-router'
import { describe, expect, it } from 'vitest'
import { Session } from './session'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { RequireRole } from './RequireRole'

const routes = (
  <Routes>
    <Route path="/signin" element={<p>sign-in page</p>} />
    <Route path="/board" element={<RequireRole roles={['agent', 'admin']}><p>the board</p></RequireRole>} />
  </Routes>
)

describe('RequireRole', () => {
  it('sends a signed-out visitor to sign in', async () => {
    mockApi({})
    const signedOut = new Session({ refresh: async () => { throw new Error('none') }, store: { load: () => null, save: () => {} } })
    renderApp(routes, { session: signedOut, path: '/board' })
    expect(await screen.findByText('sign-in page')).toBeTruthy()
  })

  it('keeps employees off agents’ pages and lets agents in', async () => {
    mockApi({ 'GET /auth/me': () => ({ body: { id: 'u1', email: 'e@x', name: 'E', role: 'employee', active: true } }) })
    const { unmount } = renderApp(routes, { session: signedInSession('u1', 'employee'), path: '/board' })
    expect(await screen.findByText('Not for your role')).toBeTruthy()
    unmount()
    mockApi({ 'GET /auth/me': () => ({ body: { id: 'u2', email: 'a@x', name: 'A', role: 'agent', active: true } }) })
    renderApp(routes, { session: signedInSession('u2', 'agent'), path: '/board' })
    expect(await screen.findByText('the board')).toBeTruthy()
  })
})
