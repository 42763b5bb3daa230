import { useState } from 'react'
import { NavLink, Outlet, useNavigate } from 'react-router'
import { useAuth } from '../auth/AuthContext'
import { Bell } from '../notifications/Bell'

/** Shell is the frame of every signed-in page: the header, the navigation and the bell. */
export function Shell() {
  const { user, hasRole, signOut } = useAuth()
  const navigate = useNavigate()
  const [open, setOpen] = useState(false)
  const staff = hasRole('agent', 'admin')
  const close = () => setOpen(false)
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" onClick={close}>
          Ticketflow
        </NavLink>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen((o) => !o)}
        >
          Menu
        </button>
        <nav id="main-nav" className={open ? 'open' : ''} aria-label="Main">
          {staff ? (
            <>
              <NavLink to="/queue" onClick={close}>Queue</NavLink>
              <NavLink to="/board" onClick={close}>Board</NavLink>
            </>
          ) : (
            <NavLink to="/tickets" end onClick={close}>My tickets</NavLink>
          )}
          <NavLink to="/tickets/new" onClick={close}>New ticket</NavLink>
          {hasRole('admin') && <NavLink to="/admin" onClick={close}>Admin</NavLink>}
        </nav>
        <div className="topbar-end">
          <Bell />
          <span className="who" title={user?.email}>
            {user?.name} <span className="badge">{user?.role}</span>
          </span>
          <button
            type="button"
            onClick={async () => {
              await signOut()
              navigate('/signin')
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <div id="main" tabIndex={-1}>
        <Outlet />
      </div>
    </>
  )
}
