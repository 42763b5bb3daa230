import { useEffect, useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { allComments } from '../api/endpoints'
import type { Comment } from '../api/types'
import { mergeComments } from './comments'
import { commentSchema, presenceSchema, typingSchema } from './frames'
import { useLive } from './LiveContext'

export interface Viewer {
  user_id: string
  name: string
}

export const commentsKey = (ticketId: string) => ['comments', ticketId] as const

const typingLingerMs = 5000

/**
 * useConversation is a ticket's live conversation: the comments (fetched,
 * then kept up to date from the WebSocket, refetched and merged after every
 * reconnect so that nothing is lost or shown twice), who is typing and who
 * else is viewing.
 */
export function useConversation(ticketId: string, myId: string | undefined) {
  const qc = useQueryClient()
  const live = useLive()
  const key = commentsKey(ticketId)
  const comments = useQuery({
    queryKey: key,
    queryFn: async () => {
      const fetched = await allComments(ticketId)
      // Read the cache only now: a comment that arrived over the WebSocket
      // (or from our own POST) while the fetch was in flight is in it, and
      // must survive the fetch that started before it was written.
      return mergeComments(qc.getQueryData<Comment[]>(key) ?? [], fetched)
    },
  })
  const [typing, setTyping] = useState<Record<string, { name: string; until: number }>>({})
  const [viewers, setViewers] = useState<Viewer[]>([])

  useEffect(() => {
    const add = (c: Comment) => qc.setQueryData<Comment[]>(key, (old) => mergeComments(old ?? [], [c]))
    const unsub = live.subscribe(ticketId, (f) => {
      switch (f.type) {
        case 'comment.created':
        case 'comment.updated': {
          const c = commentSchema.safeParse(f.data)
          if (c.success) {
            add(c.data)
            if (f.type === 'comment.created') {
              // A reply may stop an SLA clock or move the ticket: the workflow
              // hears of it a moment later.
              setTimeout(() => void qc.invalidateQueries({ queryKey: ['state', ticketId] }), 1500)
              setTyping((t) => {
                const { [c.data.author_id]: _, ...rest } = t
                return rest
              })
            }
          }
          break
        }
        case 'typing': {
          const t = typingSchema.safeParse(f.data)
          if (t.success && t.data.user_id !== myId) {
            setTyping((old) => ({ ...old, [t.data.user_id]: { name: t.data.name, until: Date.now() + typingLingerMs } }))
          }
          break
        }
        case 'presence': {
          const p = presenceSchema.safeParse(f.data)
          if (p.success) setViewers(p.data.viewers.filter((v) => v.user_id !== myId))
          break
        }
        case 'ticket.updated':
          void qc.invalidateQueries({ queryKey: ['ticket', ticketId] })
          void qc.invalidateQueries({ queryKey: ['state', ticketId] })
          void qc.invalidateQueries({ queryKey: ['history', ticketId] })
          break
      }
    })
    const unReconnect = live.onReconnect(() => {
      void qc.invalidateQueries({ queryKey: key })
      void qc.invalidateQueries({ queryKey: ['state', ticketId] })
    })
    return () => {
      unsub()
      unReconnect()
    }
    // key is derived from ticketId
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [live, qc, ticketId, myId])

  // Typing indicators fade out on their own.
  useEffect(() => {
    const names = Object.values(typing)
    if (names.length === 0) return
    const next = Math.min(...names.map((t) => t.until)) - Date.now()
    const id = setTimeout(() => {
      const now = Date.now()
      setTyping((old) => Object.fromEntries(Object.entries(old).filter(([, t]) => t.until > now)))
    }, Math.max(50, next))
    return () => clearTimeout(id)
  }, [typing])

  return {
    comments,
    typingNames: Object.values(typing).map((t) => t.name || 'Someone'),
    viewers,
    addLocal: (c: Comment) => qc.setQueryData<Comment[]>(key, (old) => mergeComments(old ?? [], [c])),
    sendTyping: () => live.typing(ticketId),
  }
}
