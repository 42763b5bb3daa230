// Saved views of the agents' queue, kept in this browser's localStorage
// (they hold filters only, nothing secret).

export interface QueueFilters {
  view: 'mine' | 'team' | 'unassigned' | 'all' | 'breaching'
  status: string
  priority: string
  category_id: string
  q: string
}

export interface SavedView {
  name: string
  filters: QueueFilters
}

export const defaultFilters: QueueFilters = { view: 'mine', status: '', priority: '', category_id: '', q: '' }

const key = (userId: string) => `ticketflow.views.${userId}`

export function loadViews(userId: string, storage: Storage = localStorage): SavedView[] {
  try {
    const raw = JSON.parse(storage.getItem(key(userId)) ?? '[]')
    if (!Array.isArray(raw)) return []
    return raw
      .filter((v) => v && typeof v.name === 'string' && v.filters && typeof v.filters === 'object')
      .map((v) => ({ name: v.name, filters: { ...defaultFilters, ...v.filters } }))
  } catch {
    return []
  }
}

/** saveView adds or replaces the view of that name and returns the new list. */
export function saveView(userId: string, view: SavedView, storage: Storage = localStorage): SavedView[] {
  const views = [...loadViews(userId, storage).filter((v) => v.name !== view.name), view]
  storage.setItem(key(userId), JSON.stringify(views))
  return views
}

export function deleteView(userId: string, name: string, storage: Storage = localStorage): SavedView[] {
  const views = loadViews(userId, storage).filter((v) => v.name !== name)
  storage.setItem(key(userId), JSON.stringify(views))
  return views
}
