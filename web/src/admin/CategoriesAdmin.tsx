import { useState, type FormEvent } from 'react'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { helpdeskApi } from '../api/endpoints'
import { useCategories } from '../tickets/hooks'
import { Empty, ErrorText, Loading } from '../ui/Status'

/** CategoriesAdmin adds categories and opens or closes them for new tickets. */
export function CategoriesAdmin() {
  const qc = useQueryClient()
  const categories = useCategories(true)
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const done = () => qc.invalidateQueries({ queryKey: ['categories'] })
  const create = useMutation({ mutationFn: () => helpdeskApi.createCategory({ name: name.trim(), description }), onSuccess: () => { setName(''); setDescription(''); void done() } })
  const toggle = useMutation({ mutationFn: ({ id, active }: { id: string; active: boolean }) => helpdeskApi.patchCategory(id, { active }), onSuccess: done })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (name.trim()) create.mutate()
  }
  return (
    <section aria-labelledby="cat-title">
      <h2 id="cat-title">Categories</h2>
      <form className="card form inline-form" onSubmit={submit}>
        <label>Name<input value={name} maxLength={100} onChange={(e) => setName(e.target.value)} required /></label>
        <label>Description<input value={description} maxLength={2000} onChange={(e) => setDescription(e.target.value)} /></label>
        <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>Add category</button>
      </form>
      <ErrorText error={create.error ?? toggle.error} title="The change was refused" />
      {categories.isPending ? <Loading /> : categories.isError ? <ErrorText error={categories.error} /> : categories.data.length === 0 ? <Empty>No category yet: add the first one above.</Empty> : (
        <ul className="list">
          {categories.data.map((c) => (
            <li key={c.id}>
              <div><strong>{c.name}</strong> {!c.active && <span className="badge">inactive</span>}<br /><span className="muted small">{c.description}</span></div>
              <button type="button" onClick={() => toggle.mutate({ id: c.id, active: !c.active })}>{c.active ? 'Deactivate' : 'Activate'}</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
