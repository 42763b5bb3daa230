import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api/http'
import type { TokenPair } from '../api/types'
import { browserHint, decodeClaims, logoutByCookie, refreshByCookie, Session, type HintStore, type Lock } from './session'

function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(o)))).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
  return `${b64({ alg: 'EdDSA' })}.${b64(claims)}.sig`
}

// The server still sends refresh_token in JSON, for API clients: the app must ignore it.
function pair(n: number, expiresIn = 900): TokenPair {
  return { access_token: jwt({ sub: 'u1', role: 'agent', exp: 2e9 + n }), refresh_token: `secret-refresh-${n}`, token_type: 'Bearer', expires_in: expiresIn }
}

function memoryStore(initial: string | null = null): HintStore & { value: string | null } {
  const s = { value: initial, load: () => s.value, save: (t: string | null) => void (s.value = t) }
  return s
}

beforeEach(() => vi.useFakeTimers())
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
  localStorage.clear()
  sessionStorage.clear()
})

describe('Session', () => {
  it('keeps the access token in memory and no refresh token anywhere script-readable', () => {
    const store = memoryStore()
    const s = new Session({ refresh: vi.fn(), store })
    s.start(pair(1))
    expect(s.accessToken()).toBe(pair(1).access_token)
    expect(s.current()).toMatchObject({ sub: 'u1', role: 'agent' })
    // Only a marker is remembered: neither token.
    expect(store.value).toBe('1')
    expect(JSON.stringify(s)).not.toContain('secret-refresh-1')
    expect(JSON.stringify({ ...localStorage, ...sessionStorage })).not.toMatch(/secret-refresh|\./)
  })

  it('remembers only a marker in localStorage with the browser hint', () => {
    const s = new Session({ refresh: vi.fn(), store: browserHint })
    s.start(pair(1))
    expect(Object.values(localStorage)).toEqual(['1'])
    expect(sessionStorage.length).toBe(0)
    s.end()
    expect(localStorage.length).toBe(0)
  })

  it('shares one refresh between concurrent callers, inside the cross-tab lock', async () => {
    let n = 1
    let held = false
    const refresh = vi.fn(async () => {
      expect(held).toBe(true)
      n++
      return pair(n)
    })
    const lock: Lock = async (run) => {
      held = true
      try {
        return await run()
      } finally {
        held = false
      }
    }
    const s = new Session({ refresh, store: memoryStore(), lock })
    s.start(pair(1))
    const results = await Promise.all([s.refresh(), s.refresh(), s.refresh()])
    expect(results).toEqual([true, true, true])
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(s.accessToken()).toBe(pair(2).access_token)
    await s.refresh()
    expect(refresh).toHaveBeenCalledTimes(2)
    expect(s.accessToken()).toBe(pair(3).access_token)
  })

  it('renews the access token before it expires', async () => {
    const refresh = vi.fn(async () => pair(2))
    const s = new Session({ refresh, store: memoryStore() })
    s.start(pair(1, 900))
    await vi.advanceTimersByTimeAsync(700_000)
    expect(refresh).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(s.accessToken()).toBe(pair(2).access_token)
  })

  it('ends the session when the server rejects the refresh', async () => {
    const store = memoryStore()
    const s = new Session({ refresh: async () => { throw new ApiError(401) }, store })
    const seen: unknown[] = []
    s.subscribe((c) => seen.push(c))
    s.start(pair(1))
    await expect(s.refresh()).resolves.toBe(false)
    expect(s.accessToken()).toBeNull()
    expect(store.value).toBeNull()
    expect(seen.at(-1)).toBeNull()
  })

  it('keeps the session through a network failure', async () => {
    const store = memoryStore()
    const s = new Session({ refresh: async () => { throw new TypeError('offline') }, store })
    s.start(pair(1))
    await expect(s.refresh()).resolves.toBe(false)
    expect(s.accessToken()).not.toBeNull()
    expect(store.value).toBe('1')
  })

  it('resumes after a reload through the cookie when the hint says a session may exist', async () => {
    const refresh = vi.fn(async () => pair(5))
    const s = new Session({ refresh, store: memoryStore('1') })
    expect(s.hasStoredSession()).toBe(true)
    await expect(s.restore()).resolves.toBe(true)
    expect(refresh).toHaveBeenCalledWith()
    expect(s.current()?.sub).toBe('u1')
  })

  it('does not call the server for a visitor who never signed in', async () => {
    const refresh = vi.fn(async () => pair(5))
    const s = new Session({ refresh, store: memoryStore() })
    expect(s.hasStoredSession()).toBe(false)
    await expect(s.restore()).resolves.toBe(false)
    expect(refresh).not.toHaveBeenCalled()
  })

  it('ignores a refresh answered after sign-out', async () => {
    let answer: (p: TokenPair) => void = () => {}
    const store = memoryStore()
    const s = new Session({ refresh: () => new Promise<TokenPair>((r) => (answer = r)), store })
    s.start(pair(1))
    const pending = s.refresh()
    s.end()
    answer(pair(2))
    await expect(pending).resolves.toBe(false)
    expect(s.accessToken()).toBeNull()
    expect(store.value).toBeNull()
  })
})

describe('refresh and logout by cookie', () => {
  it('send JSON without a token, with same-origin credentials', async () => {
    const fetchMock = vi.fn(async (url: string) =>
      url === '/auth/refresh'
        ? new Response(JSON.stringify(pair(7)), { status: 200, headers: { 'Content-Type': 'application/json' } })
        : new Response(null, { status: 204 }),
    )
    vi.stubGlobal('fetch', fetchMock)
    await expect(refreshByCookie()).resolves.toMatchObject({ access_token: pair(7).access_token })
    await expect(logoutByCookie()).resolves.toBeUndefined()
    const calls = fetchMock.mock.calls as unknown as [string, RequestInit][]
    expect(calls.map(([url]) => url)).toEqual(['/auth/refresh', '/auth/logout'])
    for (const [, init] of calls) {
      expect(init.method).toBe('POST')
      expect(init.credentials).toBe('same-origin')
      expect(init.body).toBe('{}')
      expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json')
      expect(init.headers).not.toHaveProperty('Authorization')
    }
  })
})

describe('decodeClaims', () => {
  it('reads base64url payloads and rejects garbage', () => {
    expect(decodeClaims(jwt({ sub: 'ä-ü', role: 'admin', exp: 5 }))).toEqual({ sub: 'ä-ü', role: 'admin', exp: 5 })
    expect(decodeClaims('nope')).toBeNull()
    expect(decodeClaims('a.b.c')).toBeNull()
  })
})
