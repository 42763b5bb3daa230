import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router'
import { useTitle } from '../lib/useTitle'
import { CategoriesAdmin } from './CategoriesAdmin'
import { MacrosAdmin } from './MacrosAdmin'
import { MailAddressesAdmin } from './MailAddressesAdmin'
import { ProcessAdmin } from './ProcessAdmin'
import { SlaAdmin } from './SlaAdmin'
import { SurveysAdmin } from './SurveysAdmin'
import { TeamsAdmin } from './TeamsAdmin'
import { UsersAdmin } from './UsersAdmin'
import { WebhooksAdmin } from './WebhooksAdmin'

// The admin's pages, by the path under /admin: their links and tab titles.
const sections: [path: string, label: string][] = [
  ['users', 'Users'],
  ['categories', 'Categories'],
  ['teams', 'Teams'],
  ['processes', 'Processes'],
  ['sla', 'SLA policies'],
  ['surveys', 'Satisfaction'],
  ['webhooks', 'Webhooks'],
  ['mail', 'Incoming mail'],
  ['macros', 'Canned replies'],
]

/** AdminPage holds the admin's pages under /admin. */
export function AdminPage() {
  const section = useLocation().pathname.split('/')[2] ?? ''
  useTitle(sections.find(([path]) => path === section)?.[1], 'Admin')
  return (
    <main className="page">
      <h1>Admin</h1>
      <nav className="subnav" aria-label="Admin">
        {sections.map(([path, label]) => <NavLink key={path} to={`/admin/${path}`}>{label}</NavLink>)}
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
