// Browser test of webhooks out (Admin → Webhooks): an admin registers an
// endpoint pointing at a local receiver and copies the secret shown once; a
// new ticket's event reaches the receiver, which is down (503) at first,
// with a signature that verifies with that secret; the delivery log shows
// the retries; the admin edits the event types, disables and enables the
// endpoint, sees a refused URL's reason, and deletes it. Screenshots go to
// e2e/screenshots/webhooks/.
//
// `cd web && npm run build && node e2e/features/webhooks.mjs`
// Environment: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1, E2E_LOG_LEVEL.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import { api, browserTest, waitFor } from '../harness.mjs'

/** verify checks a Ticketflow-Signature as a receiver should (README, "Webhooks out"). */
function verify(secret, header, body, toleranceSeconds = 300) {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2)))
  if (!parts.t || !parts.v1) return false
  if (Math.abs(Date.now() / 1000 - Number(parts.t)) > toleranceSeconds) return false
  const want = createHmac('sha256', secret).update(`${parts.t}.`).update(body).digest()
  const got = Buffer.from(parts.v1, 'hex')
  return got.length === want.length && timingSafeEqual(got, want)
}

// The receiver: answers 503 until `up`, then 204; keeps every request.
const received = []
let up = false
const receiver = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    received.push({ headers: req.headers, body, status: up ? 204 : 503 })
    res.writeHead(up ? 204 : 503)
    res.end(up ? '' : 'receiver down for maintenance')
  })
})
await new Promise((r) => receiver.listen(0, '127.0.0.1', r))
const receiverURL = `http://127.0.0.1:${receiver.address().port}/hooks/ticketflow`

const t = browserTest('webhooks')
await t.run(async () => {
  const backend = await t.step('start the backend (private webhook URLs allowed, fast retries)', () =>
    // A local receiver is a private address: allowed here, for development.
    t.start({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_INTERVAL: '300ms', WEBHOOK_MAX_RETRY_INTERVAL: '1s' }),
  )
  const base = backend.base
  const anon = api(base)
  let adminToken, employee, categoryId
  await t.step('seed an admin, a category and an employee', async () => {
    await backend.cli('admin', 'create-user', '--email', 'admin@example.com', '--password', 'admin password 123', '--name', 'Ada Admin', '--role', 'admin')
    adminToken = (await anon('POST', '/auth/login', { email: 'admin@example.com', password: 'admin password 123' }, 200)).data.access_token
    categoryId = (await api(base, adminToken)('POST', '/helpdesk/categories', { name: 'Hardware', description: 'Laptops' }, 201)).data.id
    await anon('POST', '/auth/register', { email: 'emma@example.com', password: 'emma password 123', name: 'Emma Employee' }, 201)
    employee = api(base, (await anon('POST', '/auth/login', { email: 'emma@example.com', password: 'emma password 123' }, 200)).data.access_token)
  })

  const page = await t.newPage('admin', { width: 1440, height: 900 })
  let secret

  await t.step('the admin registers a webhook and sees its secret once', async () => {
    await page.goto(`${base}/signin`)
    await page.getByLabel('E-mail').fill('admin@example.com')
    await page.getByLabel('Password').fill('admin password 123')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: 'Admin' }).click()
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.getByText('No webhook yet').waitFor()
    const form = page.getByRole('form', { name: 'New webhook' })
    await form.getByLabel('URL').fill(receiverURL)
    await form.getByLabel('Description').fill('CRM sync')
    await form.getByLabel('comment.created').check()
    await t.shot(page, '01-new-webhook')
    await form.getByRole('button', { name: 'Add webhook' }).click()
    secret = (await page.getByTestId('webhook-secret').textContent()).trim()
    if (!secret.startsWith('whsec_')) throw new Error(`secret shown: ${secret}`)
    await page.getByRole('list', { name: 'Webhooks' }).getByText(receiverURL).waitFor()
    await t.shot(page, '02-secret-shown-once')
    await page.getByRole('button', { name: 'Done' }).click()
    const { data } = await api(base, adminToken)('GET', '/workflow/webhooks', null, 200)
    t.contract.check('GET /workflow/webhooks', 'WebhookList', data)
    if (data.items.length !== 1 || data.items[0].secret || data.items[0].event_types.join() !== 'comment.created,ticket.created') {
      throw new Error(`stored webhooks: ${JSON.stringify(data.items)}`)
    }
  })

  let ticketId
  await t.step('a new ticket reaches the receiver after it comes back, signed', async () => {
    ticketId = (await employee('POST', '/helpdesk/tickets', { title: 'Laptop will not boot', description: 'Black screen', category_id: categoryId, priority: 'normal' }, 201)).data.id
    await waitFor('a failed attempt while the receiver is down', async () => received.length >= 2, 30_000)
    up = true
    await waitFor('the ticket.created delivered', async () => received.some((r) => r.status === 204 && JSON.parse(r.body).subject === ticketId), 30_000)
    const ok = received.find((r) => r.status === 204)
    const event = JSON.parse(ok.body)
    if (event.type !== 'ticket.created' || event.specversion !== '1.0' || !ok.headers['content-type'].startsWith('application/cloudevents+json')) {
      throw new Error(`delivered ${ok.headers['content-type']} ${ok.body}`)
    }
    if (!verify(secret, ok.headers['ticketflow-signature'], ok.body)) throw new Error(`signature ${ok.headers['ticketflow-signature']} does not verify with the secret shown`)
    if (verify('whsec_not-the-secret', ok.headers['ticketflow-signature'], ok.body)) throw new Error('signature verifies with another secret')
  })

  await t.step('the delivery log shows the retries and the answer', async () => {
    const item = page.locator(`li[data-webhook="${receiverURL}"]`)
    await item.getByRole('button', { name: 'Edit & log' }).click()
    const row = item.getByRole('table', { name: 'Delivery log' }).locator('tr[data-status="delivered"]').first()
    await row.waitFor({ timeout: 20_000 })
    const cells = await row.locator('td').allTextContents()
    if (!cells[0].includes('ticket.created') || Number(cells[2]) < 2 || !cells[3].startsWith('204')) {
      throw new Error(`log row: ${JSON.stringify(cells)}`)
    }
    await t.shot(page, '03-delivery-log')
    const id = (await api(base, adminToken)('GET', '/workflow/webhooks', null, 200)).data.items[0].id
    const { data } = await api(base, adminToken)('GET', `/workflow/webhooks/${id}/deliveries`, null, 200)
    t.contract.check('GET /workflow/webhooks/{id}/deliveries', 'WebhookDeliveryList', data)
  })

  await t.step('the admin edits the event types', async () => {
    const item = page.locator(`li[data-webhook="${receiverURL}"]`)
    await item.getByLabel('comment.created').uncheck()
    await item.getByLabel('sla.breached').check()
    await item.getByRole('button', { name: 'Save events' }).click()
    await item.getByText('sla.breached, ticket.created').waitFor()
    const { data } = await api(base, adminToken)('GET', '/workflow/webhooks', null, 200)
    if (data.items[0].event_types.join() !== 'sla.breached,ticket.created') throw new Error(`event types: ${data.items[0].event_types}`)
    await t.shot(page, '04-events-edited')
  })

  await t.step('the admin disables and enables the webhook', async () => {
    const item = page.locator(`li[data-webhook="${receiverURL}"]`)
    await item.getByRole('button', { name: 'Disable' }).click()
    await item.getByText('off', { exact: true }).waitFor()
    if ((await api(base, adminToken)('GET', '/workflow/webhooks', null, 200)).data.items[0].active) throw new Error('still active')
    await t.shot(page, '05-disabled')
    await item.getByRole('button', { name: 'Enable' }).click()
    await item.getByText('active', { exact: true }).waitFor()
  })

  await t.step('a refused URL is explained and nothing is stored', async () => {
    const form = page.getByRole('form', { name: 'New webhook' })
    await form.getByLabel('URL').fill('ftp://files.example.com/drop')
    await form.getByRole('button', { name: 'Add webhook' }).click()
    await page.getByText('must be an http or https URL').waitFor()
    await t.shot(page, '06-refused-url')
    const { data } = await api(base, adminToken)('GET', '/workflow/webhooks', null, 200)
    if (data.items.length !== 1) throw new Error(`${data.items.length} webhooks stored`)
  })

  await t.step('the admin deletes the webhook', async () => {
    const item = page.locator(`li[data-webhook="${receiverURL}"]`)
    await item.getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No webhook yet').waitFor()
    const { data } = await api(base, adminToken)('GET', '/workflow/webhooks', null, 200)
    if (data.items.length !== 0) throw new Error(`${data.items.length} webhooks left`)
  })

  await t.step('no page errors; the backend answers as api/openapi.yaml says', async () => {
    t.clean()
  })
}, async () => receiver.close())
