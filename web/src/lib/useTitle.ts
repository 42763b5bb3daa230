import { useEffect } from 'react'

export const appName = 'Ticketflow'

/** pageTitle is the document title of a page called name: "Queue · Ticketflow", or just "Ticketflow". */
export function pageTitle(...parts: (string | undefined | null | false)[]): string {
  return [...parts.filter((p): p is string => !!p && p.trim() !== ''), appName].join(' · ')
}

/**
 * useTitle names the browser tab (and what a screen reader announces on
 * navigation) after the page: useTitle('Queue') gives "Queue · Ticketflow".
 * Leaving the page puts "Ticketflow" back.
 */
export function useTitle(...parts: (string | undefined | null | false)[]) {
  const title = pageTitle(...parts)
  useEffect(() => {
    document.title = title
  }, [title])
  useEffect(() => () => {
    document.title = appName
  }, [])
}
