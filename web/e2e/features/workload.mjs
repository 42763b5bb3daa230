// Browser test of workload-aware assignment: the admin switches a team to
// "fewest open tickets" and gives an agent a capacity of 1 on the team
// page; the team's first ticket goes to that agent, the second waits in
// triage (the team is full) and is assigned as soon as the first is
// resolved. Screenshots go to e2e/screenshots/workload/. Run with
// `node e2e/features/workload.mjs` after `npm run build`.
import { browserTest, seedDesk, waitFor } from '../harness.mjs'

const t = browserTest('workload')
await t.run(async () => {
  const backend = await t.step('start the backend', () => t.start())
  const base = backend.base

  const { admin, agent, employee, agentId, teamId, categoryId } = await t.step(
    'seed an admin, an agent in a team, a category and an employee',
    () => seedDesk(backend),
  )

  const page = await t.newPage('admin')
  await t.step('the admin sets the strategy and a capacity on the team page', async () => {
    await t.signIn(page, 'admin@example.com', 'admin password 123', '**/queue')
    await page.goto(`${base}/admin/teams`)
    await page.getByRole('heading', { name: 'Service desk' }).waitFor()
    await page.getByLabel('Strategy of Service desk').selectOption('fewest_open')
    const capacity = page.getByLabel('Capacity of Sam Agent in Service desk')
    await capacity.fill('0')
    await capacity.press('Enter')
    await page.getByRole('alert').filter({ hasText: 'capacity' }).waitFor()
    await t.shot(page, '01-capacity-refused')
    await capacity.fill('1')
    await capacity.press('Enter')
    await waitFor('strategy and capacity saved', async () => {
      const team = (await admin('GET', `/workflow/teams/${teamId}`, null, 200)).data
      return team.strategy === 'fewest_open' && team.members[0]?.capacity === 1
    }, 10_000)
    await page.reload()
    await page.getByLabel('Strategy of Service desk').waitFor()
    if ((await page.getByLabel('Strategy of Service desk').inputValue()) !== 'fewest_open') throw new Error('the strategy did not stay')
    if ((await page.getByLabel('Capacity of Sam Agent in Service desk').inputValue()) !== '1') throw new Error('the capacity did not stay')
    await t.shot(page, '02-team-configured')
    t.contract.check('GET /workflow/teams/{id}', 'Team', (await admin('GET', `/workflow/teams/${teamId}`, null, 200)).data)
  })

  await t.step('a full team keeps the next ticket waiting until a ticket is resolved', async () => {
    const open = async (title) => (await employee('POST', '/helpdesk/tickets', { title, category_id: categoryId, priority: 'normal' }, 201)).data.id
    const first = await open('First ticket')
    await waitFor('the first ticket assigned', async () => (await agent('GET', `/workflow/tickets/${first}`)).data?.assignee_id === agentId, 30_000)
    const second = await open('Second ticket')
    await waitFor('the second ticket waiting', async () => (await agent('GET', `/workflow/tickets/${second}`)).data?.waiting_for_agent === true, 30_000)
    await page.reload()
    await page.getByTestId(`open-${agentId}`).filter({ hasText: '1 open' }).waitFor()
    await t.shot(page, '03-agent-full')
    await agent('POST', `/workflow/tickets/${first}/transitions`, { to: 'in_progress' }, 200)
    await agent('POST', `/workflow/tickets/${first}/transitions`, { to: 'resolved' }, 200)
    // The freed place signals the waiting ticket at once (well before the
    // 10-minute re-check).
    await waitFor('the second ticket assigned', async () => (await agent('GET', `/workflow/tickets/${second}`)).data?.assignee_id === agentId, 30_000)
    await page.reload()
    await page.getByTestId(`open-${agentId}`).filter({ hasText: '1 open' }).waitFor()
    t.clean()
  })
})
