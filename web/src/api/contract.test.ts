// @vitest-environment node
// The client must not drift from api/openapi.yaml: the generated types must
// be those of the current spec, and every route the client calls must be
// one the spec describes.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'

// Tests run in web/.
const specURL = pathToFileURL(resolve('../api/openapi.yaml'))
const spec = parse(readFileSync(specURL, 'utf8')) as { paths: Record<string, Record<string, unknown>> }

/** routesIn finds every "METHOD /path" literal in a source file of the client. */
function routesIn(file: string): string[] {
  const src = readFileSync(resolve('src/api', file), 'utf8')
  return [...src.matchAll(/'(GET|POST|PUT|PATCH|DELETE) (\/[^']*)'/g)].map((m) => `${m[1]} ${m[2]}`)
}

describe('the API client against api/openapi.yaml', () => {
  it('has types generated from the current spec (run npm run gen:api)', async () => {
    const fresh = astToString(await openapiTS(specURL))
    const committed = readFileSync(resolve('src/api/schema.ts'), 'utf8')
    expect(committed.includes(fresh), 'src/api/schema.ts is stale: run npm run gen:api').toBe(true)
  })

  it('calls only routes the spec describes', () => {
    const routes = routesIn('./endpoints.ts')
    expect(routes.length).toBeGreaterThan(30)
    const missing = routes.filter((r) => {
      const [method, path] = r.split(' ')
      return !spec.paths[path]?.[method.toLowerCase()]
    })
    expect(missing).toEqual([])
  })

  it('describes every route the architecture promises', () => {
    for (const r of [
      'POST /auth/register', 'POST /auth/login', 'POST /auth/refresh', 'POST /auth/logout', 'GET /auth/me',
      'GET /auth/users', 'PATCH /auth/users/{id}', 'GET /helpdesk/categories', 'POST /helpdesk/categories',
      'POST /helpdesk/tickets', 'GET /helpdesk/tickets', 'GET /helpdesk/tickets/{id}', 'GET /helpdesk/tickets/{id}/history',
      'GET /workflow/tickets/{id}', 'POST /workflow/tickets/{id}/transitions', 'POST /workflow/tickets/{id}/assignee',
      'GET /workflow/board', 'GET /workflow/teams', 'POST /workflow/teams', 'PUT /workflow/teams/{id}/members/{user_id}',
      'DELETE /workflow/teams/{id}/members/{user_id}', 'GET /workflow/definitions/{category_id}',
      'PUT /workflow/definitions/{category_id}', 'GET /workflow/sla-policies/{priority}', 'PUT /workflow/sla-policies/{priority}',
      'GET /messaging/tickets/{id}/comments', 'POST /messaging/tickets/{id}/comments', 'POST /messaging/tickets/{id}/attachments',
      'GET /messaging/attachments/{id}', 'POST /messaging/ws-tickets', 'GET /messaging/ws', 'GET /notifications',
      'POST /notifications/{id}/read',
    ]) {
      const [method, path] = r.split(' ')
      expect(spec.paths[path]?.[method.toLowerCase()], r).toBeTruthy()
    }
  })
})
