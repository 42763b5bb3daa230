import { useState, type FormEvent } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate } from 'react-router'
import { z } from 'zod'
import { helpdeskApi } from '../api/endpoints'
import { errorMessage } from '../api/http'
import { priorities, type Priority } from '../api/types'
import { uploadAttachment } from '../api/upload'
import { Empty, ErrorText, Loading } from '../ui/Status'
import { FileDrop, type PendingFile } from './FileDrop'
import { useCategories } from './hooks'
import { useTitle } from '../lib/useTitle'

const ticketSchema = z.object({
  category_id: z.string().min(1, 'Choose a category.'),
  priority: z.enum(['low', 'normal', 'high', 'urgent']),
  title: z.string().trim().min(1, 'Give the ticket a title.').max(200, 'Keep the title under 200 characters.'),
  description: z.string().max(64 * 1024, 'The description is too long.'),
})

/** NewTicketPage opens a ticket, then uploads its attachments with progress. */
export function NewTicketPage() {
  useTitle('New ticket')
  const categories = useCategories()
  const navigate = useNavigate()
  const qc = useQueryClient()
  const [form, setForm] = useState({ category_id: '', priority: 'normal' as Priority, title: '', description: '' })
  const [files, setFiles] = useState<PendingFile[]>([])
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [created, setCreated] = useState<string | null>(null)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const parsed = ticketSchema.safeParse(form)
    if (!parsed.success) {
      setErrors(Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message])))
      return
    }
    setErrors({})
    setError(null)
    setBusy(true)
    try {
      const ticket = created ? { id: created } : await helpdeskApi.createTicket(parsed.data)
      setCreated(ticket.id)
      void qc.invalidateQueries({ queryKey: ['tickets'] })
      let failed = false
      for (const f of files) {
        if (f.progress === 1) continue
        const set = (patch: Partial<PendingFile>) => setFiles((all) => all.map((x) => (x.key === f.key ? { ...x, ...patch } : x)))
        set({ progress: 0, error: undefined })
        try {
          await uploadAttachment(ticket.id, f.file, (p) => set({ progress: p })).promise
        } catch (err) {
          failed = true
          set({ error: errorMessage(err) })
        }
      }
      if (failed) {
        setError('The ticket was opened, but some files could not be attached.')
      } else {
        navigate(`/tickets/${ticket.id}`)
      }
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  if (categories.isPending) return <main className="page"><Loading label="Loading categories…" /></main>
  if (categories.isError) return <main className="page"><ErrorText error={categories.error} title="Categories could not be loaded" /></main>
  if (categories.data.length === 0) return <main className="page"><h1>New ticket</h1><Empty>No category is open for tickets yet. Ask an admin to add one.</Empty></main>

  const fieldError = (name: string) =>
    errors[name] && <span id={`${name}-error`} className="field-error">{errors[name]}</span>
  // The error sits inside the <label>, so the field is named by its caption alone
  // (aria-labelledby) and described by the error, not named "Title Give the ticket a title.".
  const invalid = (name: string) => ({
    'aria-labelledby': `${name}-label`,
    'aria-invalid': !!errors[name],
    'aria-describedby': errors[name] ? `${name}-error` : undefined,
  })

  return (
    <main className="page narrow">
      <h1>New ticket</h1>
      <form className="card form" onSubmit={submit} noValidate>
        <div className="row">
          <label>
            <span id="category_id-label">Category</span>
            <select value={form.category_id} onChange={(e) => setForm({ ...form, category_id: e.target.value })} disabled={!!created} {...invalid('category_id')}>
              <option value="">Choose…</option>
              {categories.data.map((c) => (
                <option key={c.id} value={c.id}>{c.name}</option>
              ))}
            </select>
            {fieldError('category_id')}
          </label>
          <label>
            Priority
            <select value={form.priority} onChange={(e) => setForm({ ...form, priority: e.target.value as Priority })} disabled={!!created}>
              {priorities.map((p) => (
                <option key={p} value={p}>{p}</option>
              ))}
            </select>
          </label>
        </div>
        <label>
          <span id="title-label">Title</span>
          <input value={form.title} maxLength={200} onChange={(e) => setForm({ ...form, title: e.target.value })} disabled={!!created} {...invalid('title')} />
          {fieldError('title')}
        </label>
        <label>
          <span id="description-label">Description</span>
          <textarea rows={6} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} disabled={!!created} placeholder="What happened, what did you expect, since when?" {...invalid('description')} />
          {fieldError('description')}
        </label>
        <fieldset>
          <legend>Attachments</legend>
          <FileDrop files={files} onChange={setFiles} disabled={busy} />
        </fieldset>
        {error && <p className="status error" role="alert">{error}</p>}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Sending…' : created ? 'Retry the uploads' : 'Open ticket'}
          </button>
          {created && <Link to={`/tickets/${created}`}>Go to the ticket</Link>}
        </div>
      </form>
    </main>
  )
}
