import { useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { macroApi } from '../api/endpoints'
import type { MacroApplied, TicketMacro } from '../api/types'
import { ErrorText } from '../ui/Status'

/** actionsOf describes what applying a macro does besides posting its text. */
export function actionsOf(m: TicketMacro): string[] {
  const out: string[] = []
  if (m.to_step) out.push(`step → ${m.to_step}`)
  if (m.priority) out.push(`priority → ${m.priority}`)
  return out
}

function appliedText(r: MacroApplied): string {
  const parts: string[] = []
  if (r.step) parts.push(`moved to ${r.step}`)
  if (r.priority) parts.push(`priority set to ${r.priority}`)
  if (r.comment_id) parts.push(r.internal ? 'internal note added' : 'reply sent')
  return parts.length ? `Macro applied: ${parts.join(', ')}.` : 'Macro applied: nothing needed changing.'
}

/**
 * MacroPicker offers the team's canned replies and macros in the reply box:
 * "Insert" puts a canned reply's text, rendered for this ticket, into the
 * composer to edit before sending; "Apply" runs the whole macro (step,
 * priority, reply) in one action, checked by the ticket's workflow.
 */
export function MacroPicker({ ticketId, onInsert }: { ticketId: string; onInsert: (text: string, internal: boolean) => void }) {
  const qc = useQueryClient()
  const macros = useQuery({ queryKey: ['macros', ticketId], queryFn: async () => (await macroApi.forTicket(ticketId)).items, staleTime: 30_000 })
  const [selected, setSelected] = useState('')
  const [done, setDone] = useState<string | null>(null)
  const apply = useMutation({
    mutationFn: (id: string) => macroApi.apply(ticketId, id),
    onSuccess: (r) => {
      setDone(appliedText(r))
      for (const key of [['state', ticketId], ['ticket', ticketId], ['history', ticketId], ['comments', ticketId]]) {
        void qc.invalidateQueries({ queryKey: key })
      }
    },
  })
  if (macros.isPending || macros.isError || macros.data.length === 0) return null
  const m = macros.data.find((x) => x.id === selected)
  const actions = m ? actionsOf(m) : []
  return (
    <div className="macro-picker" data-testid="macro-picker">
      <div className="inline-form">
        <label>
          Canned reply or macro{' '}
          <select value={selected} onChange={(e) => { setSelected(e.target.value); setDone(null); apply.reset() }}>
            <option value="">Choose…</option>
            {macros.data.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}{actionsOf(x).length > 0 ? ' ⚡' : ''}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!m || !m.rendered.trim()} onClick={() => { if (m) { onInsert(m.rendered, m.internal); setDone(null) } }}>
          Insert
        </button>
        <button type="button" className="primary" disabled={!m || apply.isPending}
          onClick={() => { if (m) { setDone(null); apply.mutate(m.id) } }}>
          {apply.isPending ? 'Applying…' : 'Apply macro'}
        </button>
      </div>
      {m && (
        <p className="muted small macro-preview" data-testid="macro-preview">
          {m.internal && <span className="badge internal">Internal note</span>} {actions.length > 0 && <strong>{actions.join(', ')}. </strong>}
          {m.rendered}
        </p>
      )}
      {done && <p className="status" role="status" data-testid="macro-result">{done}</p>}
      <ErrorText error={apply.error} title="The macro was refused" />
    </div>
  )
}
