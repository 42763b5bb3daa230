import { useInfiniteQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { helpdeskApi } from '../api/endpoints'
import { useAuth } from '../auth/AuthContext'
import { Empty, ErrorText, Loading } from '../ui/Status'
import { TicketTable } from './TicketTable'
import { useTitle } from '../lib/useTitle'

/** MyTicketsPage lists the tickets the signed-in person opened. */
export function MyTicketsPage() {
  useTitle('My tickets')
  const { user, hasRole } = useAuth()
  const staff = hasRole('agent', 'admin')
  const list = useInfiniteQuery({
    queryKey: ['tickets', 'mine', user?.id],
    queryFn: ({ pageParam }) =>
      helpdeskApi.tickets({ cursor: pageParam, sort: 'updated', ...(staff && user ? { requester_id: user.id } : {}) }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor || undefined,
  })
  const tickets = list.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <main className="page">
      <div className="page-head">
        <h1>My tickets</h1>
        <Link className="button primary" to="/tickets/new">New ticket</Link>
      </div>
      {list.isPending ? (
        <Loading label="Loading your tickets…" />
      ) : list.isError ? (
        <ErrorText error={list.error} title="Your tickets could not be loaded" />
      ) : tickets.length === 0 ? (
        <Empty>
          You have not opened any ticket yet. <Link to="/tickets/new">Open one</Link> when something does not work.
        </Empty>
      ) : (
        <TicketTable tickets={tickets} staff={false} caption="My tickets" />
      )}
      {list.hasNextPage && (
        <button type="button" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          {list.isFetchingNextPage ? 'Loading…' : 'Show more'}
        </button>
      )}
    </main>
  )
}
