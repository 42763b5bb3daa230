// Browser test of canned replies and macros: the admin keeps a team's canned
// reply and macros in Admin → Canned replies (an unknown placeholder is
// refused); the agent inserts the canned reply, rendered for the ticket,
// into the reply box, edits and sends it; applies a macro that moves the
// step, raises the priority and replies in one click; and is told why a
// macro whose step is not allowed was refused, with nothing posted.
// Screenshots go to e2e/screenshots/canned/. Run with
// `node e2e/features/canned.mjs` after `npm run build`.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { api, startBackend, waitFor } from '../backend.mjs'
import { contractChecker } from '../contract.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const web = resolve(here, '..', '..')
const repo = resolve(web, '..')
const dist = join(web, 'dist')
const shots = join(here, '..', 'screenshots', 'canned')
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const started = Date.now()
const log = (msg) => console.log(`canned [${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)

if (!existsSync(join(dist, 'index.html'))) {
  console.error('canned: web/dist is not built: run npm run build first')
  process.exit(1)
}
rmSync(shots, { recursive: true, force: true })
mkdirSync(shots, { recursive: true })

const results = []
let failed = 0
async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
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
const pages = {}
let backend
let browser
let exitCode = 0

async function newPage(who) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/Berlin' })
  context.setDefaultTimeout(15_000)
  const page = await context.newPage()
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`))
  page.on('dialog', (d) => void d.accept())
  pages[who] = page
  return page
}

async function signIn(page, base, email, password, landing) {
  await page.goto(`${base}/signin`)
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(landing)
}

/** fillMacro fills the admin's new-macro form and submits it. */
async function fillMacro(page, { name, body = '', step: toStep = '', priority = '' }) {
  const form = page.locator('form[aria-label="New macro"]')
  await form.getByLabel('Name', { exact: true }).fill(name)
  await form.getByLabel('Text').fill(body)
  await form.getByLabel('Move to step').fill(toStep)
  await form.getByLabel('Set priority').selectOption(priority)
  await form.getByRole('button', { name: 'Add macro' }).click()
  return form
}

try {
  await step('start the backend', async () => {
    backend = await startBackend({ repo, dist, log })
  })
  const base = backend.base
  const anon = api(base)

  let admin, agent, employee, agentId, teamId, categoryId, ticketId
  await step('seed an admin, an agent, a team, a category and an employee’s ticket', async () => {
    await backend.cli('admin', 'create-user', '--email', 'admin@example.com', '--password', 'admin password 123', '--name', 'Ada Admin', '--role', 'admin')
    await backend.cli('admin', 'create-user', '--email', 'agent@example.com', '--password', 'agent password 123', '--name', 'Sam Agent', '--role', 'agent')
    admin = api(base, (await anon('POST', '/auth/login', { email: 'admin@example.com', password: 'admin password 123' }, 200)).data.access_token)
    agent = api(base, (await anon('POST', '/auth/login', { email: 'agent@example.com', password: 'agent password 123' }, 200)).data.access_token)
    agentId = (await agent('GET', '/auth/me', null, 200)).data.id
    categoryId = (await admin('POST', '/helpdesk/categories', { name: 'Hardware' }, 201)).data.id
    teamId = (await admin('POST', '/workflow/teams', { name: 'Service desk' }, 201)).data.id
    await waitFor('the agent in the workflow directory', async () =>
      (await admin('GET', '/workflow/agents', null, 200)).data.items.some((a) => a.user_id === agentId), 20_000)
    await admin('PUT', `/workflow/teams/${teamId}/members/${agentId}`, { available: true }, 201)
    const def = (await admin('GET', `/workflow/definitions/${categoryId}`, null, 200)).data
    await admin('PUT', `/workflow/definitions/${categoryId}`, { ...def, team_id: teamId }, 200)
    await anon('POST', '/auth/register', { email: 'ana@example.com', password: 'ana password 123', name: 'Ana Employee' }, 201)
    employee = api(base, (await anon('POST', '/auth/login', { email: 'ana@example.com', password: 'ana password 123' }, 200)).data.access_token)
    ticketId = (await employee('POST', '/helpdesk/tickets', { title: 'Printer on fire', description: 'Smoke on floor 3', category_id: categoryId, priority: 'normal' }, 201)).data.id
    await waitFor('the ticket assigned', async () => (await agent('GET', `/workflow/tickets/${ticketId}`)).data?.assignee_id === agentId, 30_000)
  })

  browser = await chromium.launch({
    executablePath,
    headless: !process.env.E2E_HEADED,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })

  await step('the admin keeps the team’s canned reply and macros; an unknown placeholder is refused', async () => {
    const page = await newPage('admin')
    await signIn(page, base, 'admin@example.com', 'admin password 123', /\/(admin|queue)/)
    await page.goto(`${base}/admin/macros`)
    await page.getByRole('heading', { name: 'Canned replies and macros' }).waitFor()
    let form = await fillMacro(page, { name: 'Bad', body: 'Dear {{requester.email}}' })
    await form.getByRole('alert').filter({ hasText: 'unknown placeholder' }).waitFor()
    await page.screenshot({ path: join(shots, '01-admin-unknown-placeholder.png'), fullPage: true })
    form = await fillMacro(page, { name: 'Greeting', body: 'Hello {{requester.name}}, we are looking at “{{ticket.title}}”.' })
    await page.locator('li[data-macro="Greeting"]').waitFor()
    await fillMacro(page, { name: 'Start work', body: '{{agent.name}} is on it.', step: 'in_progress', priority: 'urgent' })
    await page.locator('li[data-macro="Start work"]').getByText('priority → urgent').waitFor()
    await fillMacro(page, { name: 'Close now', body: 'Closing this ticket.', step: 'closed' })
    await page.locator('li[data-macro="Close now"]').waitFor()
    // Edit one, then check the list through the API.
    await page.locator('li[data-macro="Greeting"]').getByRole('button', { name: 'Edit' }).click()
    const edit = page.locator('form[aria-label="Edit Greeting"]')
    await edit.getByLabel('Text').fill('Hello {{requester.name}}, we are looking at “{{ticket.title}}” ({{ticket.id}}).')
    await edit.getByRole('button', { name: 'Save' }).click()
    await page.locator('li[data-macro="Greeting"]').getByText('({{ticket.id}})').waitFor()
    await page.screenshot({ path: join(shots, '02-admin-macros.png'), fullPage: true })
    const list = (await admin('GET', '/workflow/macros', null, 200)).data
    contract.check('GET /workflow/macros', 'MacroList', list)
    if (list.items.length !== 3 || list.items.some((m) => m.name === 'Bad')) throw new Error(`macros ${JSON.stringify(list.items.map((m) => m.name))}`)
  })

  await step('the agent inserts the canned reply, edits it and sends it', async () => {
    const page = await newPage('agent')
    await signIn(page, base, 'agent@example.com', 'agent password 123', /\/(queue|board|tickets)/)
    await page.goto(`${base}/tickets/${ticketId}`)
    const picker = page.getByTestId('macro-picker')
    await picker.getByLabel('Canned reply or macro').selectOption({ label: 'Greeting' })
    await page.getByTestId('macro-preview').filter({ hasText: 'Hello Ana Employee' }).waitFor()
    await picker.getByRole('button', { name: 'Insert' }).click()
    const reply = page.locator('#reply')
    const text = await reply.inputValue()
    const want = `Hello Ana Employee, we are looking at “Printer on fire” (${ticketId}).`
    if (text !== want) throw new Error(`inserted ${JSON.stringify(text)}, want ${JSON.stringify(want)}`)
    await reply.fill(`${text} Please keep away from it.`)
    await page.screenshot({ path: join(shots, '03-agent-inserted.png'), fullPage: true })
    await page.getByRole('button', { name: 'Send reply' }).click()
    await page.locator('.comment-body').filter({ hasText: 'Please keep away from it.' }).waitFor()
    const rendered = (await agent('GET', `/workflow/tickets/${ticketId}/macros`, null, 200)).data
    contract.check('GET /workflow/tickets/{id}/macros', 'TicketMacroList', rendered)
  })

  await step('the agent applies a macro: step, priority and reply in one click', async () => {
    const page = pages.agent
    const picker = page.getByTestId('macro-picker')
    await picker.getByLabel('Canned reply or macro').selectOption({ label: 'Start work ⚡' })
    await picker.getByRole('button', { name: 'Apply macro' }).click()
    await page.getByTestId('macro-result').filter({ hasText: 'moved to in_progress, priority set to urgent, reply sent' }).waitFor({ timeout: 30_000 })
    await page.locator('.comment-body').filter({ hasText: 'Sam Agent is on it.' }).waitFor()
    await page.screenshot({ path: join(shots, '04-agent-applied.png'), fullPage: true })
    const st = (await agent('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    const tk = (await agent('GET', `/helpdesk/tickets/${ticketId}`, null, 200)).data
    if (st.step !== 'in_progress' || tk.priority !== 'urgent') throw new Error(`step ${st.step}, priority ${tk.priority}`)
  })

  await step('a macro whose step is not allowed is refused and posts nothing', async () => {
    const page = pages.agent
    const before = (await agent('GET', `/messaging/tickets/${ticketId}/comments`, null, 200)).data.items.length
    const picker = page.getByTestId('macro-picker')
    await picker.getByLabel('Canned reply or macro').selectOption({ label: 'Close now ⚡' })
    await picker.getByRole('button', { name: 'Apply macro' }).click()
    await picker.getByRole('alert').filter({ hasText: 'cannot be reached' }).waitFor()
    await page.screenshot({ path: join(shots, '05-agent-refused.png'), fullPage: true })
    const after = (await agent('GET', `/messaging/tickets/${ticketId}/comments`, null, 200)).data.items.length
    const st = (await agent('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    if (after !== before || st.step !== 'in_progress') throw new Error(`comments ${before} → ${after}, step ${st.step}`)
    // The requester sees the replies, and no picker.
    const emp = await newPage('employee')
    await signIn(emp, base, 'ana@example.com', 'ana password 123', '**/tickets')
    await emp.goto(`${base}/tickets/${ticketId}`)
    await emp.locator('.comment-body').filter({ hasText: 'Sam Agent is on it.' }).waitFor()
    if (await emp.getByTestId('macro-picker').count()) throw new Error('the requester is offered macros')
    await emp.screenshot({ path: join(shots, '06-requester-view.png'), fullPage: true })
    if (contract.problems.length) throw new Error(contract.problems.join('\n'))
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`)
  })
} catch (e) {
  exitCode = 1
  for (const [who, page] of Object.entries(pages)) {
    await page.screenshot({ path: join(shots, `failure-${who}.png`), fullPage: true }).catch(() => {})
  }
  if (backend) writeFileSync(join(shots, 'backend.log'), backend.logs())
} finally {
  await browser?.close().catch(() => {})
  await backend?.stop()
}
console.log(`\n${results.join('\n')}`)
console.log(`canned: ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)}s`)
process.exit(exitCode || (failed ? 1 : 0))
