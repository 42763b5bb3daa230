// Browser test of workload-aware assignment: the admin switches a team to
// "fewest open tickets" and gives an agent a capacity of 1 on the team
// page; the team's first ticket goes to that agent, the second waits in
// triage (the team is full) and is assigned as soon as the first is
// resolved. Screenshots go to e2e/screenshots/workload/. Run with
// `node e2e/features/workload.mjs` after `npm run build`.
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
const shots = join(here, '..', 'screenshots', 'workload')
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const started = Date.now()
const log = (msg) => console.log(`workload [${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)

if (!existsSync(join(dist, 'index.html'))) {
  console.error('workload: web/dist is not built: run npm run build first')
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
let backend
let browser
let page
let exitCode = 0

try {
  await step('start the backend', async () => {
    backend = await startBackend({ repo, dist, log })
  })
  const base = backend.base
  const anon = api(base)

  let admin, agent, employee, agentId, teamId, categoryId
  await step('seed an admin, an agent in a team, a category and an employee', async () => {
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
  })

  browser = await chromium.launch({
    executablePath,
    headless: !process.env.E2E_HEADED,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })

  await step('the admin sets the strategy and a capacity on the team page', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB' })
    context.setDefaultTimeout(15_000)
    page = await context.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${base}/signin`)
    await page.getByLabel('E-mail').fill('admin@example.com')
    await page.getByLabel('Password').fill('admin password 123')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL('**/queue')
    await page.goto(`${base}/admin/teams`)
    await page.getByRole('heading', { name: 'Service desk' }).waitFor()
    await page.getByLabel('Strategy of Service desk').selectOption('fewest_open')
    const capacity = page.getByLabel('Capacity of Sam Agent in Service desk')
    await capacity.fill('0')
    await capacity.press('Enter')
    await page.getByRole('alert').filter({ hasText: 'capacity' }).waitFor()
    await page.screenshot({ path: join(shots, '01-capacity-refused.png'), fullPage: true })
    await capacity.fill('1')
    await capacity.press('Enter')
    await waitFor('strategy and capacity saved', async () => {
      const t = (await admin('GET', `/workflow/teams/${teamId}`, null, 200)).data
      return t.strategy === 'fewest_open' && t.members[0]?.capacity === 1
    }, 10_000)
    await page.reload()
    await page.getByLabel('Strategy of Service desk').waitFor()
    if ((await page.getByLabel('Strategy of Service desk').inputValue()) !== 'fewest_open') throw new Error('the strategy did not stay')
    if ((await page.getByLabel('Capacity of Sam Agent in Service desk').inputValue()) !== '1') throw new Error('the capacity did not stay')
    await page.screenshot({ path: join(shots, '02-team-configured.png'), fullPage: true })
    contract.check('GET /workflow/teams/{id}', 'Team', (await admin('GET', `/workflow/teams/${teamId}`, null, 200)).data)
  })

  await step('a full team keeps the next ticket waiting until a ticket is resolved', async () => {
    const open = async (title) => (await employee('POST', '/helpdesk/tickets', { title, category_id: categoryId, priority: 'normal' }, 201)).data.id
    const first = await open('First ticket')
    await waitFor('the first ticket assigned', async () => (await agent('GET', `/workflow/tickets/${first}`)).data?.assignee_id === agentId, 30_000)
    const second = await open('Second ticket')
    await waitFor('the second ticket waiting', async () => (await agent('GET', `/workflow/tickets/${second}`)).data?.waiting_for_agent === true, 30_000)
    await page.reload()
    await page.getByTestId(`open-${agentId}`).filter({ hasText: '1 open' }).waitFor()
    await page.screenshot({ path: join(shots, '03-agent-full.png'), fullPage: true })
    await agent('POST', `/workflow/tickets/${first}/transitions`, { to: 'in_progress' }, 200)
    await agent('POST', `/workflow/tickets/${first}/transitions`, { to: 'resolved' }, 200)
    // The freed place signals the waiting ticket at once (well before the
    // 10-minute re-check).
    await waitFor('the second ticket assigned', async () => (await agent('GET', `/workflow/tickets/${second}`)).data?.assignee_id === agentId, 30_000)
    await page.reload()
    await page.getByTestId(`open-${agentId}`).filter({ hasText: '1 open' }).waitFor()
    if (contract.problems.length) throw new Error(contract.problems.join('\n'))
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`)
  })
} catch (e) {
  exitCode = 1
  await page?.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {})
  if (backend) writeFileSync(join(shots, 'backend.log'), backend.logs())
} finally {
  await browser?.close().catch(() => {})
  await backend?.stop()
}
console.log(`\n${results.join('\n')}`)
console.log(`workload: ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)}s`)
process.exit(exitCode || (failed ? 1 : 0))
