import { useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { macroApi, workflowApi } from '../api/endpoints'
import type { Macro, Priority, Team } from '../api/types'
import { Empty, ErrorText, Loading } from '../ui/Status'

const placeholders = ['{{requester.name}}', '{{ticket.id}}', '{{ticket.title}}', '{{agent.name}}']
const priorities: Priority[] = ['low', 'normal', 'high', 'urgent']
/** defaultSteps are offered for a macro's step; a category's own process may have others. */
const defaultSteps = ['triage', 'in_progress', 'waiting_on_requester', 'resolved', 'closed']

interface Draft {
  team_id: string
  name: string
  body: string
  internal: boolean
  to_step: string
  priority: Priority | ''
}

const draftOf = (m: Macro): Draft => ({
  team_id: m.team_id, name: m.name, body: m.body, internal: m.internal, to_step: m.to_step ?? '', priority: m.priority ?? '',
})

/** MacrosAdmin keeps the teams' canned replies and macros: list, create, edit, delete. */
export function MacrosAdmin() {
  const qc = useQueryClient()
  const teams = useQuery({ queryKey: ['teams'], queryFn: async () => (await workflowApi.teams()).items })
  const list = useQuery({ queryKey: ['macros'], queryFn: async () => (await macroApi.list()).items })
  const [editing, setEditing] = useState<string | null>(null)
  const done = () => qc.invalidateQueries({ queryKey: ['macros'] })
  if (teams.isPending || list.isPending) return <Loading />
  if (teams.isError) return <ErrorText error={teams.error} />
  if (list.isError) return <ErrorText error={list.error} />
  const teamName = (id: string) => teams.data.find((t) => t.id === id)?.name ?? 'Unknown team'
  return (
    <section aria-labelledby="macros-title">
      <h2 id="macros-title">Canned replies and macros</h2>
      <p className="muted small">
        A canned reply is text agents insert into the reply box and edit before sending. A macro may also move the ticket to
        a step and set its priority, in one click. Placeholders: {placeholders.map((p) => <code key={p}>{p} </code>)}
      </p>
      {teams.data.length === 0 ? (
        <Empty>Create a team first: canned replies belong to a team.</Empty>
      ) : (
        <MacroForm teams={teams.data} label="New macro" submitLabel="Add macro"
          initial={{ team_id: teams.data[0].id, name: '', body: '', internal: false, to_step: '', priority: '' }}
          save={(d) => macroApi.create(d)} onSaved={() => void done()} resetOnSave />
      )}
      {list.data.length === 0 ? (
        <Empty>No canned reply yet.</Empty>
      ) : (
        <ul className="list" aria-label="Macros">
          {list.data.map((m) => (
            <li key={m.id} className="macro" data-macro={m.name}>
              {editing === m.id ? (
                <MacroForm teams={teams.data} label={`Edit ${m.name}`} submitLabel="Save" initial={draftOf(m)}
                  save={(d) => macroApi.patch(m.id, d)} onSaved={() => { setEditing(null); void done() }}
                  onCancel={() => setEditing(null)} />
              ) : (
                <MacroRow macro={m} team={teamName(m.team_id)} onEdit={() => setEditing(m.id)} onDeleted={() => void done()} />
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

function MacroRow({ macro: m, team, onEdit, onDeleted }: { macro: Macro; team: string; onEdit: () => void; onDeleted: () => void }) {
  const remove = useMutation({ mutationFn: () => macroApi.remove(m.id), onSuccess: onDeleted })
  return (
    <>
      <div style={{ flex: 1 }}>
        <strong>{m.name}</strong> <span className="badge">{team}</span>
        {m.internal && <span className="badge internal">Internal note</span>}
        {m.to_step && <span className="badge">step → {m.to_step}</span>}
        {m.priority && <span className="badge">priority → {m.priority}</span>}
        {m.body && <p className="muted small macro-body" style={{ whiteSpace: 'pre-wrap' }}>{m.body}</p>}
        <ErrorText error={remove.error} title="Not deleted" />
      </div>
      <div className="inline-form">
        <button type="button" onClick={onEdit}>Edit</button>
        <button type="button" className="danger" disabled={remove.isPending}
          onClick={() => { if (window.confirm(`Delete the macro ${m.name}?`)) remove.mutate() }}>Delete</button>
      </div>
    </>
  )
}

function MacroForm({ teams, label, submitLabel, initial, save, onSaved, onCancel, resetOnSave }: {
  teams: Team[]
  label: string
  submitLabel: string
  initial: Draft
  save: (d: Draft) => Promise<Macro>
  onSaved: () => void
  onCancel?: () => void
  resetOnSave?: boolean
}) {
  const [d, setD] = useState<Draft>(initial)
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((prev) => ({ ...prev, [k]: v }))
  const mutation = useMutation({
    mutationFn: () => save({ ...d, name: d.name.trim() }),
    onSuccess: () => { if (resetOnSave) setD({ ...initial, team_id: d.team_id }); onSaved() },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (d.name.trim()) mutation.mutate()
  }
  const id = label.replace(/\W+/g, '-').toLowerCase()
  return (
    <form className="card form" onSubmit={submit} aria-label={label} style={{ flex: 1 }}>
      <div className="row">
        <label>Team
          <select value={d.team_id} onChange={(e) => set('team_id', e.target.value)}>
            {teams.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        <label>Name<input value={d.name} maxLength={100} required onChange={(e) => set('name', e.target.value)} /></label>
        <label>Move to step
          <input value={d.to_step} maxLength={64} list={`${id}-steps`} placeholder="no change" onChange={(e) => set('to_step', e.target.value)} />
          <datalist id={`${id}-steps`}>{defaultSteps.map((s) => <option key={s} value={s} />)}</datalist>
        </label>
        <label>Set priority
          <select value={d.priority} onChange={(e) => set('priority', e.target.value as Priority | '')}>
            <option value="">no change</option>
            {priorities.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
      </div>
      <label>Text
        <textarea value={d.body} rows={4} maxLength={16384} placeholder="Hello {{requester.name}}, …" onChange={(e) => set('body', e.target.value)} />
      </label>
      <label className="check">
        <input type="checkbox" checked={d.internal} onChange={(e) => set('internal', e.target.checked)} /> Post as an internal note
      </label>
      <div className="inline-form">
        <button type="submit" className="primary" disabled={mutation.isPending || !d.name.trim()}>{submitLabel}</button>
        {onCancel && <button type="button" onClick={onCancel}>Cancel</button>}
      </div>
      <ErrorText error={mutation.error} title="The macro was refused" />
    </form>
  )
}
