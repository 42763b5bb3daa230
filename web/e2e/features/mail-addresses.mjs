// Browser test of Admin → Incoming mail (issue 12, e-mail in): the admin
// maps support@example.com to a category and sees it listed, changes the
// default ("any other address"), is refused a malformed address with the
// server's reason, and deletes a mapping; then messages posted to SendGrid's
// Inbound Parse open tickets in the mapped categories. Screenshots go to
// e2e/screenshots/mail-addresses/. Run with
// `node e2e/features/mail-addresses.mjs` after `npm run build`.
import { browserTest, seedDesk, waitFor } from '../harness.mjs'

const secret = 'e2e-inbound-parse-secret-0123456789'

/** inboundParse posts raw as SendGrid's Inbound Parse does ("POST the raw, full MIME message" on). */
async function inboundParse(base, raw) {
  const form = new FormData()
  form.set('to', 'support@example.com')
  form.set('email', raw)
  const res = await fetch(`${base}/notifications/inbound/sendgrid`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`sendgrid:${secret}`).toString('base64')}` },
    body: form,
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`Inbound Parse: ${res.status} ${text}`)
  return JSON.parse(text)
}

const plainMail = (from, to, subject, body) => [
  `From: ${from}`, `To: ${to}`, `Message-ID: <${crypto.randomUUID()}@mail.example.org>`, `Subject: ${subject}`,
  'Date: Fri, 27 Nov 2026 12:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, '',
].join('\r\n')

const t = browserTest('mail-addresses')
await t.run(async () => {
  const backend = await t.step('start the backend with Inbound Parse on', () => t.start({ MAIL_IN_SENDGRID_SECRET: secret }))
  const base = backend.base

  const { admin, categoryId: hardwareId } = await t.step('seed the desk, a second category and two mappings', () => seedDesk(backend, { employee: false }))
  const softwareId = (await admin('POST', '/helpdesk/categories', { name: 'Software' }, 201)).data.id
  await admin('PUT', '/notifications/inbound/addresses/*', { category_id: hardwareId }, 200)
  await admin('PUT', '/notifications/inbound/addresses/legacy@example.com', { category_id: softwareId }, 200)

  const page = await t.newPage('admin')
  const row = (address) => page.locator(`ul[aria-label="Mappings"] li[data-address="${address}"]`)
  const form = page.getByRole('form', { name: 'Map an address' })

  await t.step('the admin opens Admin → Incoming mail and sees the mappings', async () => {
    await t.signIn(page, 'admin@example.com', 'admin password 123', /\/(admin|queue)/)
    await page.goto(`${base}/admin`)
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Incoming mail' }).click()
    await page.waitForURL('**/admin/mail')
    await row('legacy@example.com').filter({ hasText: 'legacy@example.com → Software' }).waitFor()
    await row('*').filter({ hasText: 'any other address → Hardware' }).waitFor()
    await t.shot(page, '01-mappings')
  })

  await t.step('the admin maps support@example.com to Hardware and sees it listed', async () => {
    await form.getByLabel('Receiving address').fill('Support@Example.com')
    await form.getByLabel('Category').selectOption({ label: 'Hardware' })
    await form.getByRole('button', { name: 'Save mapping' }).click()
    await row('support@example.com').filter({ hasText: 'support@example.com → Hardware' }).waitFor()
    const addresses = await page.locator('ul[aria-label="Mappings"] li').evaluateAll((ls) => ls.map((l) => l.dataset.address))
    if (addresses.join() !== 'legacy@example.com,support@example.com,*') throw new Error(`listed ${addresses}`)
    if (await form.getByLabel('Receiving address').inputValue() !== '') throw new Error('the form was not cleared')
    await t.shot(page, '02-support-mapped')
  })

  await t.step('the admin changes the default to Software', async () => {
    await row('*').getByRole('button', { name: 'Change' }).click()
    if (await form.getByLabel('Receiving address').inputValue() !== '*') throw new Error('the form does not hold the default')
    await form.getByLabel('Category').selectOption({ label: 'Software' })
    await form.getByRole('button', { name: 'Save mapping' }).click()
    await row('*').filter({ hasText: 'any other address → Software' }).waitFor()
    await t.shot(page, '03-default-changed')
  })

  await t.step('a malformed address is refused with the server’s reason', async () => {
    await form.getByLabel('Receiving address').fill('support at example.com')
    await form.getByLabel('Category').selectOption({ label: 'Hardware' })
    await form.getByRole('button', { name: 'Save mapping' }).click()
    await page.getByRole('alert').filter({ hasText: 'The mapping was refused: the request has invalid fields: address must be an e-mail address or *' }).waitFor()
    await t.shot(page, '04-refused')
    await form.getByLabel('Receiving address').fill('')
  })

  await t.step('the admin deletes the legacy mapping', async () => {
    await row('legacy@example.com').getByRole('button', { name: 'Delete' }).click()
    await row('legacy@example.com').waitFor({ state: 'detached' })
    await t.shot(page, '05-deleted')
    const list = (await admin('GET', '/notifications/inbound/addresses', null, 200)).data
    t.contract.check('GET /notifications/inbound/addresses', 'InboundAddressList', list)
    const got = list.items.map((m) => `${m.address}=${m.category_id}`).join()
    const want = `*=${softwareId},support@example.com=${hardwareId}`
    if (got !== want) throw new Error(`mappings ${got}, want ${want}`)
  })

  await t.step('mail posted to Inbound Parse opens tickets in the mapped categories', async () => {
    await inboundParse(base, plainMail('Rosa Reporter <rosa@example.org>', 'Support <support@example.com>', 'Laptop will not boot', 'The screen stays black.'))
    await inboundParse(base, plainMail('Rosa Reporter <rosa@example.org>', 'sales@example.com', 'Licence for the CAD tool', 'We need one more seat.'))
    const ticketOf = async (title) => {
      let found
      await waitFor(`a ticket titled ${title}`, async () => {
        found = (await admin('GET', '/helpdesk/tickets', null, 200)).data.items.find((tk) => tk.title === title)
        return !!found
      }, 60_000)
      return found
    }
    const laptop = await ticketOf('Laptop will not boot')
    if (laptop.category_id !== hardwareId) throw new Error(`the support@ ticket is in ${laptop.category_id}, want Hardware ${hardwareId}`)
    const licence = await ticketOf('Licence for the CAD tool')
    if (licence.category_id !== softwareId) throw new Error(`the other address's ticket is in ${licence.category_id}, want Software ${softwareId}`)
    await page.goto(`${base}/tickets/${laptop.id}`)
    await page.getByRole('heading', { name: 'Laptop will not boot' }).waitFor()
    await page.getByText('Hardware').first().waitFor()
    await t.shot(page, '06-ticket-from-mail')
    t.clean()
  })
})
