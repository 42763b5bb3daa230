import { fireEvent, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { mockApi, renderApp } from '../test/harness'
import { ForgotPasswordPage, newPasswordProblem, ResetPasswordPage } from './PasswordResetPages'

const token = 'q0vq3ZJ6c1yq0n7D3lK3p9wE5bqFh8Rr7t0Xy2Zb1Ac'

function authHeader(fetchMock: ReturnType<typeof mockApi>['fetchMock'], path: string): string | null {
  const call = fetchMock.mock.calls.find(([u]) => String(u).endsWith(path))
  return new Headers((call?.[1] as RequestInit | undefined)?.headers).get('Authorization')
}

describe('newPasswordProblem', () => {
  it('applies the server rules and wants the password twice alike', () => {
    expect(newPasswordProblem('short', 'short')).toMatch(/at least 10/)
    expect(newPasswordProblem('x'.repeat(129), 'x'.repeat(129))).toMatch(/at most 128/)
    expect(newPasswordProblem(' '.repeat(12), ' '.repeat(12))).toMatch(/blank/)
    expect(newPasswordProblem('a long passphrase', 'a long passphrasE')).toMatch(/differ/)
    // Characters, not UTF-16 units: ten emoji are ten characters.
    expect(newPasswordProblem('🔑'.repeat(10), '🔑'.repeat(10))).toBeNull()
    expect(newPasswordProblem('a long passphrase', 'a long passphrase')).toBeNull()
  })
})

describe('ForgotPasswordPage', () => {
  it('sends the trimmed e-mail without a session and says the same whatever the server knows', async () => {
    let sent: unknown
    const { fetchMock } = mockApi({
      'POST /auth/password-reset': (body) => {
        sent = body
        return { status: 202, body: { message: 'If an active account uses this e-mail address, we sent it a link.' } }
      },
    })
    renderApp(<ForgotPasswordPage />, { path: '/forgot-password' })
    fireEvent.change(screen.getByLabelText(/^E-mail/), { target: { value: '  ana@example.com ' } })
    fireEvent.click(screen.getByRole('button', { name: 'Send me a link' }))
    expect((await screen.findByTestId('reset-requested')).textContent).toContain('If an account exists for ana@example.com')
    expect(sent).toEqual({ email: 'ana@example.com' })
    expect(authHeader(fetchMock, '/auth/password-reset')).toBeNull()
  })

  it('refuses a malformed address before asking, and shows the rate limit', async () => {
    const { calls } = mockApi({
      'POST /auth/password-reset': () => ({ status: 429, body: { type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'too many password reset requests, try again later' } }),
    })
    renderApp(<ForgotPasswordPage />, { path: '/forgot-password' })
    fireEvent.change(screen.getByLabelText(/^E-mail/), { target: { value: 'ana' } })
    fireEvent.click(screen.getByRole('button', { name: 'Send me a link' }))
    expect(await screen.findByText(/Enter an e-mail address/)).toBeTruthy()
    expect(calls.filter((c) => c.includes('password-reset'))).toHaveLength(0)
    fireEvent.change(screen.getByLabelText(/^E-mail/), { target: { value: 'ana@example.com' } })
    fireEvent.click(screen.getByRole('button', { name: 'Send me a link' }))
    expect((await screen.findByRole('alert')).textContent).toContain('too many password reset requests')
    expect(screen.queryByTestId('reset-requested')).toBeNull()
  })
})

describe('ResetPasswordPage', () => {
  it('sets the password with the link token, then offers to sign in', async () => {
    let sent: unknown
    const { fetchMock } = mockApi({
      'POST /auth/password-reset/confirm': (body) => {
        sent = body
        return { status: 204 }
      },
    })
    renderApp(<ResetPasswordPage />, { path: `/reset-password?token=${token}` })
    fireEvent.change(screen.getByLabelText(/^New password/), { target: { value: 'a brand new passphrase' } })
    fireEvent.change(screen.getByLabelText('Repeat the new password'), { target: { value: 'a brand new passphrase' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set the new password' }))
    const done = await screen.findByTestId('reset-done')
    expect(done.querySelector('a')?.getAttribute('href')).toBe('/signin')
    expect(sent).toEqual({ token, password: 'a brand new passphrase' })
    expect(authHeader(fetchMock, '/auth/password-reset/confirm')).toBeNull()
  })

  it('checks the passwords before spending the link, and shows why a link fails', async () => {
    const { calls } = mockApi({
      'POST /auth/password-reset/confirm': () => ({
        status: 400, body: { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'this password reset link was already used; ask for a new one' },
      }),
    })
    renderApp(<ResetPasswordPage />, { path: `/reset-password?token=${token}` })
    fireEvent.change(screen.getByLabelText(/^New password/), { target: { value: 'a brand new passphrase' } })
    fireEvent.change(screen.getByLabelText('Repeat the new password'), { target: { value: 'another passphrase' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set the new password' }))
    expect((await screen.findByRole('alert')).textContent).toContain('differ')
    expect(calls.filter((c) => c.includes('password-reset'))).toHaveLength(0)

    fireEvent.change(screen.getByLabelText('Repeat the new password'), { target: { value: 'a brand new passphrase' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set the new password' }))
    expect((await screen.findByRole('alert')).textContent).toContain('already used')
    expect(screen.queryByTestId('reset-done')).toBeNull()
  })

  it('tells that a link without a token is incomplete', () => {
    mockApi({})
    renderApp(<ResetPasswordPage />, { path: '/reset-password' })
    expect(screen.getByRole('alert').textContent).toContain('incomplete')
    expect(screen.queryByRole('button', { name: 'Set the new password' })).toBeNull()
  })
})
