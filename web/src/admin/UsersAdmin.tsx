import { useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { authApi } from '../api/endpoints'
import { roles, type Role, type User } from '../api/types'
import { useAuth } from '../auth/AuthContext'
import { Empty, ErrorText, Loading } from '../ui/Status'

/** UsersAdmin changes users' roles and deactivates accounts. */
export function UsersAdmin() {
  const { user: me } = useAuth()
  const qc = useQueryClient()
  const [q, setQ] = useState('')
  const [role, setRole] = useState<Role | ''>('')
  const users = useQuery({ queryKey: ['users', q, role], queryFn: () => authApi.users({ q: q || undefined, role }) })
  const patch = useMutation({
    mutationFn: ({ id, change }: { id: string; change: { role?: Role; active?: boolean } }) => authApi.patchUser(id, change),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['users'] }),
  })
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users and roles</h2>
      <div className="filters" role="search">
        <label>
          Search
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Name or e-mail" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
            <option value="">Any</option>
            {roles.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
      </div>
      <ErrorText error={patch.error} title="The change was refused" />
      {users.isPending ? <Loading /> : users.isError ? <ErrorText error={users.error} /> : users.data.items.length === 0 ? <Empty>No user matches.</Empty> : (
        <table className="tickets">
          <thead>
            <tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Active</th></tr>
          </thead>
          <tbody>
            {users.data.items.map((u: User) => (
              <tr key={u.id}>
                <td data-label="Name">{u.name}</td>
                <td data-label="E-mail">{u.email}</td>
                <td data-label="Role">
                  <select aria-label={`Role of ${u.name}`} value={u.role} disabled={u.id === me?.id || patch.isPending} onChange={(e) => patch.mutate({ id: u.id, change: { role: e.target.value as Role } })}>
                    {roles.map((r) => <option key={r} value={r}>{r}</option>)}
                  </select>
                </td>
                <td data-label="Active">
                  <input type="checkbox" aria-label={`${u.name} is active`} checked={u.active} disabled={u.id === me?.id || patch.isPending} onChange={(e) => patch.mutate({ id: u.id, change: { active: e.target.checked } })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
