import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeSocket } from '../test/fakeSocket'
import { LiveSocket, socketURL } from './live'

beforeEach(() => {
  vi.useFakeTimers()
  FakeSocket.all = []
})
afterEach(() => vi.useRealTimers())

function live(ticket = vi.fn(async () => 'wst')) {
  return new LiveSocket({
    ticket,
    url: (t) => `ws://test/messaging/ws?ticket=${t}`,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    random: () => 1,
    baseDelayMs: 500,
    maxDelayMs: 8000,
  })
}

describe('LiveSocket', () => {
  it('connects with a fresh ticket and subscribes once open', async () => {
    const l = live()
    const frames: unknown[] = []
    l.subscribe('t1', (f) => frames.push(f))
    l.start()
    await vi.advanceTimersByTimeAsync(0)
    const ws = FakeSocket.last()
    expect(ws.url).toBe('ws://test/messaging/ws?ticket=wst')
    ws.open()
    expect(ws.sent).toEqual([{ type: 'subscribe', ticket_id: 't1' }])
    ws.receive({ type: 'comment.created', ticket_id: 't1', data: { id: 'c1' } })
    ws.receive({ type: 'comment.created', ticket_id: 't2', data: { id: 'c2' } })
    ws.receive('not a frame')
    expect(frames).toEqual([{ type: 'comment.created', ticket_id: 't1', data: { id: 'c1' } }])
    expect(l.getStatus()).toBe('open')
  })

  it('reconnects with exponential backoff, re-subscribes and tells listeners', async () => {
    const ticket = vi.fn(async () => `wst${ticket.mock.calls.length}`)
    const l = live(ticket)
    l.subscribe('t1', () => {})
    const reconnects = vi.fn()
    l.onReconnect(reconnects)
    l.start()
    await vi.advanceTimersByTimeAsync(0)
    FakeSocket.last().open()
    expect(reconnects).not.toHaveBeenCalled()

    FakeSocket.last().drop()
    expect(l.getStatus()).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(499)
    expect(FakeSocket.all).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeSocket.all).toHaveLength(2)
    // The second attempt fails too: the wait doubles.
    FakeSocket.last().drop()
    await vi.advanceTimersByTimeAsync(999)
    expect(FakeSocket.all).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeSocket.all).toHaveLength(3)
    const ws = FakeSocket.last()
    expect(ws.url).toContain('ticket=wst3') // a ticket is single-use: a new one each time
    ws.open()
    expect(ws.sent).toEqual([{ type: 'subscribe', ticket_id: 't1' }])
    expect(reconnects).toHaveBeenCalledTimes(1)
  })

  it('caps the wait and spreads it with jitter', () => {
    const l = new LiveSocket({ ticket: async () => 'x', url: () => 'x', baseDelayMs: 500, maxDelayMs: 8000, random: () => 0 })
    expect([0, 1, 2, 3, 4, 10].map((n) => l.delay(n))).toEqual([250, 500, 1000, 2000, 4000, 4000])
  })

  it('retries when no ticket can be had, and stops for good on stop()', async () => {
    const ticket = vi.fn(async () => {
      throw new Error('503')
    })
    const l = live(ticket)
    l.start()
    await vi.advanceTimersByTimeAsync(0)
    await vi.advanceTimersByTimeAsync(500)
    expect(ticket).toHaveBeenCalledTimes(2)
    l.stop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(ticket).toHaveBeenCalledTimes(2)
  })

  it('unsubscribes when the last listener of a ticket leaves', async () => {
    const l = live()
    l.start()
    await vi.advanceTimersByTimeAsync(0)
    const ws = FakeSocket.last()
    ws.open()
    const a = l.subscribe('t1', () => {})
    const b = l.subscribe('t1', () => {})
    a()
    expect(ws.sent).toEqual([{ type: 'subscribe', ticket_id: 't1' }])
    b()
    expect(ws.sent.at(-1)).toEqual({ type: 'unsubscribe', ticket_id: 't1' })
  })
})

describe('socketURL', () => {
  it('follows the page: wss on https', () => {
    expect(socketURL('a b', { protocol: 'https:', host: 'desk.example.com' })).toBe('wss://desk.example.com/messaging/ws?ticket=a%20b')
    expect(socketURL('t', { protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/messaging/ws?ticket=t')
  })
})
