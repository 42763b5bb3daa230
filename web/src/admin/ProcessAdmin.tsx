import { useEffect, useId, useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { workflowApi } from '../api/endpoints'
import type { Definition, Step, Transition } from '../api/types'
import { useCategories } from '../tickets/hooks'
import { Empty, ErrorText, Loading } from '../ui/Status'
import { ProcessDiagram } from './ProcessDiagram'

const stepStatuses = ['new', 'open', 'pending', 'resolved', 'closed'] as const
const moveRoles = ['requester', 'agent', 'admin'] as const

/** ProcessAdmin edits a category's process: its team, steps and moves, with a diagram. */
export function ProcessAdmin() {
  const categories = useCategories(true)
  const [categoryId, setCategoryId] = useState('')
  useEffect(() => {
    if (!categoryId && categories.data?.length) setCategoryId(categories.data[0].id)
  }, [categoryId, categories.data])
  if (categories.isPending) return <Loading />
  if (categories.isError) return <ErrorText error={categories.error} />
  if (categories.data.length === 0) return <Empty>Add a category first: each category has its process.</Empty>
  return (
    <section aria-labelledby="proc-title">
      <h2 id="proc-title">Process definitions</h2>
      <label className="inline">
        Category
        <select value={categoryId} onChange={(e) => setCategoryId(e.target.value)}>
          {categories.data.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </label>
      {categoryId && <DefinitionEditor key={categoryId} categoryId={categoryId} />}
    </section>
  )
}

function DefinitionEditor({ categoryId }: { categoryId: string }) {
  const qc = useQueryClient()
  const loaded = useQuery({ queryKey: ['definition', categoryId], queryFn: () => workflowApi.definition(categoryId) })
  const teams = useQuery({ queryKey: ['teams'], queryFn: async () => (await workflowApi.teams()).items })
  const [def, setDef] = useState<Definition | null>(null)
  const ids = useId()
  useEffect(() => {
    if (loaded.data) setDef(loaded.data)
  }, [loaded.data])
  const save = useMutation({
    mutationFn: (d: Definition) => workflowApi.saveDefinition(categoryId, d),
    onSuccess: (d) => {
      qc.setQueryData(['definition', categoryId], d)
      void qc.invalidateQueries({ queryKey: ['board'] })
    },
  })
  if (loaded.isPending || !def) return <Loading />
  if (loaded.isError) return <ErrorText error={loaded.error} />

  const setStep = (i: number, patch: Partial<Step>) => setDef({ ...def, steps: def.steps.map((s, j) => (j === i ? { ...s, ...patch } : s)) })
  const setMove = (i: number, patch: Partial<Transition>) => setDef({ ...def, transitions: def.transitions.map((t, j) => (j === i ? { ...t, ...patch } : t)) })
  const swap = (i: number, j: number) => {
    const steps = [...def.steps]
    ;[steps[i], steps[j]] = [steps[j], steps[i]]
    setDef({ ...def, steps })
  }
  const keys = def.steps.map((s) => s.key)

  return (
    <div className="process">
      <p className="muted">
        Version {def.version}{def.version === 0 ? ' (the built-in default)' : ''}. Changes apply to tickets opened afterwards.
      </p>
      <div className="diagram-wrap"><ProcessDiagram steps={def.steps} transitions={def.transitions} /></div>
      <div className="row">
        <label>
          Team
          <select value={def.team_id ?? ''} onChange={(e) => setDef({ ...def, team_id: e.target.value || undefined })}>
            <option value="">None: tickets wait unassigned in triage</option>
            {(teams.data ?? []).map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        <label>
          Escalation team
          <select value={def.escalation_team_id ?? ''} onChange={(e) => setDef({ ...def, escalation_team_id: e.target.value || undefined })}>
            <option value="">None: breached tickets stay with their team</option>
            {(teams.data ?? []).map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        <label>
          At the first SLA breach
          <select value={def.escalation ?? 'team_lead'} onChange={(e) => setDef({ ...def, escalation: e.target.value as Definition['escalation'] })}>
            <option value="team_lead">Raise the priority; give the ticket to the team lead, else to the escalation team</option>
            <option value="team">Raise the priority; give the ticket to the escalation team</option>
            <option value="none">Raise the priority; keep the team and agent</option>
          </select>
        </label>
      </div>
      <h3 id={`${ids}-steps`}>Steps</h3>
      {/* Wider than a phone: the table scrolls on its own, not the page. A focusable region, so keyboards can scroll it too. */}
      <div className="table-scroll" role="region" aria-labelledby={`${ids}-steps`} tabIndex={0}>
        <table className="editor">
          <thead><tr><th scope="col">Key</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Terminal</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {def.steps.map((s, i) => (
              <tr key={i}>
                <td><input aria-label={`Key of step ${i + 1}`} value={s.key} onChange={(e) => setStep(i, { key: e.target.value })} /></td>
                <td><input aria-label={`Name of step ${i + 1}`} value={s.name} onChange={(e) => setStep(i, { name: e.target.value })} /></td>
                <td>
                  <select aria-label={`Status of step ${i + 1}`} value={s.status ?? ''} onChange={(e) => setStep(i, { status: (e.target.value || undefined) as Step['status'] })}>
                    <option value="">default</option>
                    {stepStatuses.map((x) => <option key={x} value={x}>{x}</option>)}
                  </select>
                </td>
                <td><input type="checkbox" aria-label={`Step ${i + 1} is terminal`} checked={s.terminal} onChange={(e) => setStep(i, { terminal: e.target.checked })} /></td>
                <td className="nowrap">
                  <button type="button" className="link" disabled={i === 0} aria-label={`Move step ${i + 1} up`} onClick={() => swap(i, i - 1)}>↑</button>
                  <button type="button" className="link" disabled={i === def.steps.length - 1} aria-label={`Move step ${i + 1} down`} onClick={() => swap(i, i + 1)}>↓</button>
                  <button type="button" className="link danger" aria-label={`Remove step ${i + 1}`} onClick={() => setDef({ ...def, steps: def.steps.filter((_, j) => j !== i) })}>Remove</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" onClick={() => setDef({ ...def, steps: [...def.steps, { key: `step_${def.steps.length + 1}`, name: 'New step', terminal: false }] })}>Add step</button>
      <h3 id={`${ids}-moves`}>Moves</h3>
      <div className="table-scroll" role="region" aria-labelledby={`${ids}-moves`} tabIndex={0}>
        <table className="editor">
          <thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Who may</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {def.transitions.map((t, i) => (
              <tr key={i}>
                <td><select aria-label={`From of move ${i + 1}`} value={t.from} onChange={(e) => setMove(i, { from: e.target.value })}>{keys.map((k) => <option key={k}>{k}</option>)}{!keys.includes(t.from) && <option>{t.from}</option>}</select></td>
                <td><select aria-label={`To of move ${i + 1}`} value={t.to} onChange={(e) => setMove(i, { to: e.target.value })}>{keys.map((k) => <option key={k}>{k}</option>)}{!keys.includes(t.to) && <option>{t.to}</option>}</select></td>
                <td className="nowrap">
                  {moveRoles.map((r) => (
                    <label key={r} className="check">
                      <input type="checkbox" aria-label={`${r} may make move ${i + 1}`} checked={t.roles.includes(r)} onChange={(e) => setMove(i, { roles: e.target.checked ? [...t.roles, r] : t.roles.filter((x) => x !== r) })} /> {r}
                    </label>
                  ))}
                </td>
                <td><button type="button" className="link danger" aria-label={`Remove move ${i + 1}`} onClick={() => setDef({ ...def, transitions: def.transitions.filter((_, j) => j !== i) })}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" onClick={() => setDef({ ...def, transitions: [...def.transitions, { from: keys[0] ?? '', to: keys[1] ?? keys[0] ?? '', roles: ['agent', 'admin'] }] })}>Add move</button>
      <ErrorText error={save.error} title="Not saved" />
      {save.isSuccess && !save.isPending && <p className="status ok" role="status">Saved as version {save.data.version}.</p>}
      <div className="actions">
        <button type="button" className="primary" disabled={save.isPending} onClick={() => save.mutate(def)}>Save process</button>
        <button type="button" onClick={() => setDef(loaded.data)}>Undo changes</button>
      </div>
    </div>
  )
}
