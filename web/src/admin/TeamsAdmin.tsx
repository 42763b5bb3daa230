import { useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { workflowApi } from '../api/endpoints'
import type { Member, Team, TeamStrategy } from '../api/types'
import { useAgents } from '../tickets/hooks'
import { Empty, ErrorText, Loading } from '../ui/Status'

/** TeamsAdmin creates teams and manages their members, lead, availability, capacity and assignment strategy. */
export function TeamsAdmin() {
  const qc = useQueryClient()
  const teams = useQuery({ queryKey: ['teams'], queryFn: async () => (await workflowApi.teams()).items })
  const [name, setName] = useState('')
  const create = useMutation({ mutationFn: () => workflowApi.createTeam(name.trim()), onSuccess: () => { setName(''); void qc.invalidateQueries({ queryKey: ['teams'] }) } })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (name.trim()) create.mutate()
  }
  return (
    <section aria-labelledby="teams-title">
      <h2 id="teams-title">Teams and members</h2>
      <form className="card form inline-form" onSubmit={submit}>
        <label>New team<input value={name} onChange={(e) => setName(e.target.value)} required /></label>
        <button type="submit" className="primary" disabled={!name.trim() || create.isPending}>Create team</button>
      </form>
      <ErrorText error={create.error} title="The team was not created" />
      {teams.isPending ? <Loading /> : teams.isError ? <ErrorText error={teams.error} /> : teams.data.length === 0 ? <Empty>No team yet.</Empty> : (
        <div className="cards">
          {teams.data.map((t) => <TeamCard key={t.id} team={t} />)}
        </div>
      )}
    </section>
  )
}

function TeamCard({ team }: { team: Team }) {
  const qc = useQueryClient()
  const agents = useAgents()
  const [pick, setPick] = useState('')
  const done = () => qc.invalidateQueries({ queryKey: ['teams'] })
  const put = useMutation({ mutationFn: ({ user, available }: { user: string; available: boolean }) => workflowApi.putMember(team.id, user, available), onSuccess: done })
  const remove = useMutation({ mutationFn: (user: string) => workflowApi.removeMember(team.id, user), onSuccess: done })
  const strategy = useMutation({ mutationFn: (s: TeamStrategy) => workflowApi.patchTeam(team.id, { strategy: s }), onSuccess: done })
  // The lead is one of the members (the API refuses anyone else); null removes it.
  const lead = useMutation({
    mutationFn: (leadId: string | null) => workflowApi.patchTeam(team.id, { lead_id: leadId }),
    onSuccess: done,
  })
  const candidates = (agents.data ?? []).filter((a) => !team.members.some((m) => m.user_id === a.user_id))
  return (
    <article className="card" aria-labelledby={`team-${team.id}`}>
      <h3 id={`team-${team.id}`}>{team.name}</h3>
      <label>
        New tickets go to
        <select aria-label={`Strategy of ${team.name}`} value={team.strategy} disabled={strategy.isPending}
          onChange={(e) => strategy.mutate(e.target.value as TeamStrategy)}>
          <option value="round_robin">each member in turn (round robin)</option>
          <option value="fewest_open">the member with the fewest open tickets</option>
        </select>
      </label>
      <label>
        Team lead
        <select aria-label={`Lead of ${team.name}`} value={team.lead_id ?? ''} disabled={lead.isPending || team.members.length === 0}
          onChange={(e) => lead.mutate(e.target.value || null)}>
          <option value="">No lead</option>
          {team.members.map((m) => (
            <option key={m.user_id} value={m.user_id} disabled={!m.assignable && m.user_id !== team.lead_id}>{m.name || m.user_id}</option>
          ))}
        </select>
      </label>
      {team.members.length === 0 ? <p className="muted">No members: its tickets wait unassigned.</p> : (
        <ul className="list">
          {team.members.map((m) => (
            <li key={m.user_id}>
              <span>{m.name || m.user_id} {m.user_id === team.lead_id && <span className="badge">lead</span>} {!m.assignable && <span className="badge">not assignable</span>}</span>
              <span>
                <label className="check"><input type="checkbox" aria-label={`${m.name || m.user_id} is available in ${team.name}`} checked={m.available} onChange={(e) => put.mutate({ user: m.user_id, available: e.target.checked })} /> available</label>{' '}
                <CapacityField key={`${m.user_id}-${m.capacity ?? "none"}`} team={team} member={m} />{' '}
                <button type="button" className="link danger" aria-label={`Remove ${m.name || m.user_id} from ${team.name}`} onClick={() => remove.mutate(m.user_id)}>Remove</button>
              </span>
            </li>
          ))}
        </ul>
      )}
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); if (pick) put.mutate({ user: pick, available: true }, { onSuccess: () => setPick('') }) }}>
        <label>
          Add an agent
          <select value={pick} onChange={(e) => setPick(e.target.value)}>
            <option value="">Choose…</option>
            {candidates.map((a) => <option key={a.user_id} value={a.user_id}>{a.name} ({a.email})</option>)}
          </select>
        </label>
        <button type="submit" disabled={!pick}>Add</button>
      </form>
      <ErrorText error={put.error ?? remove.error ?? strategy.error ?? lead.error} title="The change was refused" />
      <DeleteTeam team={team} />
    </article>
  )
}

/**
 * DeleteTeam deletes a team after a confirmation. The server keeps a team a
 * process or a ticket still needs (409) and says what needs it: that reason
 * is shown as it came.
 */
function DeleteTeam({ team }: { team: Team }) {
  const qc = useQueryClient()
  const [confirming, setConfirming] = useState(false)
  const del = useMutation({
    mutationFn: () => workflowApi.deleteTeam(team.id),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['teams'] }),
    onSettled: () => setConfirming(false),
  })
  return (
    <div className="team-delete">
      {confirming ? (
        <p role="group" aria-label={`Confirm deleting ${team.name}`}>
          Delete {team.name} and its {team.members.length === 1 ? '1 member' : `${team.members.length} members`}?{' '}
          <button type="button" className="danger" disabled={del.isPending} onClick={() => del.mutate()}>Yes, delete {team.name}</button>{' '}
          <button type="button" disabled={del.isPending} onClick={() => setConfirming(false)}>Cancel</button>
        </p>
      ) : (
        <button type="button" className="link danger" aria-label={`Delete team ${team.name}`} onClick={() => { del.reset(); setConfirming(true) }}>Delete team</button>
      )}
      <ErrorText error={del.error} title="The team was not deleted" />
    </div>
  )
}

/** CapacityField shows a member's open tickets and edits their capacity (empty: no limit). */
function CapacityField({ team, member }: { team: Team; member: Member }) {
  const qc = useQueryClient()
  const current = member.capacity == null ? '' : String(member.capacity)
  const [value, setValue] = useState(current)
  const save = useMutation({
    mutationFn: (capacity: number | null) => workflowApi.putMember(team.id, member.user_id, member.available, capacity),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['teams'] }),
  })
  const submit = () => {
    const v = value.trim()
    if (v === current) return
    save.mutate(v === '' ? null : Number(v))
  }
  return (
    <span className="capacity">
      <span className="small" data-testid={`open-${member.user_id}`}>{member.open_tickets} open</span>{' '}
      <label className="small">
        capacity
        <input type="number" min={1} max={10000} step={1} placeholder="no limit" style={{ width: '6em' }}
          aria-label={`Capacity of ${member.name} in ${team.name}`} value={value}
          onChange={(e) => setValue(e.target.value)}
          onBlur={submit} onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); submit() } }} />
      </label>
      {save.isError && <ErrorText error={save.error} title="Capacity refused" />}
    </span>
  )
}
