// The HTTP core of the API client: JSON in and out, the bearer token, one
// silent refresh and retry on 401, and errors as ApiError carrying the
// server's problem document (RFC 9457).
import type { paths } from './schema'
import type { Problem } from './types'

/** ApiError is a failed call; `message` is fit to show to a person. */
export class ApiError extends Error {
  readonly status: number
  readonly problem?: Problem

  constructor(status: number, problem?: Problem, fallback?: string) {
    super(describeProblem(status, problem, fallback))
    this.name = 'ApiError'
    this.status = status
    this.problem = problem
  }
}

/** describeProblem puts a problem document into words: its detail, then each invalid field. */
export function describeProblem(status: number, p?: Problem, fallback?: string): string {
  if (!p) return fallback ?? `The server answered ${status}.`
  let text = p.detail || p.title || `The server answered ${status}.`
  if (p.errors?.length) {
    text += ': ' + p.errors.map((e) => `${e.field} ${e.message}`).join('; ')
  }
  return text
}

/** errorMessage turns anything thrown into a sentence for the user. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof TypeError) return 'The server cannot be reached. Check your connection and try again.'
  if (err instanceof Error) return err.message
  return String(err)
}

/** TokenSource is what the client needs of the signed-in session. */
export interface TokenSource {
  /** accessToken returns the current access token, or null when signed out. */
  accessToken(): string | null
  /** refresh gets a new access token; false when the session is over. */
  refresh(): Promise<boolean>
}

let tokens: TokenSource | null = null

/** setTokenSource plugs the session into the client (AuthProvider does). */
export function setTokenSource(t: TokenSource | null) {
  tokens = t
}

export function currentAccessToken(): string | null {
  return tokens?.accessToken() ?? null
}

// ---- Routes typed from the OpenAPI paths --------------------------------

type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch'
type Defined<T> = [T] extends [never] ? false : [T] extends [undefined] ? false : true

/** Route is "METHOD /path" for every operation of api/openapi.yaml. */
export type Route = {
  [P in keyof paths]: {
    [M in HttpMethod]: Defined<paths[P][M]> extends true ? `${Uppercase<M>} ${P & string}` : never
  }[HttpMethod]
}[keyof paths]

type Op<R extends Route> = R extends `${infer M} ${infer P}`
  ? P extends keyof paths
    ? Lowercase<M> extends keyof paths[P]
      ? NonNullable<paths[P][Lowercase<M>]>
      : never
    : never
  : never

type JsonOf<X> = X extends { content: { 'application/json': infer J } } ? J : void

/** Ok is the JSON a route answers with on success (200, else 201, else nothing). */
export type Ok<R extends Route> =
  Op<R> extends { responses: infer Rs }
    ? 200 extends keyof Rs
      ? JsonOf<Rs[200]>
      : 201 extends keyof Rs
        ? JsonOf<Rs[201]>
        : void
    : never

/** BodyOf is a route's JSON request body. */
export type BodyOf<R extends Route> =
  Op<R> extends { requestBody: { content: { 'application/json': infer B } } } ? B : never

export interface CallOptions<R extends Route> {
  params?: Record<string, string>
  query?: Record<string, string | number | boolean | undefined | null>
  body?: BodyOf<R>
  /** anonymous calls send no token and never refresh */
  anonymous?: boolean
  signal?: AbortSignal
}

/** buildPath fills a route's {params} and appends the query. */
export function buildPath(template: string, params: Record<string, string> = {}, query: CallOptions<Route>['query'] = {}): string {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name]
    if (v === undefined) throw new Error(`missing path parameter ${name} of ${template}`)
    return encodeURIComponent(v)
  })
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v))
  }
  const s = qs.toString()
  return s ? `${path}?${s}` : path
}

/** call makes one API call; a 401 triggers one refresh and one retry. */
export async function call<R extends Route>(route: R, opts: CallOptions<R> = {}): Promise<Ok<R>> {
  const space = route.indexOf(' ')
  const method = route.slice(0, space)
  const url = buildPath(route.slice(space + 1), opts.params, opts.query)
  const send = () => {
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
    const token = opts.anonymous ? null : currentAccessToken()
    if (token) headers.Authorization = `Bearer ${token}`
    return fetch(url, {
      method,
      headers,
      // Same-origin requests carry cookies: the auth API's HttpOnly refresh
      // cookie (scoped to /auth) rides along; no other origin gets any.
      credentials: 'same-origin',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    })
  }
  let res = await send()
  if (res.status === 401 && !opts.anonymous && tokens && (await tokens.refresh())) {
    res = await send()
  }
  return (await readResponse(res)) as Ok<R>
}

/** readResponse returns a response's JSON, or throws ApiError for a failure. */
export async function readResponse(res: Response): Promise<unknown> {
  const type = res.headers.get('Content-Type') ?? ''
  if (!res.ok) {
    let problem: Problem | undefined
    if (type.includes('json')) {
      try {
        problem = (await res.json()) as Problem
      } catch {
        problem = undefined
      }
    }
    throw new ApiError(res.status, problem, res.status >= 500 ? 'The server had a problem. Try again in a moment.' : undefined)
  }
  if (res.status === 204 || !type.includes('json')) return undefined
  return res.json()
}
