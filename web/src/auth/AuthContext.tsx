import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { authApi } from '../api/endpoints'
import { setTokenSource } from '../api/http'
import type { Role, User } from '../api/types'
import { browserHint, logoutByCookie, refreshByCookie, Session } from './session'

export type AuthStatus = 'loading' | 'signedIn' | 'signedOut'

export interface Auth {
  status: AuthStatus
  user: User | null
  signIn(email: string, password: string): Promise<void>
  signUp(name: string, email: string, password: string): Promise<void>
  signOut(): Promise<void>
  hasRole(...roles: Role[]): boolean
}

const AuthContext = createContext<Auth | null>(null)

/** defaultSession is the app's one session; tests pass their own. */
export const defaultSession = new Session({ refresh: refreshByCookie, store: browserHint })

export function AuthProvider({ children, session = defaultSession }: { children: ReactNode; session?: Session }) {
  const queryClient = useQueryClient()
  const [status, setStatus] = useState<AuthStatus>(session.current() ? 'loading' : session.hasStoredSession() ? 'loading' : 'signedOut')
  const [user, setUser] = useState<User | null>(null)

  useEffect(() => {
    setTokenSource(session)
    return () => setTokenSource(null)
  }, [session])

  useEffect(
    () =>
      session.subscribe((claims) => {
        if (!claims) {
          setUser(null)
          setStatus('signedOut')
          queryClient.clear()
        }
      }),
    [session, queryClient],
  )

  const loadMe = useCallback(async () => {
    const me = await authApi.me()
    setUser(me)
    setStatus('signedIn')
  }, [])

  useEffect(() => {
    let live = true
    if (!session.current() && !session.hasStoredSession()) return
    const resume = session.current() ? Promise.resolve(true) : session.restore()
    resume
      .then((ok) => (ok ? loadMe() : setStatus('signedOut')))
      .catch(() => live && setStatus('signedOut'))
    return () => {
      live = false
    }
  }, [session, loadMe])

  const signIn = useCallback(
    async (email: string, password: string) => {
      const pair = await authApi.login({ email, password })
      session.start(pair)
      await loadMe()
    },
    [session, loadMe],
  )

  const signUp = useCallback(
    async (name: string, email: string, password: string) => {
      await authApi.register({ name, email, password })
      await signIn(email, password)
    },
    [signIn],
  )

  const signOut = useCallback(async () => {
    // Forget the session here at once, then have auth revoke it and clear
    // the HttpOnly cookie (which no script here could).
    session.end()
    await logoutByCookie().catch(() => undefined)
  }, [session])

  const value = useMemo<Auth>(
    () => ({
      status,
      user,
      signIn,
      signUp,
      signOut,
      hasRole: (...roles: Role[]) => !!user && roles.includes(user.role),
    }),
    [status, user, signIn, signUp, signOut],
  )
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>
}

export function useAuth(): Auth {
  const a = useContext(AuthContext)
  if (!a) throw new Error('useAuth outside AuthProvider')
  return a
}
