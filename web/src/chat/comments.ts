import type { Comment } from '../api/types'

/**
 * mergeComments adds incoming comments to a conversation: one entry per ID
 * (a comment seen twice, from the WebSocket and a refetch, appears once),
 * the later edit winning, in the order they were written.
 */
export function mergeComments(existing: readonly Comment[], incoming: readonly Comment[]): Comment[] {
  const byId = new Map<string, Comment>()
  for (const c of existing) byId.set(c.id, c)
  for (const c of incoming) {
    const old = byId.get(c.id)
    byId.set(c.id, old && isNewer(old, c) ? old : c)
  }
  return [...byId.values()].sort(
    (a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
}

/** isNewer reports whether a is a later version of the same comment than b. */
function isNewer(a: Comment, b: Comment): boolean {
  if (a.deleted !== b.deleted) return a.deleted
  const ta = a.edited_at ? Date.parse(a.edited_at) : 0
  const tb = b.edited_at ? Date.parse(b.edited_at) : 0
  return ta > tb
}
