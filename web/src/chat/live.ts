// LiveSocket is the app's one WebSocket to the messaging service. It gets
// a single-use ticket (POST /messaging/ws-tickets), connects, re-subscribes
// to every ticket page that is open after each (re)connect, and reconnects
// with exponential backoff and jitter. Listeners learn of every reconnect,
// so they can fetch what they missed while it was down.
import { parseFrame, type Frame } from './frames'

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'unavailable'

export interface LiveOptions {
  /** ticket gets a WebSocket ticket; rejects when signed out or unavailable. */
  ticket: () => Promise<string>
  /** url makes the WebSocket URL of a ticket. */
  url: (ticket: string) => string
  WebSocket?: typeof WebSocket
  baseDelayMs?: number
  maxDelayMs?: number
  random?: () => number
}

type FrameListener = (f: Frame) => void

export class LiveSocket {
  private ws: WebSocket | null = null
  private status: LiveStatus = 'idle'
  private attempt = 0
  private everOpened = false
  private stopped = true
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private subs = new Map<string, number>()
  private frameListeners = new Set<FrameListener>()
  private statusListeners = new Set<(s: LiveStatus) => void>()
  private reconnectListeners = new Set<() => void>()
  private readonly opts: Required<Omit<LiveOptions, 'WebSocket'>> & { WebSocket: typeof WebSocket }

  constructor(opts: LiveOptions) {
    this.opts = {
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      random: Math.random,
      WebSocket: opts.WebSocket ?? globalThis.WebSocket,
      ...opts,
    } as LiveSocket['opts']
  }

  start() {
    if (!this.stopped) return
    this.stopped = false
    void this.connect()
  }

  stop() {
    this.stopped = true
    clearTimeout(this.retryTimer)
    const ws = this.ws
    this.ws = null
    ws?.close(1000, 'bye')
    this.attempt = 0
    this.everOpened = false
    this.setStatus('idle')
  }

  getStatus(): LiveStatus {
    return this.status
  }

  /** delay is the wait before reconnect attempt n (0-based): exponential, capped, with jitter. */
  delay(n: number): number {
    const exp = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** n)
    return Math.round(exp / 2 + (exp / 2) * this.opts.random())
  }

  /** subscribe follows a ticket's frames until the returned function is called. */
  subscribe(ticketId: string, listener: FrameListener): () => void {
    const n = this.subs.get(ticketId) ?? 0
    this.subs.set(ticketId, n + 1)
    if (n === 0) this.send({ type: 'subscribe', ticket_id: ticketId })
    const own: FrameListener = (f) => {
      if (f.ticket_id === ticketId) listener(f)
    }
    this.frameListeners.add(own)
    return () => {
      this.frameListeners.delete(own)
      const left = (this.subs.get(ticketId) ?? 1) - 1
      if (left > 0) {
        this.subs.set(ticketId, left)
      } else {
        this.subs.delete(ticketId)
        this.send({ type: 'unsubscribe', ticket_id: ticketId })
      }
    }
  }

  /** onFrame hears every frame (notifications arrive without a subscription). */
  onFrame(l: FrameListener): () => void {
    this.frameListeners.add(l)
    return () => this.frameListeners.delete(l)
  }

  onStatus(l: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(l)
    return () => this.statusListeners.delete(l)
  }

  /** onReconnect is told when the socket is open again after a drop. */
  onReconnect(l: () => void): () => void {
    this.reconnectListeners.add(l)
    return () => this.reconnectListeners.delete(l)
  }

  typing(ticketId: string) {
    this.send({ type: 'typing', ticket_id: ticketId })
  }

  private send(f: { type: string; ticket_id?: string; data?: unknown }) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(f))
  }

  private setStatus(s: LiveStatus) {
    if (this.status === s) return
    this.status = s
    for (const l of this.statusListeners) l(s)
  }

  private async connect() {
    if (this.stopped) return
    this.setStatus(this.everOpened ? 'reconnecting' : 'connecting')
    let ticket: string
    try {
      ticket = await this.opts.ticket()
    } catch {
      this.retry()
      return
    }
    if (this.stopped) return
    let ws: WebSocket
    try {
      ws = new this.opts.WebSocket(this.opts.url(ticket))
    } catch {
      this.retry()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      if (this.ws !== ws) return
      const reconnect = this.everOpened
      this.everOpened = true
      this.attempt = 0
      this.setStatus('open')
      for (const id of this.subs.keys()) this.send({ type: 'subscribe', ticket_id: id })
      if (reconnect) for (const l of this.reconnectListeners) l()
    }
    ws.onmessage = (e: MessageEvent) => {
      if (this.ws !== ws || typeof e.data !== 'string') return
      const f = parseFrame(e.data)
      if (!f) return
      for (const l of [...this.frameListeners]) l(f)
    }
    ws.onclose = () => {
      if (this.ws !== ws) return
      this.ws = null
      this.retry()
    }
    ws.onerror = () => {
      // onclose follows and schedules the retry.
    }
  }

  private retry() {
    if (this.stopped) return
    this.setStatus(this.everOpened ? 'reconnecting' : this.attempt >= 3 ? 'unavailable' : 'connecting')
    const wait = this.delay(this.attempt)
    this.attempt++
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => void this.connect(), wait)
  }
}

/** socketURL is the messaging WebSocket on the page's own host (ws: or wss:). */
export function socketURL(ticket: string, loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${loc.host}/messaging/ws?ticket=${encodeURIComponent(ticket)}`
}
