// Browser test of satisfaction surveys: an agent resolves an employee's
// ticket; its workflow asks for a rating; the employee rates it from the
// ticket page; the e-mailed one-click link is then spent (the page says so);
// the admin sees the rating in Admin → Satisfaction. Screenshots go to
// e2e/screenshots/surveys/. Run with `node e2e/features/surveys.mjs` after
// `npm run build`.
import { browserTest, mails, seedDesk, waitFor } from '../harness.mjs'

const t = browserTest('surveys')
await t.run(async () => {
  const backend = await t.step('start the backend', () => t.start())
  const base = backend.base

  const { admin, agent, employee, agentId, teamId, categoryId } = await t.step(
    'seed an admin, an agent, a team, a category and an employee',
    () => seedDesk(backend),
  )

  let ticketId
  await t.step('the agent resolves the employee’s ticket', async () => {
    ticketId = (await employee('POST', '/helpdesk/tickets', { title: 'Printer on fire', description: 'Smoke on floor 3', category_id: categoryId, priority: 'high' }, 201)).data.id
    await waitFor('the ticket assigned', async () => (await agent('GET', `/workflow/tickets/${ticketId}`)).data?.assignee_id === agentId, 30_000)
    await agent('POST', `/workflow/tickets/${ticketId}/transitions`, { to: 'in_progress' }, 200)
    await agent('POST', `/workflow/tickets/${ticketId}/transitions`, { to: 'resolved', note: 'Replaced the fuser' }, 200)
    await waitFor('the survey asked', async () => (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data.status === 'pending', 30_000)
    const sv = (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data
    t.contract.check('GET /helpdesk/tickets/{id}/survey', 'Survey', sv)
    if (sv.agent_id !== agentId || sv.team_id !== teamId) throw new Error(`survey counts for ${sv.agent_id}/${sv.team_id}`)
  })

  let link
  await t.step('the requester is mailed one-click links', async () => {
    await waitFor('the survey e-mail', async () => {
      for (const text of mails(backend.env.MAIL_DIR)) {
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

  await t.step('the requester rates the ticket from its page', async () => {
    const emp = await t.newPage('employee')
    await t.signIn(emp, 'ana@example.com', 'ana password 123', '**/tickets')
    await emp.goto(`${base}/tickets/${ticketId}`)
    await emp.getByRole('heading', { name: 'How did we do?' }).waitFor({ timeout: 30_000 })
    await t.shot(emp, '01-ticket-survey')
    await emp.getByLabel('Comment (optional)').fill('Fixed within the hour, thanks!')
    await emp.getByRole('button', { name: '👍 Good' }).click()
    await emp.getByTestId('survey-rating').filter({ hasText: 'You rated this ticket 👍 good' }).waitFor()
    await emp.getByText('Fixed within the hour, thanks!').waitFor()
    await t.shot(emp, '02-ticket-rated')
    const sv = (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data
    if (sv.status !== 'rated' || sv.rating !== 'good' || sv.rated_via !== 'app') throw new Error(`survey ${JSON.stringify(sv)}`)
  })

  await t.step('the e-mailed link is spent: the first rating stands', async () => {
    const page = await t.newPage('link')
    await page.goto(link.replace('rating=good', 'rating=bad'))
    await page.getByRole('heading', { name: 'How did we do?' }).waitFor()
    await t.shot(page, '03-link-page')
    await page.getByRole('button', { name: 'Send my rating' }).click()
    await page.getByRole('alert').filter({ hasText: 'rated already' }).waitFor()
    await t.shot(page, '04-link-spent')
    // A tampered link is refused as invalid.
    await page.goto(`${base}/survey?token=${encodeURIComponent('x.y.z')}&rating=good`)
    await page.getByRole('button', { name: 'Send my rating' }).click()
    await page.getByRole('alert').filter({ hasText: 'invalid' }).waitFor()
    const sv = (await employee('GET', `/helpdesk/tickets/${ticketId}/survey`, null, 200)).data
    if (sv.rating !== 'good') throw new Error(`rating became ${sv.rating}`)
  })

  await t.step('the admin sees the rating per agent and team', async () => {
    const page = await t.newPage('admin')
    await t.signIn(page, 'admin@example.com', 'admin password 123', /\/(admin|queue)/)
    await page.goto(`${base}/admin/surveys`)
    await page.getByTestId('survey-overall').filter({ hasText: '1 ratings: 1 good, 0 bad' }).waitFor()
    await page.getByTestId('survey-agents').getByRole('row', { name: /Sam Agent\s+1\s+0\s+100%/ }).waitFor()
    await page.getByTestId('survey-teams').getByRole('row', { name: /Service desk\s+1\s+0/ }).waitFor()
    await page.getByTestId('survey-recent').getByText('Fixed within the hour, thanks!').waitFor()
    await t.shot(page, '05-admin-report')
    const rep = (await admin('GET', '/helpdesk/surveys/report', null, 200)).data
    t.contract.check('GET /helpdesk/surveys/report', 'SurveyReport', rep)
    t.clean()
  })
})
