// Browser test of satisfaction surveys: an agent resolves an employee's
// ticket; its workflow asks for a rating; the employee rates it from the
// ticket page; the e-mailed one-click link is then spent (the page says so);
// the admin sees the rating in Admin → Satisfaction. Screenshots go to
// e2e/screenshots/surveys/. Run with `node e2e/features/surveys.mjs` after
// `npm run build`.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { api, startBackend, waitFor } from '../backend.mjs'
import { contractChecker } from '../contract.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const web = resolve(here, '..', '..')
const repo = resolve(web, '..')
const dist = join(web, 'dist')
const shots = join(here, '..', 'screenshots', 'surveys')
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const started = Date.now()
const log = (msg) => console.log(`surveys [${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)

if (!existsSync(join(dist, 'index.html'))) {
  console.error('surveys: web/dist is not built: run npm run build first')
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

/** qpDecode undoes the quoted-printable encoding of a mail part. */
const qpDecode = (s) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))

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

try {
  await step('start the backend', async () => {
    backend = await startBackend({ repo, dist, log })
  })
  const base = backend.base
  const anon = api(base)

  let admin, agent, employee, agentId, teamId, categoryId, ticketId
  await step('seed an admin, an agent, a team, a category and an employee', async () => {
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

  await step('the agent resolves the employee’s ticket', async () => {
    ticketId = (await employee('POST', '/helpdesk/tickets', { title: 'Printer on fire', description: 'Smoke on floor 3', category_id: categoryId, priority: 'high' }, 201)).data.id
    await waitFor('the ticket assigned', async () => (await agent('GET', `/workflow/tickets/${ticketId}`)).data?.assignee_id === agentId, 30_000)
    await agent('POST', `/workflow/tickets/${ticketId}/transitions`, { to: 'in_progress' }, 200)
    await agent('POST', `/workflow/tickets/${ticketId}/transitions`, { to: 'resolved', note: 'Replaced the fuser' }, 200)
    await waitFor('the survey asked', async () => (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data.status === 'pending', 30_000)
    const sv = (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data
    contract.check('GET /helpdesk/tickets/{id}/survey', 'Survey', sv)
    if (sv.agent_id !== agentId || sv.team_id !== teamId) throw new Error(`survey counts for ${sv.agent_id}/${sv.team_id}`)
  })

  let link
  await step('the requester is mailed one-click links', async () => {
    const dir = backend.env.MAIL_DIR
    await waitFor('the survey e-mail', async () => {
      for (const f of existsSync(dir) ? readdirSync(dir) : []) {
        const text = qpDecode(readFileSync(join(dir, f), 'utf8'))
        const m = text.includes('How did we do?') && text.match(/(https?:\/\/[^\s"<>]+\/survey\?[^\s"<>]+)/)
        if (m) {
          link = m[1].replace(/&amp;/g, '&')
          return true
        }
      }
      return false
    }, 30_000)
    if (!link.startsWith(`${base}/survey?`) || !link.includes('token=')) throw new Error(`link ${link}`)
  })

  browser = await chromium.launch({
    executablePath,
    headless: !process.env.E2E_HEADED,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })

  await step('the requester rates the ticket from its page', async () => {
    const emp = await newPage('employee')
    await signIn(emp, base, 'ana@example.com', 'ana password 123', '**/tickets')
    await emp.goto(`${base}/tickets/${ticketId}`)
    await emp.getByRole('heading', { name: 'How did we do?' }).waitFor({ timeout: 30_000 })
    await emp.screenshot({ path: join(shots, '01-ticket-survey.png'), fullPage: true })
    await emp.getByLabel('Comment (optional)').fill('Fixed within the hour, thanks!')
    await emp.getByRole('button', { name: '👍 Good' }).click()
    await emp.getByTestId('survey-rating').filter({ hasText: 'You rated this ticket 👍 good' }).waitFor()
    await emp.getByText('Fixed within the hour, thanks!').waitFor()
    await emp.screenshot({ path: join(shots, '02-ticket-rated.png'), fullPage: true })
    const sv = (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data
    if (sv.status !== 'rated' || sv.rating !== 'good' || sv.rated_via !== 'app') throw new Error(`survey ${JSON.stringify(sv)}`)
  })

  await step('the e-mailed link is spent: the first rating stands', async () => {
    const page = await newPage('link')
    await page.goto(link.replace('rating=good', 'rating=bad'))
    await page.getByRole('heading', { name: 'How did we do?' }).waitFor()
    await page.screenshot({ path: join(shots, '03-link-page.png'), fullPage: true })
    await page.getByRole('button', { name: 'Send my rating' }).click()
    await page.getByRole('alert').filter({ hasText: 'rated already' }).waitFor()
    await page.screenshot({ path: join(shots, '04-link-spent.png'), fullPage: true })
    // A tampered link is refused as invalid.
    await page.goto(`${base}/survey?token=${encodeURIComponent('x.y.z')}&rating=good`)
    await page.getByRole('button', { name: 'Send my rating' }).click()
    await page.getByRole('alert').filter({ hasText: 'invalid' }).waitFor()
    const sv = (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data
    if (sv.rating !== 'good') throw new Error(`rating became ${sv.rating}`)
  })

  await step('the admin sees the rating per agent and team', async () => {
    const page = await newPage('admin')
    await signIn(page, base, 'admin@example.com', 'admin password 123', /\/(admin|queue)/)
    await page.goto(`${base}/admin/surveys`)
    await page.getByTestId('survey-overall').filter({ hasText: '1 ratings: 1 good, 0 bad' }).waitFor()
    await page.getByTestId('survey-agents').getByRole('row', { name: /Sam Agent\s+1\s+0\s+100%/ }).waitFor()
    await page.getByTestId('survey-teams').getByRole('row', { name: /Service desk\s+1\s+0/ }).waitFor()
    await page.getByTestId('survey-recent').getByText('Fixed within the hour, thanks!').waitFor()
    await page.screenshot({ path: join(shots, '05-admin-report.png'), fullPage: true })
    const rep = (await admin('GET', '/helpdesk/surveys/report', null, 200)).data
    contract.check('GET /helpdesk/surveys/report', 'SurveyReport', rep)
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
console.log(`surveys: ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)}s`)
process.exit(exitCode || (failed ? 1 : 0))
