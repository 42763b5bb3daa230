import { useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { webhookApi } from '../api/endpoints'
import type { components } from '../api/schema'
import { Empty, ErrorText, Loading } from '../ui/Status'

type Webhook = components['schemas']['Webhook']
type EventType = components['schemas']['WebhookEventType']

/** eventTypes are the events a webhook may subscribe to (api/openapi.yaml's WebhookEventType). */
const eventTypes: EventType[] = [
  'ticket.created', 'ticket.updated', 'ticket.assigned', 'ticket.status_changed',
  'comment.created', 'sla.warning', 'sla.breached', 'user.created', 'user.updated',
]

/** WebhooksAdmin registers webhook endpoints, edits their events, turns them on and off, and shows their delivery logs. */
export function WebhooksAdmin() {
  const qc = useQueryClient()
  const list = useQuery({ queryKey: ['webhooks'], queryFn: () => webhookApi.list() })
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null)
  const [open, setOpen] = useState<string | null>(null)
  const done = () => qc.invalidateQueries({ queryKey: ['webhooks'] })
  const showSecret = (w: Webhook) => { if (w.secret) setSecret({ url: w.url, secret: w.secret }) }
  return (
    <section aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhooks</h2>
      <p className="muted small">
        Each event is POSTed as a CloudEvents envelope, signed in the <code>Ticketflow-Signature</code> header
        (HMAC-SHA256 of <code>t.body</code> with the secret) and retried until the receiver answers 2xx.
        A receiver failing for a day is turned off and the admins are notified.
      </p>
      <NewWebhookForm onCreated={(w) => { showSecret(w); void done() }} />
      {secret && (
        <div className="card" role="status" aria-label="New secret">
          <strong>Signing secret for {secret.url}</strong> — copy it now, it is not shown again:
          <pre className="secret" data-testid="webhook-secret" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>{secret.secret}</pre>
          <button type="button" onClick={() => setSecret(null)}>Done</button>
        </div>
      )}
      {list.isPending ? <Loading /> : list.isError ? <ErrorText error={list.error} /> : list.data.items.length === 0 ? (
        <Empty>No webhook yet: add the first one above.</Empty>
      ) : (
        <ul className="list" aria-label="Webhooks">
          {list.data.items.map((w) => (
            <WebhookItem key={w.id} webhook={w} open={open === w.id} onToggleOpen={() => setOpen(open === w.id ? null : w.id)}
              onChanged={(changed) => { if (changed) showSecret(changed); void done() }} />
          ))}
        </ul>
      )}
    </section>
  )
}

function EventChecks({ value, onChange, name }: { value: string[]; onChange: (v: EventType[]) => void; name: string }) {
  return (
    <fieldset className="checks" style={{ display: 'flex', flexWrap: 'wrap', gap: '0.25rem 1rem', border: '1px solid var(--line)', borderRadius: 6 }}>
      <legend>Events</legend>
      {eventTypes.map((t) => (
        <label key={t} className="check" style={{ display: 'inline-flex', alignItems: 'center', gap: '0.3rem', fontWeight: 400 }}>
          <input type="checkbox" name={name} value={t} checked={value.includes(t)}
            onChange={(e) => onChange(e.target.checked ? [...value, t] as EventType[] : value.filter((v) => v !== t) as EventType[])} />
          {t}
        </label>
      ))}
    </fieldset>
  )
}

function NewWebhookForm({ onCreated }: { onCreated: (w: Webhook) => void }) {
  const [url, setUrl] = useState('')
  const [description, setDescription] = useState('')
  const [types, setTypes] = useState<EventType[]>(['ticket.created'])
  const [secret, setSecret] = useState('')
  const create = useMutation({
    mutationFn: () => webhookApi.create({ url: url.trim(), description, event_types: types, active: true, ...(secret ? { secret } : {}) }),
    onSuccess: (w) => { setUrl(''); setDescription(''); setSecret(''); onCreated(w) },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (url.trim() && types.length > 0) create.mutate()
  }
  return (
    <form className="card form" onSubmit={submit} aria-label="New webhook">
      <div className="row">
        <label>URL<input type="url" value={url} maxLength={2048} placeholder="https://example.com/hooks/ticketflow" onChange={(e) => setUrl(e.target.value)} required /></label>
        <label>Description<input value={description} maxLength={200} onChange={(e) => setDescription(e.target.value)} /></label>
        <label>Secret (optional)<input value={secret} minLength={16} maxLength={256} placeholder="generated when empty" onChange={(e) => setSecret(e.target.value)} /></label>
      </div>
      <EventChecks name="new-event" value={types} onChange={setTypes} />
      <div><button type="submit" className="primary" disabled={create.isPending || !url.trim() || types.length === 0}>Add webhook</button></div>
      <ErrorText error={create.error} title="The webhook was refused" />
    </form>
  )
}

function WebhookItem({ webhook: w, open, onToggleOpen, onChanged }: {
  webhook: Webhook; open: boolean; onToggleOpen: () => void; onChanged: (w: Webhook | null) => void
}) {
  const [types, setTypes] = useState<EventType[]>(w.event_types)
  const patch = useMutation({
    mutationFn: (body: Parameters<typeof webhookApi.patch>[1]) => webhookApi.patch(w.id, body),
    onSuccess: (changed) => onChanged(changed),
  })
  const remove = useMutation({ mutationFn: () => webhookApi.remove(w.id), onSuccess: () => onChanged(null) })
  const dirty = types.slice().sort().join() !== w.event_types.slice().sort().join()
  return (
    <li className="webhook" data-webhook={w.url}>
      <div style={{ flex: 1 }}>
        <strong className="webhook-url">{w.url}</strong>{' '}
        {w.active ? <span className="badge status-open">active</span> : <span className="badge breached">off</span>}
        {w.description && <><br /><span className="muted small">{w.description}</span></>}
        <br /><span className="muted small">{w.event_types.join(', ')}</span>
        {!w.active && w.disabled_reason && <><br /><span className="small field-error">Disabled {w.disabled_at ? new Date(w.disabled_at).toLocaleString() : ''}: {w.disabled_reason}</span></>}
        {open && (
          <div className="form">
            <EventChecks name={`events-${w.id}`} value={types} onChange={setTypes} />
            <div className="inline-form">
              <button type="button" className="primary" disabled={!dirty || types.length === 0 || patch.isPending} onClick={() => patch.mutate({ event_types: types })}>Save events</button>
              <button type="button" onClick={() => patch.mutate({ rotate_secret: true })}>New secret</button>
              <button type="button" className="danger" onClick={() => { if (window.confirm(`Delete the webhook ${w.url} and its delivery log?`)) remove.mutate() }}>Delete</button>
            </div>
            <ErrorText error={patch.error ?? remove.error} title="The change was refused" />
            <DeliveryLog webhookId={w.id} />
          </div>
        )}
      </div>
      <div className="inline-form">
        <button type="button" onClick={() => patch.mutate({ active: !w.active })}>{w.active ? 'Disable' : 'Enable'}</button>
        <button type="button" aria-expanded={open} onClick={onToggleOpen}>{open ? 'Close' : 'Edit & log'}</button>
      </div>
    </li>
  )
}

function DeliveryLog({ webhookId }: { webhookId: string }) {
  const log = useQuery({ queryKey: ['webhooks', webhookId, 'deliveries'], queryFn: () => webhookApi.deliveries(webhookId), refetchInterval: 5000 })
  if (log.isPending) return <Loading label="Loading deliveries…" />
  if (log.isError) return <ErrorText error={log.error} />
  if (log.data.items.length === 0) return <Empty>No delivery yet.</Empty>
  return (
    <table className="tickets deliveries" aria-label="Delivery log">
      <thead>
        <tr><th>Event</th><th>Status</th><th>Attempts</th><th>Last answer</th><th>Time</th><th>Error</th></tr>
      </thead>
      <tbody>
        {log.data.items.map((d) => (
          <tr key={d.id} data-status={d.status}>
            <td><span className="nowrap">{d.event_type}</span><br /><span className="muted small">{d.subject}</span></td>
            <td><span className={`badge ${d.status === 'delivered' ? 'status-open' : d.status === 'pending' ? 'status-pending' : 'breached'}`}>{d.status}</span></td>
            <td>{d.attempts}</td>
            <td>{d.last_status_code ?? '—'}{d.last_response ? <><br /><code className="small">{d.last_response.slice(0, 120)}</code></> : null}</td>
            <td className="nowrap">{d.last_duration_ms != null ? `${d.last_duration_ms} ms` : '—'}<br /><span className="muted small">{d.last_attempt_at ? new Date(d.last_attempt_at).toLocaleString() : ''}</span></td>
            <td className="small">{d.last_error ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
