import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api/http'
import type { TokenPair } from '../api/types'
import { decodeClaims, Session, type RefreshStore } from './session'

function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(o)))).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
  return `${b64({ alg: 'EdDSA' })}.${b64(claims)}.sig`
}

function pair(n: number, expiresIn = 900): TokenPair {
  return { access_token: jwt({ sub: 'u1', role: 'agent', exp: 2e9 + n }), refresh_token: `r${n}`, token_type: 'Bearer', expires_in: expiresIn }
}

function memoryStore(initial: string | null = null): RefreshStore & { value: string | null } {
  const s = { value: initial, load: () => s.value, save: (t: string | null) => void (s.value = t) }
  return s
}

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

describe('Session', () => {
  it('keeps the access token in memory and the refresh token in the store', () => {
    const store = memoryStore()
    const s = new Session({ refresh: vi.fn(), store })
    s.start(pair(1))
    expect(s.accessToken()).toBe(pair(1).access_token)
    expect(s.current()).toMatchObject({ sub: 'u1', role: 'agent' })
    expect(store.value).toBe('r1')
    expect(JSON.stringify(sessionStorage)).not.toContain(pair(1).access_token)
  })

  it('shares one refresh between concurrent callers, since a spent refresh token revokes the session', async () => {
    const store = memoryStore()
    let n = 1
    const refresh = vi.fn(async (t: string) => {
      expect(t).toBe(`r${n}`)
      n++
      return pair(n)
    })
    const s = new Session({ refresh, store })
    s.start(pair(1))
    const results = await Promise.all([s.refresh(), s.refresh(), s.refresh()])
    expect(results).toEqual([true, true, true])
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(store.value).toBe('r2')
    // The next refresh presents the rotated token.
    await s.refresh()
    expect(refresh).toHaveBeenLastCalledWith('r2')
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

  it('ends the session when the server rejects the refresh token', async () => {
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
    expect(store.value).toBe('r1')
  })

  it('resumes after a reload from the stored refresh token', async () => {
    const refresh = vi.fn(async () => pair(5))
    const s = new Session({ refresh, store: memoryStore('r4') })
    expect(s.hasStoredSession()).toBe(true)
    await expect(s.restore()).resolves.toBe(true)
    expect(refresh).toHaveBeenCalledWith('r4')
    expect(s.current()?.sub).toBe('u1')
  })

  it('hands the refresh token over for sign-out and forgets everything', () => {
    const store = memoryStore()
    const s = new Session({ refresh: vi.fn(), store })
    s.start(pair(1))
    expect(s.takeRefreshToken()).toBe('r1')
    expect(s.accessToken()).toBeNull()
    expect(store.value).toBeNull()
  })
})

describe('decodeClaims', () => {
  it('reads base64url payloads and rejects garbage', () => {
    expect(decodeClaims(jwt({ sub: 'ä-ü', role: 'admin', exp: 5 }))).toEqual({ sub: 'ä-ü', role: 'admin', exp: 5 })
    expect(decodeClaims('nope')).toBeNull()
    expect(decodeClaims('a.b.c')).toBeNull()
  })
})
