import { useRef, useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { mailInApi } from '../api/endpoints'
import { useCategories } from '../tickets/hooks'
import { Empty, ErrorText, Loading } from '../ui/Status'
import { DEFAULT_ADDRESS, addressLabel, hasDefault, mappingRows, normalizeAddress, selectableCategories, type MappingRow } from './mailAddresses'

const queryKey = ['inbound-addresses']

/** MailAddressesAdmin maps receiving addresses of e-mail in to the category of the tickets their mail opens. */
export function MailAddressesAdmin() {
  const qc = useQueryClient()
  const list = useQuery({ queryKey, queryFn: async () => (await mailInApi.addresses()).items })
  const categories = useCategories(true)
  const [address, setAddress] = useState('')
  const [categoryId, setCategoryId] = useState('')
  const addressInput = useRef<HTMLInputElement>(null)
  const done = () => qc.invalidateQueries({ queryKey })
  const save = useMutation({
    mutationFn: (v: { address: string; categoryId: string }) => mailInApi.put(v.address, v.categoryId),
    onSuccess: () => { setAddress(''); setCategoryId(''); void done() },
  })
  const remove = useMutation({ mutationFn: (a: string) => mailInApi.remove(a), onSuccess: () => { void done() } })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const a = normalizeAddress(address)
    if (a && categoryId) save.mutate({ address: a, categoryId })
  }
  const change = (address: string, categoryId: string) => {
    setAddress(address)
    setCategoryId(categoryId)
    save.reset()
    addressInput.current?.focus()
  }
  const del = (r: MappingRow) => {
    const after = r.address === DEFAULT_ADDRESS ? 'Mail to other addresses then opens tickets in the oldest active category.' : 'Its mail then follows the default.'
    if (window.confirm(`Delete the mapping of ${r.label} → ${r.categoryName}? ${after}`)) remove.mutate(r.address)
  }
  const allCategories = categories.data ?? []
  const options = selectableCategories(allCategories, categoryId)
  return (
    <section aria-labelledby="mailin-title">
      <h2 id="mailin-title">Incoming mail</h2>
      <p className="muted small">
        A new e-mail opens a ticket in the category of the address it was sent to; mail to any other address
        goes to the default (<code>*</code>), else to the oldest active category. Replies stay with their ticket.
      </p>
      <form className="card inline-form" onSubmit={submit} aria-label="Map an address">
        <label style={{ flex: '1 1 260px' }}>Receiving address
          <input ref={addressInput} value={address} maxLength={254} placeholder="support@example.com, or * for any other" onChange={(e) => setAddress(e.target.value)} required />
        </label>
        <label>Category
          <select value={categoryId} onChange={(e) => setCategoryId(e.target.value)} required disabled={categories.isPending}>
            <option value="">Choose a category…</option>
            {options.map((c) => <option key={c.id} value={c.id}>{c.name}{c.active ? '' : ' (inactive)'}</option>)}
          </select>
        </label>
        <button type="submit" className="primary" disabled={save.isPending || !normalizeAddress(address) || !categoryId}>Save mapping</button>
      </form>
      <ErrorText error={save.error} title="The mapping was refused" />
      <ErrorText error={remove.error} title="The mapping could not be deleted" />
      <ErrorText error={categories.error} title="The categories could not be loaded" />
      {list.isPending ? <Loading /> : list.isError ? <ErrorText error={list.error} /> : list.data.length === 0 ? (
        <Empty>No address is mapped yet.</Empty>
      ) : (
        <ul className="list" aria-label="Mappings">
          {mappingRows(list.data, allCategories).map((r) => (
            <li key={r.address} data-address={r.address}>
              <div>
                <strong>{r.label}</strong> → <span className="mapping-category">{r.categoryName}</span>
                {r.inactive && <> <span className="badge">inactive</span></>}
              </div>
              <div className="inline-form">
                <button type="button" onClick={() => change(r.address, r.unknown ? '' : r.categoryId)}>Change</button>
                <button type="button" className="danger" disabled={remove.isPending} onClick={() => del(r)}>Delete</button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {list.isSuccess && !hasDefault(list.data) && (
        <p className="muted small" data-testid="no-default">
          No default for {addressLabel(DEFAULT_ADDRESS)}: its mail opens tickets in the oldest active category.{' '}
          <button type="button" onClick={() => change(DEFAULT_ADDRESS, '')}>Set a default</button>
        </p>
      )}
    </section>
  )
}
