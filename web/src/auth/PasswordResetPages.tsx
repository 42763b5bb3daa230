import { useState, type FormEvent } from 'react'
import { useMutation } from '@tanstack/react-query'
import { Link, useSearchParams } from 'react-router'
import { z } from 'zod'
import { authApi } from '../api/endpoints'
import { ErrorText } from '../ui/Status'
import { useTitle } from '../lib/useTitle'

const emailSchema = z.string().trim().email('Enter an e-mail address such as ana@example.com.')

/**
 * newPasswordProblem checks a new password and its repetition the way the
 * server will (10 to 128 characters, not blank), and returns what is
 * wrong, or null.
 */
export function newPasswordProblem(password: string, repeated: string): string | null {
  const n = [...password].length
  if (n < 10) return 'Use at least 10 characters for the password.'
  if (n > 128) return 'Use at most 128 characters for the password.'
  if (password.trim() === '') return 'The password must not be blank.'
  if (password !== repeated) return 'The two passwords differ.'
  return null
}

/**
 * ForgotPasswordPage asks for the e-mail to send a reset link to. The
 * answer is the same whether or not an account uses the address: the
 * server does not tell, and neither does the page.
 */
export function ForgotPasswordPage() {
  useTitle('Forgot your password?')
  const [email, setEmail] = useState('')
  const [invalid, setInvalid] = useState<string | null>(null)
  const send = useMutation({ mutationFn: (address: string) => authApi.requestPasswordReset(address) })

  const submit = (e: FormEvent) => {
    e.preventDefault()
    const parsed = emailSchema.safeParse(email)
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0].message)
      return
    }
    setInvalid(null)
    send.mutate(parsed.data)
  }

  return (
    <main className="auth-page">
      {send.isSuccess ? (
        <div className="card auth-card" data-testid="reset-requested">
          <h1>Check your e-mail</h1>
          <p>If an account exists for {email.trim()}, we sent it a link to choose a new password. The link works once, for a limited time.</p>
          <p><Link to="/signin">Back to sign in</Link></p>
        </div>
      ) : (
        <form className="card auth-card" onSubmit={submit} noValidate aria-labelledby="forgot-title">
          <h1 id="forgot-title">Forgot your password?</h1>
          <p>Enter the e-mail address of your account, and we will send you a link to choose a new password.</p>
          <label>
            E-mail
            <input
              type="email"
              autoComplete="username"
              value={email}
              aria-invalid={!!invalid}
              aria-describedby={invalid ? 'forgot-email-error' : undefined}
              onChange={(e) => setEmail(e.target.value)}
            />
            {invalid && <span id="forgot-email-error" className="field-error">{invalid}</span>}
          </label>
          <ErrorText error={send.error} title="The link was not sent" />
          <button type="submit" className="primary" disabled={send.isPending}>
            {send.isPending ? 'Sending…' : 'Send me a link'}
          </button>
          <p><Link to="/signin">Back to sign in</Link></p>
        </form>
      )}
    </main>
  )
}

/**
 * ResetPasswordPage is where a reset e-mail's link leads: it sets the new
 * password with the link's token, which it spends. Opening the page spends
 * nothing, so mail scanners that follow links cannot use it up.
 */
export function ResetPasswordPage() {
  useTitle('Choose a new password')
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const [password, setPassword] = useState('')
  const [repeated, setRepeated] = useState('')
  const [invalid, setInvalid] = useState<string | null>(null)
  const save = useMutation({ mutationFn: () => authApi.confirmPasswordReset(token, password) })

  const submit = (e: FormEvent) => {
    e.preventDefault()
    const problem = newPasswordProblem(password, repeated)
    setInvalid(problem)
    if (!problem) save.mutate()
  }

  return (
    <main className="auth-page">
      {!token ? (
        <div className="card auth-card">
          <h1>Choose a new password</h1>
          <p className="status error" role="alert">This link is incomplete: open it from the e-mail again.</p>
          <p><Link to="/forgot-password">Ask for a new link</Link></p>
        </div>
      ) : save.isSuccess ? (
        <div className="card auth-card" data-testid="reset-done">
          <h1>Your password is set</h1>
          <p>You were signed out everywhere else. Sign in with your new password.</p>
          <p><Link to="/signin" className="button primary">Sign in</Link></p>
        </div>
      ) : (
        <form className="card auth-card" onSubmit={submit} noValidate aria-labelledby="reset-title">
          <h1 id="reset-title">Choose a new password</h1>
          <label>
            New password (at least 10 characters)
            <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <label>
            Repeat the new password
            <input type="password" autoComplete="new-password" value={repeated} onChange={(e) => setRepeated(e.target.value)} />
          </label>
          {invalid && <p className="field-error" role="alert">{invalid}</p>}
          <ErrorText error={save.error} title="The password was not changed" />
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Set the new password'}
          </button>
          <p><Link to="/forgot-password">Ask for a new link</Link></p>
        </form>
      )}
    </main>
  )
}
