import { useEffect, useState } from 'react'
import {
  DndContext, KeyboardSensor, PointerSensor, useDraggable, useDroppable, useSensor, useSensors, type DragEndEvent,
} from '@dnd-kit/core'
import { Link } from 'react-router'
import { nextDue, workflowApi } from '../api/endpoints'
import { errorMessage } from '../api/http'
import type { Board, BoardColumn, BoardTicket } from '../api/types'
import { relativeTime } from '../lib/time'
import { useNow } from '../lib/useNow'
import { PriorityBadge } from '../tickets/Badges'
import { boardAnnouncements, boardInstructions } from './announcements'
import { applyMoves, settleMoves, withMove, withoutMove, type Moves } from './boardState'

export type Transition = (ticketId: string, to: string) => Promise<unknown>

/**
 * BoardView shows one column per step. Dropping a card on a column asks the
 * workflow for that transition: the card moves at once and snaps back, with
 * the server's reason, when the move is refused.
 */
export function BoardView({ board, onMoved, transition = workflowApi.transition }: { board: Board; onMoved?: () => void; transition?: Transition }) {
  const [moves, setMoves] = useState<Moves>({})
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null)
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 5 } }), useSensor(KeyboardSensor))

  // Forget the moves the server's board now shows.
  useEffect(() => setMoves((m) => settleMoves(board, m)), [board])

  const shown = applyMoves(board, moves)
  const names = Object.fromEntries(board.columns.map((c) => [c.step, c.name]))

  const move = async (t: BoardTicket, to: string) => {
    const from = moves[t.ticket_id] ?? t.step
    if (to === from) return
    setMoves((m) => withMove(m, t.ticket_id, to))
    setMessage(null)
    try {
      await transition(t.ticket_id, to)
      setMessage({ text: `Moved “${t.title}” to ${names[to] ?? to}.`, error: false })
      onMoved?.()
    } catch (err) {
      setMoves((m) => withoutMove(m, t.ticket_id))
      setMessage({ text: `“${t.title}” cannot move to ${names[to] ?? to}: ${errorMessage(err)}`, error: true })
    }
  }

  const onDragEnd = (e: DragEndEvent) => {
    const t = e.active.data.current?.ticket as BoardTicket | undefined
    if (t && e.over) void move(t, String(e.over.id))
  }

  return (
    <>
      <p className={message?.error ? 'status error' : 'status ok'} role={message?.error ? 'alert' : 'status'} aria-live="polite" data-testid="board-message">
        {message?.text}
      </p>
      <DndContext sensors={sensors} onDragEnd={onDragEnd} accessibility={{ announcements: boardAnnouncements(names), screenReaderInstructions: boardInstructions }}>
        <div className="board" data-testid="board">
          {shown.columns.map((c) => (
            <Column key={c.step} column={c} steps={board.columns} onMove={move} />
          ))}
        </div>
      </DndContext>
    </>
  )
}

function Column({ column, steps, onMove }: { column: BoardColumn; steps: BoardColumn[]; onMove: (t: BoardTicket, to: string) => void }) {
  const { setNodeRef, isOver } = useDroppable({ id: column.step })
  return (
    <section ref={setNodeRef} className={`column${isOver ? ' over' : ''}`} aria-labelledby={`col-${column.step}`} data-step={column.step}>
      <h2 id={`col-${column.step}`}>
        {column.name} <span className="count">{column.tickets.length}</span>
      </h2>
      <ul>
        {column.tickets.map((t) => (
          <Card key={t.ticket_id} ticket={t} steps={steps} onMove={onMove} />
        ))}
      </ul>
    </section>
  )
}

// What styles.css gives `.drag-handle a`, now that the title link is outside the handle.
const titleStyle = { fontWeight: 600, textDecoration: 'none', color: 'var(--text)', display: 'block', marginBottom: '0.35rem' } as const

function Card({ ticket, steps, onMove }: { ticket: BoardTicket; steps: BoardColumn[]; onMove: (t: BoardTicket, to: string) => void }) {
  const now = useNow(30_000)
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, isDragging } = useDraggable({ id: ticket.ticket_id, data: { ticket } })
  const style = transform ? { transform: `translate3d(${transform.x}px, ${transform.y}px, 0)` } : undefined
  const due = nextDue(ticket)
  const late = ticket.sla_breached || (due !== null && Date.parse(due) < now)
  return (
    <li ref={setNodeRef} style={style} className={`board-card${isDragging ? ' dragging' : ''}${late ? ' late' : ''}`} data-ticket-id={ticket.ticket_id}>
      {/* The link sits outside the drag handle: a role=button must not hold another interactive element.
          The handle is the activator, so a keyboard drop gives the focus back to it. */}
      <Link to={`/tickets/${ticket.ticket_id}`} className="card-title" style={titleStyle}>{ticket.title}</Link>
      <div ref={setActivatorNodeRef} className="drag-handle" {...listeners} {...attributes} aria-label={`Drag “${ticket.title}”`} aria-roledescription="draggable ticket">
        <div className="card-meta">
          <span aria-hidden="true" className="grip">⠿</span>
          <PriorityBadge priority={ticket.priority} />
          {ticket.sla_breached ? <span className="badge breached">SLA breached</span> : due && <span className="small">due {relativeTime(due, now)}</span>}
          {!ticket.assignee_id && <span className="small muted">unassigned</span>}
        </div>
      </div>
      <label className="move-to">
        <span className="visually-hidden">Move “{ticket.title}” to</span>
        <select value="" onChange={(e) => e.target.value && onMove(ticket, e.target.value)}>
          <option value="">Move to…</option>
          {steps.filter((s) => s.step !== ticket.step).map((s) => (
            <option key={s.step} value={s.step}>{s.name}</option>
          ))}
        </select>
      </label>
    </li>
  )
}
