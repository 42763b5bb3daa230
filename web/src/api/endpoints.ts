// Every API call the app makes, by service. Each names its route as
// "METHOD /path" of api/openapi.yaml: the types come from the spec, and
// endpoints.test.ts fails when a route here is not in it.
import { call } from './http'
import type {
  BoardTicket, Category, Comment, Definition, NewTicket, Priority, Rating, Role, SLAPolicy, TeamStrategy, Ticket, TicketStatus,
} from './types'

export interface TicketQuery {
  status?: TicketStatus | ''
  priority?: Priority | ''
  assignee_id?: string
  category_id?: string
  requester_id?: string
  q?: string
  sort?: 'created' | 'updated' | 'priority'
  cursor?: string
  limit?: number
}

export const authApi = {
  register: (body: { email: string; password: string; name: string }) =>
    call('POST /auth/register', { body, anonymous: true }),
  login: (body: { email: string; password: string }) => call('POST /auth/login', { body, anonymous: true }),
  refresh: (refresh_token: string) => call('POST /auth/refresh', { body: { refresh_token }, anonymous: true }),
  logout: (refresh_token: string) => call('POST /auth/logout', { body: { refresh_token }, anonymous: true }),
  requestPasswordReset: (email: string) => call('POST /auth/password-reset', { body: { email }, anonymous: true }),
  confirmPasswordReset: (token: string, password: string) =>
    call('POST /auth/password-reset/confirm', { body: { token, password }, anonymous: true }),
  me: () => call('GET /auth/me'),
  users: (query: { q?: string; role?: Role | ''; cursor?: string } = {}) => call('GET /auth/users', { query: { limit: 100, ...query } }),
  patchUser: (id: string, body: { role?: Role; active?: boolean; name?: string }) =>
    call('PATCH /auth/users/{id}', { params: { id }, body }),
  /**
   * temporalSession trades an admin's access token for the cookie the
   * gateway asks for at /temporal/ (204, Set-Cookie scoped to /temporal): a
   * navigation to the Temporal UI cannot carry a bearer token.
   */
  temporalSession: async (): Promise<void> => {
    await call('POST /auth/temporal-session')
  },
}

export const helpdeskApi = {
  categories: (all = false) => call('GET /helpdesk/categories', { query: { all: all || undefined } }),
  createCategory: (body: { name: string; description?: string }) => call('POST /helpdesk/categories', { body }),
  patchCategory: (id: string, body: Partial<Pick<Category, 'name' | 'description' | 'active'>>) =>
    call('PATCH /helpdesk/categories/{id}', { params: { id }, body }),
  tickets: (query: TicketQuery = {}) => call('GET /helpdesk/tickets', { query: { ...query } }),
  createTicket: (body: NewTicket) => call('POST /helpdesk/tickets', { body }),
  ticket: (id: string) => call('GET /helpdesk/tickets/{id}', { params: { id } }),
  history: (id: string) => call('GET /helpdesk/tickets/{id}/history', { params: { id } }),
  survey: (id: string) => call('GET /helpdesk/tickets/{id}/survey', { params: { id } }),
  rate: (id: string, rating: Rating, comment: string) =>
    call('POST /helpdesk/tickets/{id}/survey', { params: { id }, body: { rating, comment } }),
  /** rateByLink answers a survey e-mail's link: the token is the credential, no session is needed. */
  rateByLink: (token: string, rating: Rating, comment: string) =>
    call('POST /helpdesk/surveys/rate', { body: { token, rating, comment }, anonymous: true }),
  surveyReport: () => call('GET /helpdesk/surveys/report'),
}

export const workflowApi = {
  state: (id: string) => call('GET /workflow/tickets/{id}', { params: { id } }),
  transition: (id: string, to: string, note?: string) =>
    call('POST /workflow/tickets/{id}/transitions', { params: { id }, body: note ? { to, note } : { to } }),
  assign: (id: string, agent_id: string) => call('POST /workflow/tickets/{id}/assignee', { params: { id }, body: { agent_id } }),
  board: (category_id?: string) => call('GET /workflow/board', { query: { category_id } }),
  agents: () => call('GET /workflow/agents'),
  teams: () => call('GET /workflow/teams'),
  createTeam: (name: string) => call('POST /workflow/teams', { body: { name } }),
  putMember: (teamId: string, userId: string, available: boolean, capacity?: number | null) =>
    call('PUT /workflow/teams/{id}/members/{user_id}', {
      params: { id: teamId, user_id: userId },
      body: capacity === undefined ? { available } : { available, capacity },
    }),
  patchTeam: (teamId: string, body: { name?: string; strategy?: TeamStrategy; lead_id?: string | null }) =>
    call('PATCH /workflow/teams/{id}', { params: { id: teamId }, body }),
  /** deleteTeam deletes a team with its members; 409 while a process or a ticket still needs it. */
  deleteTeam: (teamId: string) => call('DELETE /workflow/teams/{id}', { params: { id: teamId } }),
  removeMember: (teamId: string, userId: string) =>
    call('DELETE /workflow/teams/{id}/members/{user_id}', { params: { id: teamId, user_id: userId } }),
  definition: (categoryId: string) => call('GET /workflow/definitions/{category_id}', { params: { category_id: categoryId } }),
  saveDefinition: (categoryId: string, body: Definition) =>
    call('PUT /workflow/definitions/{category_id}', { params: { category_id: categoryId }, body }),
  slaPolicies: () => call('GET /workflow/sla-policies'),
  saveSlaPolicy: (priority: Priority, body: SLAPolicy) =>
    call('PUT /workflow/sla-policies/{priority}', { params: { priority }, body }),
}

export const messagingApi = {
  comments: (id: string, cursor?: string) => call('GET /messaging/tickets/{id}/comments', { params: { id }, query: { cursor } }),
  addComment: (id: string, body: string, internal: boolean) =>
    call('POST /messaging/tickets/{id}/comments', { params: { id }, body: { body, internal } }),
  attachments: (id: string) => call('GET /messaging/tickets/{id}/attachments', { params: { id } }),
  wsTicket: () => call('POST /messaging/ws-tickets'),
}

/** attachmentRoute is the upload route, for the XMLHttpRequest in upload.ts. */
export const attachmentRoute = 'POST /messaging/tickets/{id}/attachments' as const
/** downloadRoute is where an attachment's bytes are. */
export const downloadRoute = 'GET /messaging/attachments/{id}' as const

export const notificationApi = {
  list: (cursor?: string) => call('GET /notifications', { query: { cursor } }),
  read: (id: string) => call('POST /notifications/{id}/read', { params: { id } }),
  readAll: () => call('POST /notifications/read-all'),
}

/** mailInApi is the admins' e-mail in setting: which receiving address opens tickets in which category ("*" is every other address). */
export const mailInApi = {
  addresses: () => call('GET /notifications/inbound/addresses'),
  put: (address: string, category_id: string) =>
    call('PUT /notifications/inbound/addresses/{address}', { params: { address }, body: { category_id } }),
  remove: (address: string) => call('DELETE /notifications/inbound/addresses/{address}', { params: { address } }),
}

type WebhookBody = import('./schema').components['schemas']['NewWebhook']
type WebhookChange = import('./schema').components['schemas']['WebhookPatch']

/** webhookApi is the admins' webhooks out: endpoints and their delivery logs. */
export const webhookApi = {
  list: () => call('GET /workflow/webhooks'),
  create: (body: WebhookBody) => call('POST /workflow/webhooks', { body }),
  patch: (id: string, body: WebhookChange) => call('PATCH /workflow/webhooks/{id}', { params: { id }, body }),
  remove: (id: string) => call('DELETE /workflow/webhooks/{id}', { params: { id } }),
  deliveries: (id: string) => call('GET /workflow/webhooks/{id}/deliveries', { params: { id } }),
}

/** macroApi is the teams' canned replies and macros: admins keep them, agents insert or apply them. */
export const macroApi = {
  list: (team_id?: string) => call('GET /workflow/macros', { query: { team_id } }),
  create: (body: import('./types').NewMacro) => call('POST /workflow/macros', { body }),
  patch: (id: string, body: import('./types').MacroPatch) => call('PATCH /workflow/macros/{id}', { params: { id }, body }),
  remove: (id: string) => call('DELETE /workflow/macros/{id}', { params: { id } }),
  /** forTicket lists the caller's macros with their bodies rendered for the ticket. */
  forTicket: (ticketId: string) => call('GET /workflow/tickets/{id}/macros', { params: { id: ticketId } }),
  apply: (ticketId: string, macroId: string) =>
    call('POST /workflow/tickets/{id}/macros/{macro_id}/apply', { params: { id: ticketId, macro_id: macroId } }),
}

/** allComments reads every page of a ticket's conversation. */
export async function allComments(ticketId: string): Promise<Comment[]> {
  const out: Comment[] = []
  let cursor: string | undefined
  for (let page = 0; page < 50; page++) {
    const res = await messagingApi.comments(ticketId, cursor)
    out.push(...res.items)
    if (!res.next_cursor) break
    cursor = res.next_cursor
  }
  return out
}

/** hasDue reports whether a board row has an SLA deadline running. */
export function nextDue(t: Pick<BoardTicket, 'first_response_due' | 'resolution_due'>): string | null {
  const dues = [t.first_response_due, t.resolution_due].filter((d): d is string => !!d)
  if (dues.length === 0) return null
  return dues.sort()[0]
}

export type { Ticket }
