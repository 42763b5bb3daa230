import type { Priority } from '../api/types'

const statusText: Record<string, string> = {
  new: 'New',
  open: 'Open',
  pending: 'Waiting on you',
  resolved: 'Resolved',
  closed: 'Closed',
}

export function StatusBadge({ status, staff }: { status: string; staff?: boolean }) {
  const text = staff && status === 'pending' ? 'Waiting on requester' : statusText[status] ?? status
  return <span className={`badge status-${status}`}>{text}</span>
}

export function PriorityBadge({ priority }: { priority: Priority | string }) {
  return <span className={`badge priority-${priority}`}>{priority}</span>
}

/** stepName turns a step key into words when its name is not at hand. */
export function stepName(key: string, steps?: { key: string; name: string }[] | null): string {
  const s = steps?.find((x) => x.key === key)
  if (s) return s.name
  const words = key.replace(/_/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}
