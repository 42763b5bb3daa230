import { useEffect, useRef, useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link } from 'react-router'
import { notificationApi } from '../api/endpoints'
import type { Notification, NotificationList } from '../api/types'
import { useLive } from '../chat/LiveContext'
import { notificationSchema } from '../chat/frames'
import { dateTime, relativeTime } from '../lib/time'
import { ErrorText, Empty, Loading } from '../ui/Status'
import { addNotification, markRead } from './cache'

const key = ['notifications'] as const

/** Bell shows the unread count, kept live by `notification` frames, and the latest notifications. */
export function Bell() {
  const qc = useQueryClient()
  const live = useLive()
  const [open, setOpen] = useState(false)
  const root = useRef<HTMLDivElement>(null)
  const list = useQuery({ queryKey: key, queryFn: () => notificationApi.list(), retry: false, staleTime: 60_000 })

  useEffect(
    () =>
      live.onFrame((f) => {
        if (f.type !== 'notification') return
        const n = notificationSchema.safeParse(f.data)
        if (n.success) qc.setQueryData<NotificationList>(key, (old) => addNotification(old, n.data as Notification))
      }),
    [live, qc],
  )
  useEffect(() => live.onReconnect(() => void qc.invalidateQueries({ queryKey: key })), [live, qc])

  useEffect(() => {
    if (!open) return
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false)
    const onClick = (e: MouseEvent) => root.current && !root.current.contains(e.target as Node) && setOpen(false)
    document.addEventListener('keydown', onKey)
    document.addEventListener('mousedown', onClick)
    return () => {
      document.removeEventListener('keydown', onKey)
      document.removeEventListener('mousedown', onClick)
    }
  }, [open])

  const read = useMutation({
    mutationFn: (id: string) => notificationApi.read(id),
    onMutate: (id) => qc.setQueryData<NotificationList>(key, (old) => markRead(old, id)),
  })
  const readAll = useMutation({
    mutationFn: () => notificationApi.readAll(),
    onSuccess: () => qc.invalidateQueries({ queryKey: key }),
  })

  const unread = list.data?.unread_count ?? 0
  return (
    <div className="bell" ref={root}>
      <button
        type="button"
        className="bell-button"
        aria-expanded={open}
        aria-haspopup="dialog"
        aria-label={`Notifications${unread ? `, ${unread} unread` : ''}`}
        onClick={() => setOpen((o) => !o)}
      >
        <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24">
          <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
        </svg>
        {unread > 0 && <span className="count" data-testid="unread-count">{unread > 99 ? '99+' : unread}</span>}
      </button>
      {open && (
        <div className="bell-panel" role="dialog" aria-label="Notifications">
          <div className="bell-head">
            <strong>Notifications</strong>
            <button type="button" className="link" disabled={!unread || readAll.isPending} onClick={() => readAll.mutate()}>
              Mark all read
            </button>
          </div>
          {list.isPending ? (
            <Loading />
          ) : list.isError ? (
            <ErrorText error={list.error} title="Notifications are unavailable" />
          ) : list.data.items.length === 0 ? (
            <Empty>Nothing new.</Empty>
          ) : (
            <ul>
              {list.data.items.slice(0, 20).map((n) => (
                <li key={n.id} className={n.read_at ? 'read' : 'unread'}>
                  <Link
                    to={n.link || (n.ticket_id ? `/tickets/${n.ticket_id}` : '/')}
                    onClick={() => {
                      if (!n.read_at) read.mutate(n.id)
                      setOpen(false)
                    }}
                  >
                    <strong>{n.title}</strong>
                    {n.body && <span>{n.body}</span>}
                    <time dateTime={n.created_at} title={dateTime(n.created_at)}>
                      {relativeTime(n.created_at)}
                    </time>
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  )
}
