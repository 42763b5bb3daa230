import { useEffect, useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { workflowApi } from '../api/endpoints'
import { priorities, type SLAPolicy } from '../api/types'
import { ErrorText, Loading } from '../ui/Status'

/** SlaAdmin edits the service levels of each priority (for tickets opened afterwards). */
export function SlaAdmin() {
  const policies = useQuery({ queryKey: ['sla'], queryFn: async () => (await workflowApi.slaPolicies()).items })
  if (policies.isPending) return <Loading />
  if (policies.isError) return <ErrorText error={policies.error} />
  return (
    <section aria-labelledby="sla-admin-title">
      <h2 id="sla-admin-title">SLA policies</h2>
      <p className="muted">Changes apply to tickets opened afterwards.</p>
      <div className="cards">
        {priorities.map((p) => {
          const policy = policies.data.find((x) => x.priority === p)
          return policy ? <PolicyForm key={p} policy={policy} /> : null
        })}
      </div>
    </section>
  )
}

const hours = (s: number) => String(Math.round((s / 3600) * 100) / 100)

function PolicyForm({ policy }: { policy: SLAPolicy }) {
  const qc = useQueryClient()
  const [form, setForm] = useState(() => toForm(policy))
  useEffect(() => setForm(toForm(policy)), [policy])
  const save = useMutation({
    mutationFn: () =>
      workflowApi.saveSlaPolicy(policy.priority!, {
        first_response_seconds: Math.round(Number(form.first) * 3600),
        resolution_seconds: Math.round(Number(form.resolution) * 3600),
        warn_ratio: Number(form.warn) / 100,
        business_hours: form.business,
        auto_close_seconds: Math.round(Number(form.autoClose) * 86400),
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['sla'] }),
  })
  return (
    <form className="card form" onSubmit={(e) => { e.preventDefault(); save.mutate() }} aria-label={`SLA policy ${policy.priority}`}>
      <h3>{policy.priority}</h3>
      <label>First response (hours)<input type="number" min="0.02" step="any" value={form.first} onChange={(e) => setForm({ ...form, first: e.target.value })} /></label>
      <label>Resolution (hours)<input type="number" min="0.02" step="any" value={form.resolution} onChange={(e) => setForm({ ...form, resolution: e.target.value })} /></label>
      <label>Warn at (% of the time)<input type="number" min="1" max="99" value={form.warn} onChange={(e) => setForm({ ...form, warn: e.target.value })} /></label>
      <label>Close resolved tickets after (days, 0 never)<input type="number" min="0" step="any" value={form.autoClose} onChange={(e) => setForm({ ...form, autoClose: e.target.value })} /></label>
      <label className="check"><input type="checkbox" checked={form.business} onChange={(e) => setForm({ ...form, business: e.target.checked })} /> Count business hours only</label>
      <ErrorText error={save.error} title="Not saved" />
      <button type="submit" className="primary" disabled={save.isPending}>{save.isSuccess && !save.isPending ? 'Saved' : 'Save'}</button>
    </form>
  )
}

function toForm(p: SLAPolicy) {
  return {
    first: hours(p.first_response_seconds),
    resolution: hours(p.resolution_seconds),
    warn: String(Math.round(p.warn_ratio * 100)),
    autoClose: String(Math.round(((p.auto_close_seconds ?? 0) / 86400) * 100) / 100),
    business: p.business_hours,
  }
}
