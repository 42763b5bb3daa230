import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, buildPath, call, errorMessage, setTokenSource } from './http'

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } })

afterEach(() => setTokenSource(null))

describe('call', () => {
  it('sends the bearer token and JSON, and fills the path', async () => {
    const fetchMock = vi.fn(async () => json(200, { ticket_id: 't1' }))
    vi.stubGlobal('fetch', fetchMock)
    setTokenSource({ accessToken: () => 'tok', refresh: async () => false })
    await call('POST /workflow/tickets/{id}/transitions', { params: { id: 'a/b' }, body: { to: 'in_progress' } })
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/workflow/tickets/a%2Fb/transitions')
    expect(init.method).toBe('POST')
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok')
    expect(init.body).toBe('{"to":"in_progress"}')
    // Cookies go to this origin only (the auth API's HttpOnly refresh cookie).
    expect(init.credentials).toBe('same-origin')
  })

  it('refreshes once on 401 and retries with the new token', async () => {
    let token = 'old'
    const refresh = vi.fn(async () => {
      token = 'new'
      return true
    })
    setTokenSource({ accessToken: () => token, refresh })
    const fetchMock = vi.fn(async (_url: string, init: RequestInit) =>
      (init.headers as Record<string, string>).Authorization === 'Bearer new' ? json(200, { id: 'u1' }) : json(401, { title: 'Unauthorized', status: 401, code: 'unauthorized', type: 'about:blank' }, 'application/problem+json'),
    )
    vi.stubGlobal('fetch', fetchMock)
    await expect(call('GET /auth/me')).resolves.toEqual({ id: 'u1' })
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })

  it('gives up when the refresh fails', async () => {
    setTokenSource({ accessToken: () => 'old', refresh: async () => false })
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { detail: 'token expired', status: 401, title: 'Unauthorized', code: 'unauthorized', type: 'about:blank' }, 'application/problem+json')))
    await expect(call('GET /auth/me')).rejects.toMatchObject({ status: 401, message: 'token expired' })
  })

  it('never refreshes for anonymous calls', async () => {
    const refresh = vi.fn(async () => true)
    setTokenSource({ accessToken: () => 'x', refresh })
    const fetchMock = vi.fn(async () => json(401, { detail: 'wrong e-mail or password', status: 401, title: 'Unauthorized', code: 'unauthorized', type: 'about:blank' }, 'application/problem+json'))
    vi.stubGlobal('fetch', fetchMock)
    await expect(call('POST /auth/login', { body: { email: 'a', password: 'b' }, anonymous: true })).rejects.toThrow('wrong e-mail or password')
    expect(refresh).not.toHaveBeenCalled()
    expect((fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1].headers).not.toHaveProperty('Authorization')
  })

  it('puts problem details and invalid fields into words', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(422, {
      type: 'about:blank', title: 'Unprocessable Entity', status: 422, code: 'unprocessable', detail: 'the request has invalid fields',
      errors: [{ field: 'title', message: 'is required' }],
    }, 'application/problem+json')))
    const err = await call('POST /helpdesk/tickets', { body: { title: '', category_id: 'c' } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(errorMessage(err)).toBe('the request has invalid fields: title is required')
  })

  it('answers 204 with nothing', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })))
    await expect(call('POST /auth/logout', { body: { refresh_token: 'r' }, anonymous: true })).resolves.toBeUndefined()
  })

  it('says in words when the server cannot be reached', () => {
    expect(errorMessage(new TypeError('Failed to fetch'))).toMatch(/cannot be reached/)
  })
})

describe('buildPath', () => {
  it('drops empty query values', () => {
    expect(buildPath('/helpdesk/tickets', {}, { q: 'vpn down', status: '', assignee_id: 'none', cursor: undefined })).toBe('/helpdesk/tickets?q=vpn+down&assignee_id=none')
  })
})
