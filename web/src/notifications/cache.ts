import type { Notification, NotificationList } from '../api/types'

/** addNotification puts a live notification at the top, counting it once. */
export function addNotification(old: NotificationList | undefined, n: Notification): NotificationList {
  const list = old ?? { items: [], unread_count: 0 }
  if (list.items.some((x) => x.id === n.id)) return list
  return { ...list, items: [n, ...list.items], unread_count: list.unread_count + (n.read_at ? 0 : 1) }
}

/** markRead marks one notification read before the server confirms. */
export function markRead(old: NotificationList | undefined, id: string): NotificationList | undefined {
  if (!old) return old
  const target = old.items.find((x) => x.id === id)
  if (!target || target.read_at) return old
  return {
    ...old,
    items: old.items.map((x) => (x.id === id ? { ...x, read_at: new Date().toISOString() } : x)),
    unread_count: Math.max(0, old.unread_count - 1),
  }
}
