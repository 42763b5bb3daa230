import type { ReactNode } from 'react'
import { Navigate, useLocation } from 'react-router'
import type { Role } from '../api/types'
import { Loading } from '../ui/Status'
import { useAuth } from './AuthContext'

/** RequireRole shows its children to signed-in users of the given roles. */
export function RequireRole({ roles, children }: { roles?: Role[]; children: ReactNode }) {
  const { status, user } = useAuth()
  const location = useLocation()
  if (status === 'loading') return <Loading label="Signing you in…" />
  if (status === 'signedOut' || !user) {
    return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`} replace />
  }
  if (roles && !roles.includes(user.role)) {
    return (
      <main className="page">
        <h1>Not for your role</h1>
        <p>This page is for {roles.join(' and ')} accounts; you are signed in as {user.role}.</p>
      </main>
    )
  }
  return <>{children}</>
}

/** homeFor is where a role starts. */
export function homeFor(role: Role | undefined): string {
  return role === 'agent' || role === 'admin' ? '/queue' : '/tickets'
}
