import { Navigate, NavLink, Route, Routes } from 'react-router'
import { CategoriesAdmin } from './CategoriesAdmin'
import { MacrosAdmin } from './MacrosAdmin'
import { MailAddressesAdmin } from './MailAddressesAdmin'
import { ProcessAdmin } from './ProcessAdmin'
import { SlaAdmin } from './SlaAdmin'
import { SurveysAdmin } from './SurveysAdmin'
import { TeamsAdmin } from './TeamsAdmin'
import { UsersAdmin } from './UsersAdmin'
import { WebhooksAdmin } from './WebhooksAdmin'

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
        <NavLink to="/admin/surveys">Satisfaction</NavLink>
        <NavLink to="/admin/webhooks">Webhooks</NavLink>
        <NavLink to="/admin/mail">Incoming mail</NavLink>
        <NavLink to="/admin/macros">Canned replies</NavLink>
      </nav>
      <Routes>
        <Route index element={<Navigate to="users" replace />} />
        <Route path="users" element={<UsersAdmin />} />
        <Route path="categories" element={<CategoriesAdmin />} />
        <Route path="teams" element={<TeamsAdmin />} />
        <Route path="processes" element={<ProcessAdmin />} />
        <Route path="sla" element={<SlaAdmin />} />
        <Route path="surveys" element={<SurveysAdmin />} />
        <Route path="webhooks" element={<WebhooksAdmin />} />
        <Route path="mail" element={<MailAddressesAdmin />} />
        <Route path="macros" element={<MacrosAdmin />} />
      </Routes>
    </main>
  )
}
