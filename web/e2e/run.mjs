// The browser test: the real backend (started here, see backend.mjs) and
// Debian's Chromium driven by playwright-core. An employee signs up and
// opens a ticket; an agent finds it on the board, drags it to in_progress,
// and replies; the employee's page shows the reply live; an illegal drag
// snaps back with the server's reason; a card moves with the keyboard; the
// agent resolves the ticket with its button and the employee's bell counts
// it live over the WebSocket. Screenshots of every page go to
// e2e/screenshots/. Run with `npm run e2e` (after `npm run build`).
//
// Environment: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch,
// E2E_LOG_LEVEL for the backend's log level, E2E_DIST for another build.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { api, startBackend, waitFor } from './backend.mjs'
import { contractChecker } from './contract.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const web = resolve(here, '..')
const repo = resolve(web, '..')
// E2E_DIST: a build elsewhere than web/dist (say, while web/dist is being rebuilt).
const dist = process.env.E2E_DIST ?? join(web, 'dist')
const shots = join(here, 'screenshots')
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const started = Date.now()
const log = (msg) => console.log(`e2e [${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)

if (!existsSync(join(dist, 'index.html'))) {
  console.error('e2e: web/dist is not built: run npm run build first')
  process.exit(1)
}
if (!existsSync(executablePath)) {
  console.error(`e2e: no Chromium at ${executablePath}: apt-get install -y chromium`)
  process.exit(1)
}
rmSync(shots, { recursive: true, force: true })
mkdirSync(shots, { recursive: true })

const results = []
let passed = 0
let failed = 0
async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    passed++
    results.push(`ok   ${name} (${Date.now() - t0} ms)`)
    log(`ok   ${name}`)
  } catch (e) {
    failed++
    results.push(`FAIL ${name}: ${e.message}`)
    log(`FAIL ${name}: ${e.stack ?? e.message}`)
    throw e
  }
}

const contract = contractChecker(join(repo, 'api', 'openapi.yaml'))
const pageErrors = []
let backend
let browser
const pages = {}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

function watch(page, who) {
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Uncaught/i.test(m.text())) pageErrors.push(`${who}: ${m.text()}`)
  })
  return page
}

async function newPage(who, viewport) {
  const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Europe/Berlin' })
  context.setDefaultTimeout(15_000)
  return watch(await context.newPage(), who)
}

/** drag moves a board card onto a column with the mouse, as a person does. */
async function drag(page, ticketId, toStep) {
  const handle = page.locator(`[data-ticket-id="${ticketId}"] .card-meta`)
  await handle.scrollIntoViewIfNeeded()
  const from = await handle.boundingBox()
  const target = await page.locator(`.column[data-step="${toStep}"]`).boundingBox()
  if (!from || !target) throw new Error(`no card ${ticketId} or column ${toStep} on the board`)
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2)
  await page.mouse.down()
  await page.mouse.move(from.x + from.width / 2 + 10, from.y + from.height / 2, { steps: 3 })
  await page.mouse.move(target.x + target.width / 2, target.y + 80, { steps: 15 })
  await page.mouse.up()
}

const stepOnBoard = (page, ticketId) =>
  page.locator(`[data-ticket-id="${ticketId}"]`).evaluate((el) => el.closest('.column')?.getAttribute('data-step'))

let exitCode = 0
try {
  await step('start the backend', async () => {
    backend = await startBackend({ repo, dist, log })
  })
  const base = backend.base
  const anon = api(base)

  let adminToken, agentToken, categoryId, teamId, agentId
  await step('seed an admin, an agent, a category, a team and its process', async () => {
    await backend.cli('admin', 'create-user', '--email', 'admin@example.com', '--password', 'admin password 123', '--name', 'Ada Admin', '--role', 'admin')
    await backend.cli('admin', 'create-user', '--email', 'agent@example.com', '--password', 'agent password 123', '--name', 'Sam Agent', '--role', 'agent')
    adminToken = (await anon('POST', '/auth/login', { email: 'admin@example.com', password: 'admin password 123' }, 200)).data.access_token
    agentToken = (await anon('POST', '/auth/login', { email: 'agent@example.com', password: 'agent password 123' }, 200)).data.access_token
    const admin = api(base, adminToken)
    agentId = (await api(base, agentToken)('GET', '/auth/me', null, 200)).data.id
    const cat = (await admin('POST', '/helpdesk/categories', { name: 'Hardware', description: 'Laptops, printers, screens' }, 201)).data
    await admin('POST', '/helpdesk/categories', { name: 'Access', description: 'Accounts and VPN' }, 201)
    contract.check('POST /helpdesk/categories', 'Category', cat)
    categoryId = cat.id
    const team = (await admin('POST', '/workflow/teams', { name: 'Service desk' }, 201)).data
    contract.check('POST /workflow/teams', 'Team', team)
    teamId = team.id
    await waitFor('the agent in the workflow directory', async () => {
      const { data } = await admin('GET', '/workflow/agents', null, 200)
      return data.items.some((a) => a.user_id === agentId)
    }, 20_000)
    await admin('PUT', `/workflow/teams/${teamId}/members/${agentId}`, { available: true }, 201)
    const def = (await admin('GET', `/workflow/definitions/${categoryId}`, null, 200)).data
    contract.check('GET /workflow/definitions/{id}', 'Definition', def)
    const saved = (await admin('PUT', `/workflow/definitions/${categoryId}`, { ...def, team_id: teamId }, 200)).data
    contract.check('PUT /workflow/definitions/{id}', 'Definition', saved)
  })

  const messagingBuilt = (await api(base, agentToken)('POST', '/messaging/ws-tickets')).status < 400
  const notificationsBuilt = (await api(base, agentToken)('GET', '/notifications')).status === 200
  log(`messaging ${messagingBuilt ? 'is' : 'is NOT'} in this build; notifications ${notificationsBuilt ? 'are' : 'are NOT'}`)

  browser = await chromium.launch({
    executablePath,
    headless: !process.env.E2E_HEADED,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })
  const desktop = { width: 1440, height: 900 }
  const emp = (pages.employee = await newPage('employee', desktop))
  const agent = (pages.agent = await newPage('agent', { width: 1700, height: 950 }))
  // Every time the employee's bell asks the server for its list: a count
  // that grows while this stays put came over the WebSocket.
  const notificationFetches = []
  emp.on('request', (r) => {
    if (r.method() === 'GET' && new URL(r.url()).pathname === '/notifications') notificationFetches.push(r.url())
  })

  let ticketId
  await step('an employee signs up', async () => {
    await emp.goto(`${base}/`)
    await emp.waitForURL('**/signin**')
    await shot(emp, '01-sign-in')
    await emp.getByRole('link', { name: 'Create an account' }).click()
    await emp.getByLabel('Name').fill('Ana Employee')
    await emp.getByLabel('E-mail').fill('ana@example.com')
    await emp.getByLabel('Password (at least 10 characters)').fill('short')
    await emp.getByRole('button', { name: 'Create account' }).click()
    await emp.getByText('Use at least 10 characters for the password.').waitFor()
    await shot(emp, '02-sign-up-invalid')
    await emp.getByLabel('Password (at least 10 characters)').fill('ana password 123')
    await emp.getByRole('button', { name: 'Create account' }).click()
    await emp.waitForURL('**/tickets')
    await emp.getByText('You have not opened any ticket yet.').waitFor()
    await shot(emp, '03-my-tickets-empty')
  })

  await step('the employee opens a ticket with an attachment', async () => {
    await emp.getByRole('link', { name: 'New ticket' }).first().click()
    await emp.getByRole('heading', { name: 'New ticket' }).waitFor()
    await emp.getByRole('button', { name: 'Open ticket' }).click()
    await emp.getByText('Give the ticket a title.').waitFor()
    await emp.getByLabel('Category').selectOption({ label: 'Hardware' })
    await emp.getByLabel('Priority').selectOption('high')
    await emp.getByLabel('Title').fill('Printer on fire')
    await emp.getByLabel('Description').fill('The printer on floor 3 smokes when printing.\nIt started this morning.')
    // The file input is visually hidden: its visible "Choose files" label shows the focus.
    await emp.locator('input[type=file]').focus()
    const ring = await emp.locator('.filedrop .choose-files').evaluate((el) => getComputedStyle(el).outlineStyle)
    if (ring === 'none') throw new Error('the focused file picker shows no focus')
    if (messagingBuilt) {
      await emp.locator('input[type=file]').setInputFiles({ name: 'smoke.txt', mimeType: 'text/plain', buffer: Buffer.from('smoke '.repeat(2000)) })
      await emp.getByText('smoke.txt').waitFor()
    }
    await shot(emp, '04-new-ticket')
    await emp.getByRole('button', { name: 'Open ticket' }).click()
    await emp.waitForURL(/\/tickets\/[0-9a-f-]{36}$/, { timeout: 20_000 })
    ticketId = emp.url().split('/').pop()
    await emp.getByRole('heading', { name: 'Printer on fire' }).waitFor()
    // The workflow assigns the agent and moves the ticket to triage.
    await emp.getByTestId('step').filter({ hasText: 'Triage' }).waitFor({ timeout: 30_000 })
    await emp.getByTestId('sla-first-response').filter({ hasText: /Due in/ }).waitFor({ timeout: 30_000 })
    if (messagingBuilt) await emp.getByRole('button', { name: 'smoke.txt' }).waitFor()
    await shot(emp, '05-ticket-employee')
    const t = (await api(base, agentToken)('GET', `/helpdesk/tickets/${ticketId}`, null, 200)).data
    contract.check('GET /helpdesk/tickets/{id}', 'Ticket', t)
    if (t.assignee_id !== agentId) throw new Error(`ticket assigned to ${t.assignee_id}, want the agent ${agentId}`)
  })

  await step('the agent signs in and finds the ticket in the queue', async () => {
    await agent.goto(`${base}/signin`)
    await agent.getByLabel('E-mail').fill('agent@example.com')
    await agent.getByLabel('Password').fill('agent password 123')
    await agent.getByRole('button', { name: 'Sign in' }).click()
    await agent.waitForURL('**/queue')
    await agent.getByRole('link', { name: 'Printer on fire' }).waitFor()
    await shot(agent, '06-queue-mine')
    await agent.getByRole('tab', { name: 'Breaching soon' }).click()
    await agent.getByRole('link', { name: 'Printer on fire' }).waitFor()
    await shot(agent, '07-queue-breaching')
    await agent.getByRole('tab', { name: 'Unassigned' }).click()
    await agent.getByText('No ticket matches').waitFor()
    const list = (await api(base, agentToken)('GET', '/helpdesk/tickets?q=printer', null, 200)).data
    contract.check('GET /helpdesk/tickets', 'TicketList', list)
  })

  await step('the agent drags the card to in_progress on the board', async () => {
    await agent.getByRole('link', { name: 'Board' }).click()
    await agent.waitForURL('**/board?category=*')
    await agent.getByLabel('Category').selectOption({ label: 'Hardware' })
    await agent.waitForURL(`**/board?category=${categoryId}`)
    await agent.locator(`.column[data-step="triage"] [data-ticket-id="${ticketId}"]`).waitFor()
    await shot(agent, '08-board')
    const board = (await api(base, agentToken)('GET', `/workflow/board?category_id=${categoryId}`, null, 200)).data
    contract.check('GET /workflow/board', 'Board', board)
    await drag(agent, ticketId, 'in_progress')
    await agent.getByTestId('board-message').filter({ hasText: 'Moved “Printer on fire” to In progress.' }).waitFor()
    if ((await stepOnBoard(agent, ticketId)) !== 'in_progress') throw new Error('the card is not in In progress')
    const st = (await api(base, agentToken)('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    contract.check('GET /workflow/tickets/{id}', 'TicketState', st)
    if (st.step !== 'in_progress') throw new Error(`the workflow says ${st.step}`)
  })

  await step('an illegal drag snaps back with the server’s reason', async () => {
    await drag(agent, ticketId, 'closed')
    const msg = agent.getByTestId('board-message')
    await msg.filter({ hasText: 'cannot move to Closed' }).waitFor()
    const text = await msg.textContent()
    // The server's own words: the transition's 409 problem detail.
    const { status, data } = await api(base, agentToken)('POST', `/workflow/tickets/${ticketId}/transitions`, { to: 'closed' })
    if (status !== 409 || !text.includes(data.detail)) throw new Error(`message “${text}”, server said ${status} “${data.detail}”`)
    contract.check('409 of POST /workflow/tickets/{id}/transitions', 'Problem', data)
    await waitFor('the card back in In progress', async () => (await stepOnBoard(agent, ticketId)) === 'in_progress', 5000)
    await shot(agent, '09-board-snapped-back')
  })

  await step('the agent moves a card with the keyboard', async () => {
    // The card's drag handle is a button: focus it, pick the card up with
    // Space, carry it with the arrow keys (dnd-kit's keyboard sensor, 25 px
    // a press) until the next column is the one under it, drop it with Space.
    const handle = agent.getByRole('button', { name: 'Drag “Printer on fire”' })
    if (await handle.locator('a, button, input, select, textarea').count()) throw new Error('the drag handle holds an interactive element')
    const carry = async (toStep, key) => {
      await handle.focus()
      await agent.keyboard.press('Space')
      const over = agent.locator(`.column.over[data-step="${toStep}"]`)
      for (let i = 0; i < 60 && !(await over.count()); i++) {
        await agent.keyboard.press(key)
        await agent.waitForTimeout(40)
      }
      if (!(await over.count())) {
        await agent.keyboard.press('Escape')
        throw new Error(`the arrow keys did not carry the card over ${toStep}`)
      }
      await agent.keyboard.press('Space')
    }
    const msg = agent.getByTestId('board-message')
    await carry('waiting_on_requester', 'ArrowRight')
    await msg.filter({ hasText: 'Moved “Printer on fire” to Waiting on requester.' }).waitFor()
    await waitFor('the card in Waiting on requester', async () => (await stepOnBoard(agent, ticketId)) === 'waiting_on_requester', 5000)
    const st = (await api(base, agentToken)('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    if (st.step !== 'waiting_on_requester') throw new Error(`the workflow says ${st.step}`)
    await shot(agent, '09a-board-keyboard-move')
    // And back, the same way.
    await carry('in_progress', 'ArrowLeft')
    await msg.filter({ hasText: 'Moved “Printer on fire” to In progress.' }).waitFor()
    await waitFor('the card back in In progress', async () => (await stepOnBoard(agent, ticketId)) === 'in_progress', 5000)
    await waitFor('the workflow back in in_progress', async () =>
      (await api(base, agentToken)('GET', `/workflow/tickets/${ticketId}`, null, 200)).data.step === 'in_progress', 5000)
  })

  await step('the employee’s timeline shows the move to in progress', async () => {
    // The employee's page has been open since the ticket was opened.
    const timeline = emp.getByRole('region', { name: 'Timeline' })
    await timeline.getByText('Moved from Triage to In progress').waitFor({ timeout: 35_000 })
    await timeline.getByText('Moved from Waiting on requester to In progress').waitFor({ timeout: 35_000 })
    await emp.getByTestId('step').filter({ hasText: 'In progress' }).waitFor()
    await shot(emp, '09b-ticket-employee-timeline')
  })

  await step('the agent replies and the employee sees it live', async () => {
    if (!messagingBuilt) {
      throw new Error('the messaging service is not part of this build (POST /messaging/ws-tickets answers 404): comments and live updates cannot work')
    }
    // The employee's page has been open all along: no reload from here on.
    await emp.getByText('Live', { exact: true }).waitFor({ timeout: 20_000 })
    await agent.goto(`${base}/tickets/${ticketId}`)
    await agent.getByRole('heading', { name: 'Printer on fire' }).waitFor()
    await agent.getByText('Live', { exact: true }).waitFor({ timeout: 20_000 })
    await emp.getByText(/Also viewing: Sam Agent/).waitFor({ timeout: 10_000 })
    await agent.getByLabel('Reply').pressSequentially('Please step away from it', { delay: 15 })
    await emp.getByText('Sam Agent is typing…').waitFor({ timeout: 10_000 })
    await agent.getByLabel('Reply').fill('Please step away from the printer; I am on my way with an extinguisher.')
    await agent.getByRole('button', { name: 'Send reply' }).click()
    await emp.getByText('Please step away from the printer; I am on my way with an extinguisher.').waitFor({ timeout: 10_000 })
    await shot(emp, '10-ticket-employee-live-reply')
    // An internal note stays with the staff.
    await agent.getByRole('checkbox', { name: 'Internal note' }).check()
    await agent.getByRole('textbox', { name: 'Internal note' }).fill('Facilities informed.')
    await agent.getByRole('button', { name: 'Add note' }).click()
    // The note arrives over the socket, possibly before the POST answers and
    // the composer clears: look for it in the conversation, then wait for the
    // composer to empty.
    await agent.getByRole('list', { name: 'Messages' }).getByText('Facilities informed.').waitFor()
    await waitFor('the composer to clear', async () => (await agent.getByRole('textbox', { name: 'Internal note' }).inputValue()) === '', 5000)
    await shot(agent, '11-ticket-agent')
    await emp.waitForTimeout(1500)
    if (await emp.getByText('Facilities informed.').count()) throw new Error('the employee sees an internal note')
    const comments = (await api(base, agentToken)('GET', `/messaging/tickets/${ticketId}/comments`, null, 200)).data
    contract.check('GET /messaging/tickets/{id}/comments', 'CommentList', comments)
    const agentPage = agent.getByRole('list', { name: 'Messages' }).getByRole('listitem')
    if ((await agentPage.count()) !== 2) throw new Error(`the agent sees ${await agentPage.count()} messages, want 2`)
  })

  await step('the employee replies; the agent sees it live, once', async () => {
    await emp.getByLabel('Reply').fill('Thanks, I left the room.')
    await emp.getByRole('button', { name: 'Send reply' }).click()
    await agent.getByText('Thanks, I left the room.').waitFor({ timeout: 10_000 })
    const mine = emp.getByRole('list', { name: 'Messages' }).getByText('Thanks, I left the room.')
    await emp.waitForTimeout(500)
    if ((await mine.count()) !== 1) throw new Error(`the employee sees their reply ${await mine.count()} times`)
  })

  await step('the notification bell counts unread notifications', async () => {
    if (!notificationsBuilt) throw new Error('the notification service is not part of this build (GET /notifications fails)')
    // The employee's page has not been reloaded since sign-up, when the
    // bell's list was empty: notifications pushed over the socket count at once.
    await emp.getByTestId('unread-count').waitFor({ timeout: 20_000 })
    const bell = emp.getByRole('button', { name: /^Notifications/ })
    await bell.click()
    const panel = emp.getByRole('dialog', { name: 'Notifications' })
    await panel.waitFor()
    await shot(emp, '12-notifications')
    const list = (await api(base, (await anon('POST', '/auth/login', { email: 'ana@example.com', password: 'ana password 123' }, 200)).data.access_token)('GET', '/notifications', null, 200)).data
    contract.check('GET /notifications', 'NotificationList', list)
    // Escape closes the panel.
    await emp.keyboard.press('Escape')
    await panel.waitFor({ state: 'hidden' })
    if ((await bell.getAttribute('aria-expanded')) !== 'false') throw new Error('the bell still says its panel is open')
  })

  await step('the agent resolves the ticket with its button; the employee’s bell counts it live', async () => {
    const unread = async () => Number(await emp.getByTestId('unread-count').textContent())
    const before = await unread()
    const fetches = notificationFetches.length
    await agent.getByRole('group', { name: 'Move the ticket' }).getByRole('button', { name: 'Resolve' }).click()
    await agent.getByTestId('step').filter({ hasText: 'Resolved' }).waitFor()
    const st = (await api(base, agentToken)('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    if (st.step !== 'resolved' || st.status !== 'resolved') throw new Error(`the workflow says step ${st.step}, status ${st.status}`)
    await agent.getByRole('group', { name: 'Move the ticket' }).getByRole('button', { name: 'Move to In progress' }).waitFor()
    await shot(agent, '12a-ticket-agent-resolved')
    // The employee's page follows without a reload: the step, and the bell.
    await emp.getByTestId('step').filter({ hasText: 'Resolved' }).waitFor({ timeout: 35_000 })
    await waitFor(`the employee's bell to count more than ${before}`, async () => (await unread()) > before, 20_000)
    if (notificationFetches.length !== fetches) {
      throw new Error(`the bell asked GET /notifications again (${notificationFetches.length - fetches} times): the count did not come over the WebSocket`)
    }
    await shot(emp, '12b-ticket-employee-resolved')
  })

  await step('admin pages and the Temporal link', async () => {
    const admin = (pages.admin = await newPage('admin', desktop))
    await admin.goto(`${base}/signin`)
    await admin.getByLabel('E-mail').fill('admin@example.com')
    await admin.getByLabel('Password').fill('admin password 123')
    await admin.getByRole('button', { name: 'Sign in' }).click()
    await admin.waitForURL('**/queue')
    await admin.getByRole('link', { name: 'Admin' }).click()
    await admin.getByRole('cell', { name: 'ana@example.com' }).waitFor()
    await shot(admin, '13-admin-users')
    const adminApi = api(base, adminToken)
    contract.check('GET /auth/users', 'UserList', (await adminApi('GET', '/auth/users', null, 200)).data)
    await admin.getByRole('link', { name: 'Categories' }).click()
    await admin.getByText('Laptops, printers, screens').waitFor()
    await shot(admin, '14-admin-categories')
    contract.check('GET /helpdesk/categories', 'CategoryList', (await adminApi('GET', '/helpdesk/categories?all=true', null, 200)).data)
    await admin.getByRole('link', { name: 'Teams' }).click()
    await admin.getByRole('heading', { name: 'Service desk' }).waitFor()
    // The member's row (the team's selects list the agent's name too).
    await admin.getByRole('checkbox', { name: 'Sam Agent is available in Service desk' }).waitFor()
    await shot(admin, '15-admin-teams')
    contract.check('GET /workflow/teams', 'TeamList', (await adminApi('GET', '/workflow/teams', null, 200)).data)
    contract.check('GET /workflow/agents', 'AgentList', (await adminApi('GET', '/workflow/agents', null, 200)).data)
    await admin.getByRole('link', { name: 'Processes' }).click()
    await admin.locator('svg.diagram').waitFor()
    await admin.getByLabel('Category').selectOption({ label: 'Hardware' })
    await admin.getByText(/Version 1\b/).waitFor()
    await shot(admin, '16-admin-process')
    // An invalid process is refused with the server's reasons.
    await admin.getByRole('checkbox', { name: 'Step 6 is terminal' }).uncheck()
    await admin.getByRole('button', { name: 'Save process' }).click()
    await admin.getByRole('alert').filter({ hasText: 'the process definition is invalid' }).waitFor()
    await shot(admin, '17-admin-process-invalid')
    await admin.getByRole('button', { name: 'Undo changes' }).click()
    await admin.getByRole('link', { name: 'SLA policies' }).click()
    await admin.getByRole('form', { name: 'SLA policy urgent' }).waitFor()
    await shot(admin, '18-admin-sla')
    contract.check('GET /workflow/sla-policies', 'SLAPolicyList', (await adminApi('GET', '/workflow/sla-policies', null, 200)).data)
    await admin.goto(`${base}/tickets/${ticketId}`)
    const link = admin.getByRole('link', { name: 'Open the workflow run in the Temporal UI' })
    await link.waitFor()
    const href = await link.getAttribute('href')
    if (!href.includes(`ticket-${ticketId}`)) throw new Error(`Temporal link ${href}`)
    await shot(admin, '19-ticket-admin')
    contract.check('GET /helpdesk/tickets/{id}/history', 'HistoryList', (await adminApi('GET', `/helpdesk/tickets/${ticketId}/history`, null, 200)).data)
    contract.check('GET /auth/me', 'User', (await adminApi('GET', '/auth/me', null, 200)).data)
  })

  await step('pages on a phone', async () => {
    const phone = { width: 390, height: 844 }
    const printer = (p) => p.getByText('Printer on fire').first()
    for (const [who, email, password, path, name, ready = printer] of [
      ['employee', 'ana@example.com', 'ana password 123', '/tickets', '20-phone-my-tickets'],
      ['employee', 'ana@example.com', 'ana password 123', `/tickets/${ticketId}`, '21-phone-ticket'],
      ['agent', 'agent@example.com', 'agent password 123', `/board?category=${categoryId}`, '22-phone-board'],
      ['agent', 'agent@example.com', 'agent password 123', '/queue', '24-phone-queue'],
      ['employee', 'ana@example.com', 'ana password 123', '/tickets/new', '25-phone-new-ticket', (p) => p.getByLabel('Title')],
      ['admin', 'admin@example.com', 'admin password 123', '/admin/users', '26-phone-admin-users', (p) => p.getByRole('combobox', { name: 'Role of Ana Employee' })],
      ['admin', 'admin@example.com', 'admin password 123', '/admin/processes', '27-phone-admin-processes', (p) => p.getByLabel('Key of step 1')],
    ]) {
      const p = await newPage(`${who} on a phone`, phone)
      await p.goto(`${base}/signin?next=${encodeURIComponent(path)}`)
      await p.getByLabel('E-mail').fill(email)
      await p.getByLabel('Password').fill(password)
      await p.getByRole('button', { name: 'Sign in' }).click()
      await p.waitForURL(`**${path}`)
      await ready(p).waitFor()
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      if (overflow > 2) {
        await shot(p, `${name}-overflow`)
        const wide = await p.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 2 && !el.closest('.board, .diagram-wrap, .table-scroll'))
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`),
        )
        throw new Error(`${path} is ${overflow}px wider than a phone: ${wide.join(', ')}`)
      }
      await shot(p, name)
      if (name === '20-phone-my-tickets') {
        // The bell sits at the left on a phone: its panel must still be on the screen, all of it.
        await p.getByRole('button', { name: /^Notifications/ }).click()
        const panel = p.getByRole('dialog', { name: 'Notifications' })
        await panel.getByRole('link').first().waitFor()
        const box = await panel.boundingBox()
        if (!box || box.x < 0 || box.y < 0 || box.x + box.width > phone.width || box.y + box.height > phone.height) {
          await shot(p, '23a-phone-bell-off-screen')
          throw new Error(`the bell's panel is at ${JSON.stringify(box)}, outside the ${phone.width}×${phone.height} screen`)
        }
        await shot(p, '23a-phone-bell')
        await p.keyboard.press('Escape')
        await panel.waitFor({ state: 'hidden' })
        await p.getByRole('button', { name: 'Menu' }).click()
        await shot(p, '23-phone-menu')
      }
      if (path === '/admin/processes') {
        // The editor's tables are wider than a phone: they scroll in their own region, not the page.
        const steps = p.getByRole('region', { name: 'Steps' })
        const { scrollWidth, clientWidth } = await steps.evaluate((el) => ({ scrollWidth: el.scrollWidth, clientWidth: el.clientWidth }))
        if (scrollWidth <= clientWidth) throw new Error(`the Steps table (${scrollWidth}px) fits a ${clientWidth}px region: nothing to scroll?`)
      }
      await p.context().close()
    }
  })

  await step('a reload keeps the session; sign-out ends it', async () => {
    // No script can read a token: web storage holds at most the app's
    // 'a session may exist' marker, and the refresh token is in an HttpOnly
    // cookie that document.cookie does not show.
    const scriptView = () =>
      emp.evaluate(() => ({
        storage: [localStorage, sessionStorage].flatMap((st) => Object.keys(st).map((k) => [k, st.getItem(k) ?? ''])),
        cookie: document.cookie,
      }))
    const leaks = async (when) => {
      const { storage, cookie } = await scriptView()
      const jar = await emp.context().cookies()
      const refresh = jar.find((c) => /refresh/.test(c.name))
      if (!refresh) throw new Error(`${when}: no refresh cookie in the browser: ${jar.map((c) => c.name).join(', ')}`)
      if (!refresh.httpOnly || refresh.sameSite !== 'Strict' || refresh.path !== '/auth') {
        throw new Error(`${when}: refresh cookie is ${JSON.stringify({ ...refresh, value: '…' })}`)
      }
      const tokenish = (v) => /eyJ[\w-]+\.[\w-]+\./.test(v) || /token|refresh/i.test(v)
      const bad = storage.filter(([k, v]) => /token|refresh/i.test(k) || tokenish(v) || v.includes(refresh.value))
      if (bad.length) throw new Error(`${when}: script-readable storage holds ${bad.map(([k]) => k).join(', ')}`)
      if (/refresh/i.test(cookie) || cookie.includes(refresh.value)) throw new Error(`${when}: document.cookie shows the refresh token`)
      return refresh.value
    }
    const before = await leaks('signed in')
    await emp.reload()
    await emp.getByRole('heading', { name: 'Printer on fire' }).waitFor()
    // The reload refreshed through the cookie, which the server rotated.
    if ((await leaks('after a reload')) === before) throw new Error('the reload did not rotate the refresh cookie')
    await emp.getByRole('button', { name: 'Sign out' }).click()
    await emp.waitForURL('**/signin')
    const after = await scriptView()
    if (after.storage.some(([k]) => k.startsWith('ticketflow.session'))) throw new Error('the session marker outlived sign-out')
    // Logout's answer clears the cookie; it may land just after the redirect.
    let left = []
    for (const until = Date.now() + 5000; Date.now() < until; await emp.waitForTimeout(100)) {
      left = (await emp.context().cookies()).filter((c) => /refresh/.test(c.name))
      if (!left.length) break
    }
    if (left.length) throw new Error(`sign-out left the refresh cookie: ${left.map((c) => c.name)}`)
    await emp.goto(`${base}/tickets`)
    await emp.waitForURL('**/signin?next=%2Ftickets')
  })

  if (pageErrors.length) {
    await step('no errors in the pages', async () => {
      throw new Error(pageErrors.join('\n'))
    })
  }
  await step('the backend answers as api/openapi.yaml says', async () => {
    if (contract.problems.length) throw new Error(contract.problems.join('\n'))
  })
} catch (e) {
  exitCode = 1
  for (const [who, page] of Object.entries(pages)) {
    await page.screenshot({ path: join(shots, `failure-${who}.png`), fullPage: true }).catch(() => {})
  }
  if (backend) {
    const logFile = join(shots, 'backend.log')
    writeFileSync(logFile, backend.logs())
    log(`backend log: ${logFile}`)
  }
} finally {
  await browser?.close().catch(() => {})
  await backend?.stop()
}
console.log(`\n${results.join('\n')}`)
console.log(`screenshots: ${shots}`)
console.log(`e2e: ${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(0)}s`)
process.exit(exitCode || (failed ? 1 : 0))

