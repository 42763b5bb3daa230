import { Navigate, NavLink, Route, Routes } from 'react-router'
import { CategoriesAdmin } from './CategoriesAdmin'
import { ProcessAdmin } from './ProcessAdmin'
import { SlaAdmin } from './SlaAdmin'
import { TeamsAdmin } from './TeamsAdmin'
import { UsersAdmin } from './UsersAdmin'

/** AdminPage holds the admin's pages under /admin. */
export function AdminPage() {
  return (
    <main className="page">
      <h1>Admin</h1>
      <nav className="subnav" aria-label="Admin">
        <NavLink to="/admin/users">Users</NavLink>
        <NavLink to="/admin/categories">Categories</NavLink>
        <NavLink to="/admin/teams">Teams</NavLink>
        <NavLink to="/admin/processes">Processes</NavLink>
        <NavLink to="/admin/sla">SLA policies</NavLink>
      </nav>
      <Routes>
        <Route index element={<Navigate to="users" replace />} />
        <Route path="users" element={<UsersAdmin />} />
        <Route path="categories" element={<CategoriesAdmin />} />
        <Route path="teams" element={<TeamsAdmin />} />
        <Route path="processes" element={<ProcessAdmin />} />
        <Route path="sla" element={<SlaAdmin />} />
      </Routes>
    </main>
  )
}
