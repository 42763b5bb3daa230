import { useState, type MouseEvent } from 'react'
import { authApi } from '../api/endpoints'
import { errorMessage } from '../api/http'

/**
 * TemporalLink opens a ticket's workflow run in the Temporal UI (admins
 * only: the workflow service gives the URL to admins alone). The gateway
 * lets a browser into /temporal/ with a session cookie only, so a click
 * first trades the admin's access token for it (POST /auth/temporal-session)
 * and only then leads the new tab to the run. It stays a real link, for
 * screen readers, keyboards and the browser's "copy link".
 */
export function TemporalLink({ href }: { href: string }) {
  const [error, setError] = useState<string | null>(null)

  const open = async (e: MouseEvent<HTMLAnchorElement>) => {
    // auxclick: only the middle button opens a link (not the right one).
    if (e.type === 'auxclick' && e.button !== 1) return
    e.preventDefault()
    setError(null)
    // The tab is opened now, while the click still counts as the person's:
    // a window opened after the await would be a blocked popup.
    const tab = window.open('', '_blank')
    // What rel="noopener" does for a plain link: the run's page gets no
    // handle on this one.
    if (tab) tab.opener = null
    try {
      await authApi.temporalSession()
    } catch (err) {
      tab?.close()
      setError(`The Temporal UI could not be opened: ${errorMessage(err)}`)
      return
    }
    // Popups blocked all the same: go there in this tab.
    if (tab) tab.location.href = href
    else window.location.assign(href)
  }

  return (
    <>
      <a href={href} target="_blank" rel="noopener noreferrer" onClick={open} onAuxClick={open}>
        Open the workflow run in the Temporal UI
      </a>
      {error && (
        <span className="status error" role="alert">
          {' '}
          {error}
        </span>
      )}
    </>
  )
}
