import type { Active, Announcements, Over, ScreenReaderInstructions } from '@dnd-kit/core'
import type { BoardTicket } from '../api/types'

/** What a screen reader hears when a card's drag handle gets the focus. */
export const boardInstructions: ScreenReaderInstructions = {
  draggable:
    'To move this ticket to another column, press Space or Enter to pick it up, ' +
    'the Left and Right arrow keys to carry it over a column, Space or Enter to drop it there, and Escape to cancel. ' +
    'The Move to list under the card does the same.',
}

/**
 * boardAnnouncements says, in words, what happens to a card while it is
 * dragged: its ticket's title and the columns' names (names: step → name),
 * never the IDs that dnd-kit would read out. Whether the workflow accepts a
 * drop is said afterwards by the board's own status message.
 */
export function boardAnnouncements(names: Record<string, string>): Announcements {
  const title = (active: Active) => {
    const t = active.data.current?.ticket as BoardTicket | undefined
    return t ? `“${t.title}”` : 'The ticket'
  }
  const column = (step: string | undefined) => (step ? names[step] ?? step : 'its column')
  const from = (active: Active) => column((active.data.current?.ticket as BoardTicket | undefined)?.step)
  const target = (over: Over | null) => (over ? column(String(over.id)) : null)
  return {
    onDragStart: ({ active }) => `Picked up ${title(active)} from ${from(active)}.`,
    onDragOver: ({ active, over }) => {
      const to = target(over)
      if (!to) return `${title(active)} is no longer over a column.`
      return to === from(active) ? `${title(active)} is over ${to}, its own column.` : `${title(active)} is over ${to}.`
    },
    onDragEnd: ({ active, over }) => {
      const to = target(over)
      if (!to) return `${title(active)} was dropped outside the columns: it stays in ${from(active)}.`
      return to === from(active) ? `${title(active)} was dropped back in ${to}.` : `${title(active)} was dropped on ${to}.`
    },
    onDragCancel: ({ active }) => `Moving ${title(active)} was cancelled: it stays in ${from(active)}.`,
  }
}
