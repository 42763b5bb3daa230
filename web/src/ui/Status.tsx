import type { ReactNode } from 'react'
import { errorMessage } from '../api/http'

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="status loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  )
}

export function ErrorText({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null
  return (
    <div className="status error" role="alert">
      {title && <strong>{title}: </strong>}
      {errorMessage(error)}
    </div>
  )
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="status empty">{children}</p>
}
