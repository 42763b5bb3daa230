import { useRef, useState, type FormEvent } from 'react'
import { messagingApi } from '../api/endpoints'
import { errorMessage } from '../api/http'
import type { Comment } from '../api/types'
import { dateTime, relativeTime } from '../lib/time'
import { useNow } from '../lib/useNow'
import { ErrorText, Empty, Loading } from '../ui/Status'
import { useLiveStatus } from './LiveContext'
import { Markdown } from './Markdown'
import { MacroPicker } from './MacroPicker'
import { useConversation } from './useConversation'

const typingEveryMs = 3000

/** ChatPanel is a ticket's live conversation with its reply box. */
export function ChatPanel({ ticketId, myId, staff }: { ticketId: string; myId?: string; staff: boolean }) {
  const { comments, typingNames, viewers, addLocal, sendTyping } = useConversation(ticketId, myId)
  const status = useLiveStatus()
  return (
    <section className="chat" aria-labelledby="chat-title">
      <div className="chat-head">
        <h2 id="chat-title">Conversation</h2>
        <LiveBadge status={status} />
      </div>
      {viewers.length > 0 && (
        <p className="presence" aria-live="polite">
          Also viewing: {viewers.map((v) => v.name || 'someone').join(', ')}
        </p>
      )}
      {comments.isPending ? (
        <Loading label="Loading the conversation…" />
      ) : comments.isError ? (
        <ErrorText error={comments.error} title="The conversation could not be loaded" />
      ) : (
        <CommentList comments={comments.data} myId={myId} />
      )}
      <p className="typing" aria-live="polite">
        {typingNames.length > 0 && `${typingNames.join(', ')} ${typingNames.length > 1 ? 'are' : 'is'} typing…`}
      </p>
      <Composer ticketId={ticketId} staff={staff} onSent={addLocal} onTyping={sendTyping} />
    </section>
  )
}

function LiveBadge({ status }: { status: string }) {
  const text =
    status === 'open' ? 'Live' : status === 'reconnecting' ? 'Reconnecting…' : status === 'unavailable' ? 'Offline' : 'Connecting…'
  return (
    <span className={`badge live-${status}`} role="status" aria-label={`Live updates: ${text}`}>
      {text}
    </span>
  )
}

function CommentList({ comments, myId }: { comments: Comment[]; myId?: string }) {
  // A comment that just arrived is never "in 3 s", whatever the last tick.
  const now = Math.max(useNow(30_000), Date.now())
  if (comments.length === 0) return <Empty>No messages yet. Write the first one below.</Empty>
  return (
    // New messages, live ones included, are read out as they are added (not the whole list again).
    <ol className="comments" aria-label="Messages" aria-live="polite" aria-relevant="additions">
      {comments.map((c) => (
        <li
          key={c.id}
          className={`comment${c.internal ? ' internal' : ''}${c.author_id === myId ? ' mine' : ''}`}
          data-comment-id={c.id}
        >
          <div className="comment-meta">
            <strong>{c.author_name || 'Someone'}</strong>
            {c.author_role !== 'employee' && <span className="badge">{c.author_role}</span>}
            {c.internal && <span className="badge internal">Internal note</span>}
            <time dateTime={c.created_at} title={dateTime(c.created_at)}>
              {relativeTime(c.created_at, now)}
            </time>
            {c.edited_at && !c.deleted && <span className="muted">(edited)</span>}
          </div>
          {c.deleted ? (
            <p className="comment-body">
              <em className="muted">This message was deleted.</em>
            </p>
          ) : (
            <Markdown text={c.body} className="comment-body" />
          )}
        </li>
      ))}
    </ol>
  )
}

function Composer({
  ticketId,
  staff,
  onSent,
  onTyping,
}: {
  ticketId: string
  staff: boolean
  onSent: (c: Comment) => void
  onTyping: () => void
}) {
  const [body, setBody] = useState('')
  const [internal, setInternal] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [sending, setSending] = useState(false)
  const lastTyping = useRef(0)

  const submit = async (e?: FormEvent) => {
    e?.preventDefault()
    if (!body.trim() || sending) return
    setSending(true)
    setError(null)
    try {
      const c = await messagingApi.addComment(ticketId, body, internal)
      onSent(c)
      setBody('')
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setSending(false)
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      {staff && (
        <MacroPicker
          ticketId={ticketId}
          onInsert={(text, asNote) => {
            setBody((prev) => (prev.trim() ? `${prev}\n${text}` : text))
            setInternal(asNote)
          }}
        />
      )}
      <label htmlFor="reply" className="visually-hidden">
        {internal ? 'Internal note' : 'Reply'}
      </label>
      <textarea
        id="reply"
        value={body}
        rows={3}
        placeholder={internal ? 'Internal note, seen by agents and admins only' : 'Write a reply…'}
        onChange={(e) => {
          setBody(e.target.value)
          const now = Date.now()
          if (now - lastTyping.current > typingEveryMs) {
            lastTyping.current = now
            onTyping()
          }
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit()
        }}
      />
      {error && (
        <p className="status error" role="alert">
          {error}
        </p>
      )}
      <div className="composer-actions">
        {staff && (
          <label className="check">
            <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.target.checked)} /> Internal note
          </label>
        )}
        <button type="submit" className="primary" disabled={sending || !body.trim()}>
          {sending ? 'Sending…' : internal ? 'Add note' : 'Send reply'}
        </button>
      </div>
    </form>
  )
}
