import type { Board } from '../api/types'

/** Moves are cards placed in a column before the server's board shows them there: ticket ID → step. */
export type Moves = Readonly<Record<string, string>>

/** applyMoves shows the board with the pending moves made. */
export function applyMoves(board: Board, moves: Moves): Board {
  if (Object.keys(moves).length === 0) return board
  const all = board.columns.flatMap((c) => c.tickets)
  return {
    ...board,
    columns: board.columns.map((c) => ({
      ...c,
      tickets: all
        .filter((t) => (moves[t.ticket_id] ?? t.step) === c.step)
        .map((t) => (moves[t.ticket_id] ? { ...t, step: c.step } : t)),
    })),
  }
}

/** settleMoves drops the moves the server's board already shows. */
export function settleMoves(board: Board, moves: Moves): Moves {
  const stepOf = new Map(board.columns.flatMap((c) => c.tickets.map((t) => [t.ticket_id, c.step] as const)))
  const left = Object.entries(moves).filter(([id, step]) => stepOf.has(id) && stepOf.get(id) !== step)
  return left.length === Object.keys(moves).length ? moves : Object.fromEntries(left)
}

/** withMove adds a move; withoutMove takes one back (the card snaps back). */
export function withMove(moves: Moves, ticketId: string, step: string): Moves {
  return { ...moves, [ticketId]: step }
}

export function withoutMove(moves: Moves, ticketId: string): Moves {
  const { [ticketId]: _, ...rest } = moves
  return rest
}
