// Browser test of canned replies and macros: the admin keeps a team's canned
// reply and macros in Admin → Canned replies (an unknown placeholder is
// refused); the agent inserts the canned reply, rendered for the ticket,
// into the reply box, edits and sends it; applies a macro that moves the
// step, raises the priority and replies in one click; and is told why a
// macro whose step is not allowed was refused, with nothing posted.
// Screenshots go to e2e/screenshots/canned/. Run with
// `node e2e/features/canned.mjs` after `npm run build`.
import { browserTest, seedDesk, waitFor } from '../harness.mjs'

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

const t = browserTest('canned')
await t.run(async () => {
  const backend = await t.step('start the backend', () => t.start())
  const base = backend.base

  let ticketId
  const { admin, agent } = await t.step('seed an admin, an agent, a team, a category and an employee’s ticket', async () => {
    const desk = await seedDesk(backend)
    ticketId = (await desk.employee('POST', '/helpdesk/tickets', { title: 'Printer on fire', description: 'Smoke on floor 3', category_id: desk.categoryId, priority: 'normal' }, 201)).data.id
    await waitFor('the ticket assigned', async () => (await desk.agent('GET', `/workflow/tickets/${ticketId}`)).data?.assignee_id === desk.agentId, 30_000)
    return desk
  })

  await t.step('the admin keeps the team’s canned reply and macros; an unknown placeholder is refused', async () => {
    const page = await t.newPage('admin')
    await t.signIn(page, 'admin@example.com', 'admin password 123', /\/(admin|queue)/)
    await page.goto(`${base}/admin/macros`)
    await page.getByRole('heading', { name: 'Canned replies and macros' }).waitFor()
    let form = await fillMacro(page, { name: 'Bad', body: 'Dear {{requester.email}}' })
    await form.getByRole('alert').filter({ hasText: 'unknown placeholder' }).waitFor()
    await t.shot(page, '01-admin-unknown-placeholder')
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
    await t.shot(page, '02-admin-macros')
    const list = (await admin('GET', '/workflow/macros', null, 200)).data
    t.contract.check('GET /workflow/macros', 'MacroList', list)
    if (list.items.length !== 3 || list.items.some((m) => m.name === 'Bad')) throw new Error(`macros ${JSON.stringify(list.items.map((m) => m.name))}`)
  })

  await t.step('the agent inserts the canned reply, edits it and sends it', async () => {
    const page = await t.newPage('agent')
    await t.signIn(page, 'agent@example.com', 'agent password 123', /\/(queue|board|tickets)/)
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
    await t.shot(page, '03-agent-inserted')
    await page.getByRole('button', { name: 'Send reply' }).click()
    await page.locator('.comment-body').filter({ hasText: 'Please keep away from it.' }).waitFor()
    const rendered = (await agent('GET', `/workflow/tickets/${ticketId}/macros`, null, 200)).data
    t.contract.check('GET /workflow/tickets/{id}/macros', 'TicketMacroList', rendered)
  })

  await t.step('the agent applies a macro: step, priority and reply in one click', async () => {
    const page = t.pages.agent
    const picker = page.getByTestId('macro-picker')
    await picker.getByLabel('Canned reply or macro').selectOption({ label: 'Start work ⚡' })
    await picker.getByRole('button', { name: 'Apply macro' }).click()
    await page.getByTestId('macro-result').filter({ hasText: 'moved to in_progress, priority set to urgent, reply sent' }).waitFor({ timeout: 30_000 })
    await page.locator('.comment-body').filter({ hasText: 'Sam Agent is on it.' }).waitFor()
    await t.shot(page, '04-agent-applied')
    const st = (await agent('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    const tk = (await agent('GET', `/helpdesk/tickets/${ticketId}`, null, 200)).data
    if (st.step !== 'in_progress' || tk.priority !== 'urgent') throw new Error(`step ${st.step}, priority ${tk.priority}`)
  })

  await t.step('a macro whose step is not allowed is refused and posts nothing', async () => {
    const page = t.pages.agent
    const before = (await agent('GET', `/messaging/tickets/${ticketId}/comments`, null, 200)).data.items.length
    const picker = page.getByTestId('macro-picker')
    await picker.getByLabel('Canned reply or macro').selectOption({ label: 'Close now ⚡' })
    await picker.getByRole('button', { name: 'Apply macro' }).click()
    await picker.getByRole('alert').filter({ hasText: 'cannot be reached' }).waitFor()
    await t.shot(page, '05-agent-refused')
    const after = (await agent('GET', `/messaging/tickets/${ticketId}/comments`, null, 200)).data.items.length
    const st = (await agent('GET', `/workflow/tickets/${ticketId}`, null, 200)).data
    if (after !== before || st.step !== 'in_progress') throw new Error(`comments ${before} → ${after}, step ${st.step}`)
    // The requester sees the replies, and no picker.
    const emp = await t.newPage('employee')
    await t.signIn(emp, 'ana@example.com', 'ana password 123', '**/tickets')
    await emp.goto(`${base}/tickets/${ticketId}`)
    await emp.locator('.comment-body').filter({ hasText: 'Sam Agent is on it.' }).waitFor()
    if (await emp.getByTestId('macro-picker').count()) throw new Error('the requester is offered macros')
    await t.shot(emp, '06-requester-view')
    t.clean()
  })
})
