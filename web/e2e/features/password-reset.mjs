// Browser test of password reset: an employee who forgot the password
// follows "Forgot your password?" on the sign-in page, asks for a link,
// opens the mailed link (read from the backend's MAIL_DIR), chooses a new
// password and signs in with it; the old password no longer works, and the
// link, opened again, is refused with the server's reason. Screenshots go
// to e2e/screenshots/password-reset/. Run with
// `node e2e/features/password-reset.mjs` after `npm run build`.
import { api, browserTest, mails, waitFor } from '../harness.mjs'

const email = 'ana@example.com'
const oldPassword = 'ana password 123'
const newPassword = 'a brand new passphrase'

const t = browserTest('password-reset')
await t.run(async () => {
  const backend = await t.step('start the backend', () => t.start())
  const base = backend.base
  const anon = api(base)

  await t.step('an employee has an account', async () => {
    await anon('POST', '/auth/register', { email, password: oldPassword, name: 'Ana Employee' }, 201)
    await anon('POST', '/auth/login', { email, password: oldPassword }, 200)
  })


  await t.step('"Forgot your password?" on the sign-in page asks for a link', async () => {
    const page = await t.newPage('employee')
    await page.goto(`${base}/signin`)
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await page.waitForURL('**/forgot-password')
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor()
    await page.getByLabel('E-mail').fill(email)
    await t.shot(page, '01-forgot')
    await page.getByRole('button', { name: 'Send me a link' }).click()
    await page.getByTestId('reset-requested').filter({ hasText: `If an account exists for ${email}` }).waitFor()
    await t.shot(page, '02-requested')
    // The server's answer is the same for an unknown address.
    const known = await anon('POST', '/auth/password-reset', { email }, 202)
    const unknown = await anon('POST', '/auth/password-reset', { email: 'nobody@example.com' }, 202)
    t.contract.check('POST /auth/password-reset', 'PasswordResetAccepted', known.data)
    if (JSON.stringify(known.data) !== JSON.stringify(unknown.data)) throw new Error(`answers differ: ${JSON.stringify(known.data)} / ${JSON.stringify(unknown.data)}`)
  })

  let link
  await t.step('the link is mailed', async () => {
    await waitFor('the password reset e-mail', async () => {
      for (const text of mails(backend.env.MAIL_DIR)) {
        const m = text.includes(email) && text.match(/(https?:\/\/[^\s"<>]+\/reset-password\?token=[A-Za-z0-9_-]+)/)
        if (m) {
          link = m[1]
          return true
        }
      }
      return false
    }, 30_000)
    if (!link.startsWith(`${base}/reset-password?token=`)) throw new Error(`link ${link}`)
  })

  await t.step('the link sets a new password, and the employee signs in with it', async () => {
    const page = t.pages.employee
    await page.goto(link)
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
    await page.getByLabel('New password (at least 10 characters)').fill(newPassword)
    await page.getByLabel('Repeat the new password').fill(newPassword)
    await t.shot(page, '03-choose')
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await page.getByTestId('reset-done').waitFor()
    await t.shot(page, '04-done')
    await page.getByRole('link', { name: 'Sign in' }).click()
    await page.waitForURL('**/signin')
    await page.getByLabel('E-mail').fill(email)
    await page.getByLabel('Password').fill(newPassword)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL('**/tickets')
    await t.shot(page, '05-signed-in')
    await anon('POST', '/auth/login', { email, password: oldPassword }, 401)
  })

  await t.step('the link, opened again, is refused with the server’s reason', async () => {
    const page = await t.newPage('again')
    await page.goto(link)
    await page.getByLabel('New password (at least 10 characters)').fill('yet another passphrase')
    await page.getByLabel('Repeat the new password').fill('yet another passphrase')
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await page.getByRole('alert').filter({ hasText: 'already used' }).waitFor()
    await t.shot(page, '06-link-spent')
    await anon('POST', '/auth/login', { email, password: newPassword }, 200)
    await anon('POST', '/auth/login', { email, password: 'yet another passphrase' }, 401)
    t.clean()
  })
})
