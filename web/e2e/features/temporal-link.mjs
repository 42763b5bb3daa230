// Browser test of the admins' link to a ticket's run in the Temporal UI.
// The gateway lets a browser into /temporal/ only with the session cookie
// of POST /auth/temporal-session, so a click on the link must get that
// cookie (with the admin's bearer token) before the tab it opened goes to
// the run. `ticketflow dev` serves no /temporal/ of its own, so this checks
// what it can: the click makes a successful POST /auth/temporal-session
// whose Set-Cookie is the one auth's /auth/verify-admin (nginx's
// auth_request) admits, then the new tab is sent to the run's URL; agents
// and requesters see no link, and auth refuses them the cookie. Screenshots
// go to e2e/screenshots/temporal-link/. Run with
// `node e2e/features/temporal-link.mjs` after `npm run build`.
import { browserTest, seedDesk, waitFor } from '../harness.mjs'

const linkName = 'Open the workflow run in the Temporal UI'

const t = browserTest('temporal-link')
await t.run(async () => {
  const backend = await t.step('start the backend', () => t.start())
  const base = backend.base

  let ticketId
  const desk = await t.step('seed the desk and an employee’s ticket, assigned', async () => {
    const d = await seedDesk(backend)
    ticketId = (await d.employee('POST', '/helpdesk/tickets', { title: 'Printer on fire', description: 'Smoke on floor 3', category_id: d.categoryId, priority: 'normal' }, 201)).data.id
    await waitFor('the ticket assigned', async () => (await d.agent('GET', `/workflow/tickets/${ticketId}`)).data?.assignee_id === d.agentId, 30_000)
    return d
  })

  await t.step('the admin’s click gets the Temporal UI session, then sends the new tab to the run', async () => {
    const page = await t.newPage('admin')
    await t.signIn(page, 'admin@example.com', 'admin password 123', /\/(admin|queue)/)
    await page.goto(`${base}/tickets/${ticketId}`)
    const link = page.getByRole('link', { name: linkName })
    await link.waitFor({ timeout: 20_000 })
    const href = await link.getAttribute('href')
    if (!href?.includes(`ticket-${ticketId}`)) throw new Error(`link to ${href}`)
    const state = (await desk.admin('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    if (state.temporal_url !== href) throw new Error(`link ${href}, temporal_url ${state.temporal_url}`)

    const requested = []
    page.context().on('request', (r) => requested.push(`${r.method()} ${r.url()}`))
    const session = page.waitForResponse((r) => r.url() === `${base}/auth/temporal-session` && r.request().method() === 'POST')
    const popup = page.waitForEvent('popup')
    await link.click()
    const res = await session
    await popup
    if (res.status() !== 204) throw new Error(`POST /auth/temporal-session: ${res.status()} ${await res.text()}`)
    if (!/^Bearer \S+/.test((await res.request().headerValue('authorization')) ?? '')) throw new Error('the session was asked for without the bearer token')
    const cookie = (await res.headerValue('set-cookie')) ?? ''
    for (const part of ['__Secure-ticketflow-temporal=', 'Path=/temporal', 'HttpOnly', 'Secure', 'SameSite=Strict']) {
      if (!cookie.includes(part)) throw new Error(`Set-Cookie “${cookie}” lacks ${part}`)
    }
    // The cookie is what the gateway's auth_request admits.
    const value = cookie.split(';')[0]
    const verify = await fetch(`${base}/auth/verify-admin`, { headers: { Cookie: value } })
    if (verify.status !== 204) throw new Error(`/auth/verify-admin with the cookie: ${verify.status}`)
    const none = await fetch(`${base}/auth/verify-admin`)
    if (none.status !== 401) throw new Error(`/auth/verify-admin without a cookie: ${none.status}`)
    // Only then does the tab go to the run.
    await waitFor('the new tab sent to the run', async () => requested.includes(`GET ${href}`), 10_000)
    const order = requested.findIndex((r) => r === `POST ${base}/auth/temporal-session`)
    if (order < 0 || order > requested.indexOf(`GET ${href}`)) throw new Error(`requests in this order: ${requested.join(', ')}`)
    if ((await page.getByRole('alert').count()) !== 0) throw new Error(`an error is shown: ${await page.getByRole('alert').first().textContent()}`)
    await t.shot(page, '01-admin-ticket')
  })

  await t.step('agents and requesters see no link, and get no session', async () => {
    for (const [who, email, password, landing] of [
      ['agent', 'agent@example.com', 'agent password 123', '**/queue'],
      ['employee', 'ana@example.com', 'ana password 123', '**/tickets'],
    ]) {
      const page = await t.newPage(who)
      await t.signIn(page, email, password, landing)
      await page.goto(`${base}/tickets/${ticketId}`)
      await page.getByRole('heading', { name: 'Printer on fire' }).waitFor()
      // The workflow state has loaded (the SLA panel shows it): the link would be there by now.
      await page.getByTestId('sla-first-response').waitFor({ timeout: 20_000 })
      if ((await page.getByRole('link', { name: linkName }).count()) !== 0) throw new Error(`the ${who} sees the link`)
      await t.shot(page, `02-${who}-ticket`)
    }
    for (const [who, client] of [['agent', desk.agent], ['employee', desk.employee]]) {
      const { status } = await client('POST', '/auth/temporal-session')
      if (status !== 403) throw new Error(`POST /auth/temporal-session for the ${who}: ${status}, want 403`)
    }
    t.clean()
  })
})
