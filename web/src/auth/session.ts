// The signed-in session: the access token lives in memory only; the
// refresh token in memory and, so that a reload keeps the user signed in,
// in this tab's sessionStorage (see web/README.md for the trade-off).
// Refreshes are single-flight: concurrent 401s share one refresh, because
// the server rotates refresh tokens and treats a spent one presented again
// as theft, revoking the whole session.
import { ApiError, type TokenSource } from '../api/http'
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

/** RefreshStore keeps the refresh token across reloads. */
export interface RefreshStore {
  load(): string | null
  save(token: string | null): void
}

const storageKey = 'ticketflow.refresh'

/** tabStore keeps the refresh token in this tab's sessionStorage. */
export const tabStore: RefreshStore = {
  load: () => {
    try {
      return sessionStorage.getItem(storageKey)
    } catch {
      return null
    }
  },
  save: (token) => {
    try {
      if (token) sessionStorage.setItem(storageKey, token)
      else sessionStorage.removeItem(storageKey)
    } catch {
      // Storage may be disabled: the session then lasts until a reload.
    }
  },
}

export interface SessionDeps {
  refresh: (refreshToken: string) => Promise<TokenPair>
  store: RefreshStore
  now?: () => number
  /** refreshAhead is the share of the access token's life after which it is renewed. */
  refreshAhead?: number
}

type Listener = (claims: Claims | null) => void

/** Session holds the tokens and renews the access token before it expires. */
export class Session implements TokenSource {
  private access: string | null = null
  private refreshToken: string | null = null
  private claims: Claims | null = null
  private inflight: Promise<boolean> | null = null
  private timer: ReturnType<typeof setTimeout> | undefined
  private listeners = new Set<Listener>()
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

  /** hasStoredSession tells whether a reload can resume a session. */
  hasStoredSession(): boolean {
    return !!(this.refreshToken ?? this.deps.store.load())
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  /** start takes a fresh token pair (after sign-in or a refresh). */
  start(pair: TokenPair) {
    const claims = decodeClaims(pair.access_token)
    if (!claims) throw new Error('The server sent an access token this app cannot read.')
    this.access = pair.access_token
    if (pair.refresh_token) {
      this.refreshToken = pair.refresh_token
      this.deps.store.save(pair.refresh_token)
    }
    this.claims = claims
    this.schedule(pair.expires_in)
    this.emit()
  }

  /** restore resumes the session kept across a reload, if any. */
  restore(): Promise<boolean> {
    if (!this.refreshToken) this.refreshToken = this.deps.store.load()
    return this.refresh()
  }

  /** refresh trades the refresh token for a new pair; false when the session is over. */
  refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight
    const token = this.refreshToken ?? this.deps.store.load()
    if (!token) return Promise.resolve(false)
    this.inflight = this.deps
      .refresh(token)
      .then((pair) => {
        this.start(pair)
        return true
      })
      .catch((err: unknown) => {
        // A rejected token ends the session; a network failure keeps it, to
        // try again on the next call.
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) this.end()
        return false
      })
      .finally(() => {
        this.inflight = null
      })
    return this.inflight
  }

  /** end forgets every token (after sign-out or a rejected refresh). */
  end() {
    clearTimeout(this.timer)
    this.access = null
    this.refreshToken = null
    this.claims = null
    this.deps.store.save(null)
    this.emit()
  }

  /** takeRefreshToken returns the refresh token for sign-out, forgetting the session. */
  takeRefreshToken(): string | null {
    const t = this.refreshToken ?? this.deps.store.load()
    this.end()
    return t
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
