// The frame every browser test script in e2e/features/ shares: where things
// are, numbered steps with a summary, Debian's Chromium, pages that record
// their errors (uncaught ones, and CSP violations and uncaught errors in the
// console, as run.mjs does; a script marks the ones it provokes with
// t.expectConsoleError), sign-in, the desk most scripts start from, and, on a
// failure, screenshots of every page and the backend's log.
//
//   const t = browserTest('surveys')
//   await t.run(async () => {
//     await t.step('start the backend', async () => { await t.start() })
//     const desk = await t.step('seed the desk', () => seedDesk(t.backend))
//     const page = await t.newPage('employee')
//     ...
//   })
//
// Screenshots go to e2e/screenshots/<name>/. Environment: CHROMIUM (default
// /usr/bin/chromium), E2E_HEADED=1 to watch.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { api, startBackend, waitFor } from './backend.mjs'
import { contractChecker } from './contract.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const web = resolve(here, '..')
const repo = resolve(web, '..')
const dist = join(web, 'dist')
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'

/** browserTest prepares a script named name (its log prefix and screenshot folder). */
export function browserTest(name) {
  const started = Date.now()
  const shots = join(here, 'screenshots', name)
  const log = (msg) => console.log(`${name} [${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)
  if (!existsSync(join(dist, 'index.html'))) {
    console.error(`${name}: web/dist is not built: run npm run build first`)
    process.exit(1)
  }
  if (!existsSync(executablePath)) {
    console.error(`${name}: no Chromium at ${executablePath}: apt-get install -y chromium`)
    process.exit(1)
  }
  rmSync(shots, { recursive: true, force: true })
  mkdirSync(shots, { recursive: true })

  const results = []
  let passed = 0
  let failed = 0
  const t = {
    repo,
    dist,
    shots,
    log,
    /** Checks answers against api/openapi.yaml; problems collect in contract.problems. */
    contract: contractChecker(join(repo, 'api', 'openapi.yaml')),
    /** Uncaught errors, CSP violations and uncaught console errors of every page, as "who: message". */
    pageErrors: [],
    /** The console errors a script provoked on purpose (see expectConsoleError), as "who: message". */
    expectedErrors: [],
    /** The marks of expectConsoleError still waiting for their error. */
    expected: [],
    pages: {},
    backend: undefined,
    browser: undefined,

    /** step runs fn as a numbered step of the summary and returns its value; a failure ends the script. */
    async step(stepName, fn) {
      const t0 = Date.now()
      try {
        const value = await fn()
        passed++
        results.push(`ok   ${stepName} (${Date.now() - t0} ms)`)
        log(`ok   ${stepName}`)
        return value
      } catch (e) {
        failed++
        results.push(`FAIL ${stepName}: ${e.message}`)
        log(`FAIL ${stepName}: ${e.stack ?? e.message}`)
        throw e
      }
    },

    /** start starts the backend (env: extra environment for ticketflow dev) and the browser. */
    async start(env = {}) {
      Object.assign(process.env, env)
      t.backend = await startBackend({ repo, dist, log })
      t.browser = await chromium.launch({
        executablePath,
        headless: !process.env.E2E_HEADED,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      })
      return t.backend
    },

    /** newPage opens a page in a fresh browser context for who (one person, one session). */
    async newPage(who, viewport = { width: 1400, height: 900 }) {
      const context = await t.browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Europe/Berlin' })
      context.setDefaultTimeout(15_000)
      const page = await context.newPage()
      page.on('pageerror', (e) => t.pageErrors.push(`${who}: ${e.message}`))
      // As run.mjs: a CSP violation or an uncaught error in the console fails
      // the script (at t.clean()), unless the script said it provokes it.
      page.on('console', (m) => {
        if (m.type() !== 'error' || !/Content Security Policy|Uncaught/i.test(m.text())) return
        const i = t.expected.findIndex((x) => x.page === page && x.pattern.test(m.text()))
        if (i < 0) return void t.pageErrors.push(`${who}: ${m.text()}`)
        t.expected.splice(i, 1)
        t.expectedErrors.push(`${who}: ${m.text()}`)
      })
      // The app asks before deleting: the person says yes.
      page.on('dialog', (d) => void d.accept())
      t.pages[who] = page
      return page
    },

    /**
     * expectConsoleError marks the next console error of page that matches
     * pattern as provoked on purpose: it is kept in expectedErrors instead of
     * failing the script. Returns a function that waits until it was seen.
     */
    expectConsoleError(page, pattern) {
      const mark = { page, pattern }
      t.expected.push(mark)
      return (timeout = 5000) => waitFor(`the expected console error ${pattern}`, async () => !t.expected.includes(mark), timeout)
    },

    /** signIn signs in on page and waits for landing (a URL pattern). */
    async signIn(page, email, password, landing) {
      await page.goto(`${t.backend.base}/signin`)
      await page.getByLabel('E-mail').fill(email)
      await page.getByLabel('Password').fill(password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(landing)
    },

    /** shot saves a full-page screenshot as <file>.png. */
    shot(page, file) {
      return page.screenshot({ path: join(shots, `${file}.png`), fullPage: true })
    },

    /** clean fails unless no page had an error and every answer matched api/openapi.yaml. */
    clean() {
      if (t.expected.length) throw new Error(`expected console errors that never came: ${t.expected.map((x) => x.pattern).join('; ')}`)
      if (t.pageErrors.length) throw new Error(`page errors: ${t.pageErrors.join('; ')}`)
      if (t.contract.problems.length) throw new Error(t.contract.problems.join('\n'))
    },

    /** run runs body, cleans up (backend, browser, then cleanup), prints the summary and exits. */
    async run(body, cleanup = async () => {}) {
      let exitCode = 0
      try {
        await body()
      } catch {
        exitCode = 1
        if (t.pageErrors.length) log(`page errors: ${t.pageErrors.join('; ')}`)
        for (const [who, page] of Object.entries(t.pages)) {
          await page.screenshot({ path: join(shots, `failure-${who}.png`), fullPage: true }).catch(() => {})
        }
        if (t.backend) {
          writeFileSync(join(shots, 'backend.log'), t.backend.logs())
          log(`backend log: ${join(shots, 'backend.log')}`)
        }
      } finally {
        await t.browser?.close().catch(() => {})
        await t.backend?.stop()
        await cleanup()
      }
      console.log(`\n${results.join('\n')}`)
      console.log(`screenshots: ${shots}`)
      console.log(`${name}: ${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(0)}s`)
      process.exit(exitCode || (failed ? 1 : 0))
    },
  }
  return t
}

/**
 * seedDesk makes what most scripts start from: an admin and an agent (with
 * the CLI, as an operator would), a category handled by a team of the agent
 * (available), and, unless employee is false, an employee who signed up.
 * Returns API clients (see backend.mjs's api) and the IDs.
 */
export async function seedDesk(backend, { team = 'Service desk', category = 'Hardware', employee = true } = {}) {
  const base = backend.base
  const anon = api(base)
  const login = async (email, password) => api(base, (await anon('POST', '/auth/login', { email, password }, 200)).data.access_token)
  await backend.cli('admin', 'create-user', '--email', 'admin@example.com', '--password', 'admin password 123', '--name', 'Ada Admin', '--role', 'admin')
  await backend.cli('admin', 'create-user', '--email', 'agent@example.com', '--password', 'agent password 123', '--name', 'Sam Agent', '--role', 'agent')
  const admin = await login('admin@example.com', 'admin password 123')
  const agent = await login('agent@example.com', 'agent password 123')
  const agentId = (await agent('GET', '/auth/me', null, 200)).data.id
  const categoryId = (await admin('POST', '/helpdesk/categories', { name: category }, 201)).data.id
  const teamId = (await admin('POST', '/workflow/teams', { name: team }, 201)).data.id
  await waitFor('the agent in the workflow directory', async () =>
    (await admin('GET', '/workflow/agents', null, 200)).data.items.some((a) => a.user_id === agentId), 20_000)
  await admin('PUT', `/workflow/teams/${teamId}/members/${agentId}`, { available: true }, 201)
  const def = (await admin('GET', `/workflow/definitions/${categoryId}`, null, 200)).data
  await admin('PUT', `/workflow/definitions/${categoryId}`, { ...def, team_id: teamId }, 200)
  let emp
  if (employee) {
    await anon('POST', '/auth/register', { email: 'ana@example.com', password: 'ana password 123', name: 'Ana Employee' }, 201)
    emp = await login('ana@example.com', 'ana password 123')
  }
  return { anon, login, admin, agent, agentId, teamId, categoryId, employee: emp }
}

/** qpDecode undoes the quoted-printable encoding of a mail part. */
export const qpDecode = (s) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))

/** mails returns the decoded text of every .eml file the backend wrote to dir, oldest first by name. */
export function mails(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => qpDecode(readFileSync(join(dir, f), 'utf8')))
}

export { api, waitFor }
