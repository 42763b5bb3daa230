import { useState } from 'react'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { workflowApi } from '../api/endpoints'
import type { TicketState } from '../api/types'
import { ErrorText } from '../ui/Status'
import { stepName } from './Badges'
import { useAgents } from './hooks'

/** StateControls moves the ticket along its allowed transitions and, for staff, reassigns it. */
export function StateControls({ state, staff }: { state: TicketState; staff: boolean }) {
  const qc = useQueryClient()
  const id = state.ticket_id
  const [note, setNote] = useState('')
  const refresh = (s: TicketState) => {
    qc.setQueryData(['state', id], s)
    // The helpdesk records the change a moment later.
    setTimeout(() => {
      void qc.invalidateQueries({ queryKey: ['ticket', id] })
      void qc.invalidateQueries({ queryKey: ['history', id] })
      void qc.invalidateQueries({ queryKey: ['tickets'] })
      void qc.invalidateQueries({ queryKey: ['board'] })
    }, 800)
  }
  const move = useMutation({
    mutationFn: (to: string) => workflowApi.transition(id, to, note.trim() || undefined),
    onSuccess: (s) => {
      setNote('')
      refresh(s)
    },
  })
  return (
    <div className="controls">
      {state.allowed_transitions.length > 0 ? (
        <>
          <label>
            Note (optional)
            <input value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
          </label>
          <div className="button-row" role="group" aria-label="Move the ticket">
            {state.allowed_transitions.map((to) => (
              <button key={to} type="button" disabled={move.isPending} onClick={() => move.mutate(to)}>
                {actionName(to, state.steps)}
              </button>
            ))}
          </div>
        </>
      ) : (
        <p className="muted">No move is open to you at this step.</p>
      )}
      <ErrorText error={move.error} title="The move was refused" />
      {staff && <AssigneeControl state={state} onDone={refresh} />}
    </div>
  )
}

function actionName(to: string, steps: TicketState['steps']): string {
  switch (to) {
    case 'closed':
      return 'Close'
    case 'resolved':
      return 'Resolve'
    default:
      return `Move to ${stepName(to, steps)}`
  }
}

function AssigneeControl({ state, onDone }: { state: TicketState; onDone: (s: TicketState) => void }) {
  const agents = useAgents()
  const assign = useMutation({
    mutationFn: (agentId: string) => workflowApi.assign(state.ticket_id, agentId),
    onSuccess: onDone,
  })
  return (
    <div className="assignee">
      <label>
        Assignee
        <select
          value={state.assignee_id ?? ''}
          disabled={assign.isPending || agents.isPending || state.status === 'closed'}
          onChange={(e) => e.target.value && assign.mutate(e.target.value)}
        >
          <option value="">{state.waiting_for_agent ? 'Waiting for an available agent' : 'Nobody'}</option>
          {(agents.data ?? []).map((a) => (
            <option key={a.user_id} value={a.user_id}>
              {a.name} ({a.role})
            </option>
          ))}
        </select>
      </label>
      <ErrorText error={assign.error ?? agents.error} title="Reassignment failed" />
    </div>
  )
}
