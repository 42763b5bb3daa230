// The signed-in session: the access token lives in memory only. The refresh
// token is never seen by this code: auth keeps it in an HttpOnly,
// SameSite=Strict cookie scoped to /auth, which the browser sends with POST
// /auth/refresh and /auth/logout (see web/README.md). All the app remembers
// across reloads is a hint, with no secret in it, that a session may exist,
// so that a visitor who never signed in is not made to wait for a refresh.
// Refreshes are single-flight: concurrent 401s share one refresh, and the
// tabs of the browser (which share the cookie) take turns through a Web
// Lock, because the server rotates refresh tokens and treats a spent one
// presented again as theft, revoking the whole session.
import { ApiError, call, type TokenSource } from '../api/http'
import type { Role, TokenPair } from '../api/types'

/** Claims are what the app reads from the access token (never trusted for security: the server checks). */
export interface Claims {
  sub: string
  role: Role
  exp: number
}

/** decodeClaims reads a JWT's payload without verifying it. */
export function decodeClaims(jwt: string): Claims | null {
  const part = jwt.split('.')[1]
  if (!part) return null
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=')
    const json = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))))
    if (typeof json.sub !== 'string' || typeof json.role !== 'string') return null
    return { sub: json.sub, role: json.role as Role, exp: Number(json.exp) || 0 }
  } catch {
    return null
  }
}

/** HintStore remembers whether a session may be resumed: a marker, never a token. */
export interface HintStore {
  load(): string | null
  save(marker: string | null): void
}

const hintKey = 'ticketflow.session'

/** browserHint keeps the marker in localStorage, shared by the tabs like the cookie. */
export const browserHint: HintStore = {
  load: () => {
    try {
      return localStorage.getItem(hintKey)
    } catch {
      return null
    }
  },
  save: (marker) => {
    try {
      if (marker) localStorage.setItem(hintKey, marker)
      else localStorage.removeItem(hintKey)
    } catch {
      // Storage may be disabled: the session then lasts until a reload.
    }
  },
}

/** Lock runs a refresh while no other tab of this origin runs one. */
export type Lock = <T>(run: () => Promise<T>) => Promise<T>

/** browserLock serialises refreshes across tabs with the Web Locks API, where there is one. */
export const browserLock: Lock = <T,>(run: () => Promise<T>): Promise<T> =>
  typeof navigator !== 'undefined' && navigator.locks ? (navigator.locks.request('ticketflow.refresh', run) as Promise<T>) : run()

// The body of a refresh or logout by cookie: JSON (which auth requires on
// the cookie path, against CSRF) without a refresh token.
const noToken = {}

/** refreshByCookie trades the cookie's refresh token for a new access token (and a rotated cookie). */
export const refreshByCookie = (): Promise<TokenPair> => call('POST /auth/refresh', { body: noToken, anonymous: true })

/** logoutByCookie revokes the cookie's session and has the server clear the cookie. */
export const logoutByCookie = (): Promise<void> => call('POST /auth/logout', { body: noToken, anonymous: true })

export interface SessionDeps {
  /** refresh asks auth for a new pair; the refresh token travels in the cookie. */
  refresh: () => Promise<TokenPair>
  store: HintStore
  lock?: Lock
  now?: () => number
  /** refreshAhead is the share of the access token's life after which it is renewed. */
  refreshAhead?: number
}

type Listener = (claims: Claims | null) => void

/** Session holds the access token and renews it before it expires. */
export class Session implements TokenSource {
  private access: string | null = null
  private claims: Claims | null = null
  private inflight: Promise<boolean> | null = null
  private timer: ReturnType<typeof setTimeout> | undefined
  private listeners = new Set<Listener>()
  // generation counts the ends, so that a refresh answered after sign-out
  // does not sign the user back in.
  private generation = 0
  private readonly deps: SessionDeps

  constructor(deps: SessionDeps) {
    this.deps = deps
  }

  accessToken(): string | null {
    return this.access
  }

  current(): Claims | null {
    return this.claims
  }

  /** hasStoredSession tells whether a reload may resume a session. */
  hasStoredSession(): boolean {
    return !!this.deps.store.load()
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  /** start takes a fresh access token (after sign-in or a refresh); a refresh_token in the pair is ignored. */
  start(pair: TokenPair) {
    const claims = decodeClaims(pair.access_token)
    if (!claims) throw new Error('The server sent an access token this app cannot read.')
    this.access = pair.access_token
    this.claims = claims
    this.deps.store.save('1')
    this.schedule(pair.expires_in)
    this.emit()
  }

  /** restore resumes the session kept across a reload, if any. */
  restore(): Promise<boolean> {
    return this.refresh()
  }

  /** refresh gets a new access token with the cookie; false when the session is over. */
  refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight
    if (!this.claims && !this.hasStoredSession()) return Promise.resolve(false)
    const generation = this.generation
    const lock = this.deps.lock ?? browserLock
    this.inflight = lock(() => this.deps.refresh())
      .then((pair) => {
        if (generation !== this.generation) return false
        this.start(pair)
        return true
      })
      .catch((err: unknown) => {
        // A rejected token ends the session; a network failure keeps it, to
        // try again on the next call.
        if (err instanceof ApiError && err.status >= 400 && err.status < 500 && generation === this.generation) this.end()
        return false
      })
      .finally(() => {
        this.inflight = null
      })
    return this.inflight
  }

  /** end forgets the session here (after sign-out or a rejected refresh); the cookie is the server's to clear. */
  end() {
    clearTimeout(this.timer)
    this.generation++
    this.access = null
    this.claims = null
    this.deps.store.save(null)
    this.emit()
  }

  private schedule(expiresIn: number) {
    clearTimeout(this.timer)
    const ahead = this.deps.refreshAhead ?? 0.8
    const ms = Math.max(5, expiresIn * ahead) * 1000
    this.timer = setTimeout(() => void this.refresh(), ms)
  }

  private emit() {
    for (const l of this.listeners) l(this.claims)
  }
}
