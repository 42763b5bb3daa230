import { Navigate, Route, Routes } from 'react-router'
import { AdminPage } from './admin/AdminPage'
import { useAuth } from './auth/AuthContext'
import { homeFor, RequireRole } from './auth/RequireRole'
import { ForgotPasswordPage, ResetPasswordPage } from './auth/PasswordResetPages'
import { SignInPage, SignUpPage } from './auth/SignInPage'
import { BoardPage } from './board/BoardPage'
import { Shell } from './layout/Shell'
import { MyTicketsPage } from './tickets/MyTicketsPage'
import { NewTicketPage } from './tickets/NewTicketPage'
import { QueuePage } from './tickets/QueuePage'
import { SurveyLinkPage } from './tickets/SurveyLinkPage'
import { TicketPage } from './tickets/TicketPage'
import { Loading } from './ui/Status'
import { useTitle } from './lib/useTitle'

function Home() {
  const { status, user } = useAuth()
  if (status === 'loading') return <Loading />
  return <Navigate to={status === 'signedIn' ? homeFor(user?.role) : '/signin'} replace />
}

function NotFound() {
  useTitle('Page not found')
  return <main className="page"><h1>Page not found</h1><p>There is nothing at this address.</p></main>
}

export function App() {
  return (
    <Routes>
      <Route path="/signin" element={<SignInPage />} />
      <Route path="/signup" element={<SignUpPage />} />
      <Route path="/forgot-password" element={<ForgotPasswordPage />} />
      <Route path="/reset-password" element={<ResetPasswordPage />} />
      {/* A survey e-mail's link works without signing in. */}
      <Route path="/survey" element={<SurveyLinkPage />} />
      <Route element={<RequireRole><Shell /></RequireRole>}>
        <Route index element={<Home />} />
        <Route path="tickets" element={<MyTicketsPage />} />
        <Route path="tickets/new" element={<NewTicketPage />} />
        <Route path="tickets/:id" element={<TicketPage />} />
        <Route path="queue" element={<RequireRole roles={['agent', 'admin']}><QueuePage /></RequireRole>} />
        <Route path="board" element={<RequireRole roles={['agent', 'admin']}><BoardPage /></RequireRole>} />
        <Route path="admin/*" element={<RequireRole roles={['admin']}><AdminPage /></RequireRole>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  )
}
