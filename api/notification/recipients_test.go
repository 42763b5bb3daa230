package notification_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// kinds lists the kinds of notifications.
func kinds(ns []stored) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.kind)
	}
	return out
}

// TestTicketCreated_ConfirmsToRequesterOnly: the requester of a ticket
// opened by e-mail gets the confirmation, with the ticket's reference and
// link, as help desks auto-reply; the requester of a ticket opened in the
// web app is not told of their own change. Nobody else is told either.
func TestTicketCreated_ConfirmsToRequesterOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	admin := e.person("Ada Admin", authn.RoleAdmin)
	for name, tc := range map[string]struct {
		channel string // "" leaves the field out, as the helpdesk does today
		told    bool
	}{
		"opened by e-mail":                       {"email", true},
		"opened in the web app":                  {"web", false},
		"channel not told: confirmed, as before": {"", true},
	} {
		t.Run(name, func(t *testing.T) {
			requester := e.person("Rita Requester", authn.RoleEmployee)
			e.handle(ticketCreatedVia(t, ticket("Laptop will not boot", requester, nil), tc.channel))

			got := e.notificationsOf(requester)
			if !tc.told {
				if len(got) != 0 || len(e.deliveriesTo(requester)) != 0 {
					t.Fatalf("requester of a web ticket told: %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].kind != string(notification.KindTicketCreated) || !strings.Contains(got[0].title, "Laptop will not boot") {
				t.Fatalf("requester's notifications = %+v", got)
			}
			if d := e.deliveriesTo(requester); len(d) != 1 || d[0].status != "queued" {
				t.Fatalf("deliveries = %+v, want one queued", d)
			}
		})
	}
	if got := e.notificationsOf(admin); len(got) != 0 {
		t.Fatalf("admin's notifications = %+v, want none", got)
	}
}

// ticketCreatedVia is ticket.created of tk opened through channel, a
// field the helpdesk's Ticket does not carry yet; "" leaves it out.
func ticketCreatedVia(t testing.TB, tk helpdesk.Ticket, channel string) events.Event {
	t.Helper()
	raw, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	if channel != "" {
		data["channel"] = channel
	}
	return newEvent(t, helpdesk.EventSource, events.TicketCreated, tk.ID, data)
}

func TestActor_NeverNotifiedOfTheirOwnChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	tk := ticket("Printer jams", requester, &agent)

	for name, tc := range map[string]struct {
		event  events.Event
		silent person // the actor
	}{
		"agent takes the ticket themselves": {assigned(t, tk, agent, agent.id), agent},
		"requester closes their ticket":     {statusChanged(t, tk, "closed", "closed", requester.id), requester},
		"requester comments":                {commented(t, tk, requester, false, "Any news?"), requester},
		"agent comments":                    {commented(t, tk, agent, false, "Looking into it."), agent},
		"agent writes an internal note":     {commented(t, tk, agent, true, "Toner is out."), agent},
	} {
		before := len(e.notificationsOf(tc.silent))
		e.handle(tc.event)
		if after := len(e.notificationsOf(tc.silent)); after != before {
			t.Errorf("%s: the actor got %d notifications", name, after-before)
		}
	}
	// The others did hear: the agent of the requester's comment, the
	// requester of the agent's reply; nobody of the note or the self-assignment.
	if got := kinds(e.notificationsOf(agent)); strings.Join(got, " ") != "comment.created" {
		t.Errorf("agent's notifications = %v, want the requester's comment", got)
	}
	if got := kinds(e.notificationsOf(requester)); strings.Join(got, " ") != "comment.created" {
		t.Errorf("requester's notifications = %v, want the agent's reply", got)
	}
}

func TestStatusChange_ToldToRequester(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	tk := ticket("Printer jams", requester, &agent)
	e.handle(statusChanged(t, tk, "waiting_on_requester", "pending", agent.id))

	got := e.notificationsOf(requester)
	if len(got) != 1 || got[0].kind != string(notification.KindStatusChanged) || !strings.Contains(got[0].body, "waiting on requester (pending)") {
		t.Fatalf("requester's notifications = %+v", got)
	}
	if got := e.notificationsOf(agent); len(got) != 0 {
		t.Fatalf("agent's notifications = %+v, want none", got)
	}
}

func TestInternalNote_NeverReachesRequester(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	// The requester is staff themselves: an internal note still is not theirs.
	requester := e.person("Sam Staff", authn.RoleAgent)
	assignee := e.person("Alex Agent", authn.RoleAgent)
	colleague := e.person("Carl Colleague", authn.RoleAgent)
	tk := ticket("Server room too warm", requester, &assignee)
	live := e.subscribe(requester)

	e.handle(commented(t, tk, colleague, true, "Facilities say Friday."))

	if got := e.notificationsOf(requester); len(got) != 0 {
		t.Fatalf("requester's notifications = %+v, want none", got)
	}
	if d := e.deliveriesTo(requester); len(d) != 0 {
		t.Fatalf("e-mails to the requester = %+v, want none", d)
	}
	noMore(t, live, 200*time.Millisecond)
	got := e.notificationsOf(assignee)
	if len(got) != 1 || !strings.Contains(got[0].title, "internal note") || got[0].body != "Facilities say Friday." {
		t.Fatalf("assignee's notifications = %+v", got)
	}
}

func TestInternalNote_NotToAnAssigneeWhoIsNotStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	// Demoted since the assignment.
	former := e.person("Fred Former", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	e.handle(commented(t, ticket("Old ticket", requester, &former), agent, true, "Internal."))
	if n := e.count(`SELECT count(*) FROM notifications`); n != 0 {
		t.Fatalf("%d notifications, want none", n)
	}
}

func TestSLAAlerts_ReachAssigneeAndActiveAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	assignee := e.person("Alex Agent", authn.RoleAgent)
	admin1 := e.person("Ada Admin", authn.RoleAdmin)
	admin2 := e.person("Abe Admin", authn.RoleAdmin)
	gone := newPerson(t, e.keys, "Gus Gone", authn.RoleAdmin)
	e.handle(userEvent(t, events.UserCreated, gone, false, time.Now()))
	tk := ticket("Payroll export fails", requester, &assignee)

	e.handle(slaAlert(t, events.SLAWarning, tk))
	e.handle(slaAlert(t, events.SLABreached, tk))

	for _, p := range []person{assignee, admin1, admin2} {
		if got := kinds(e.notificationsOf(p)); strings.Join(got, " ") != "sla.warning sla.breached" {
			t.Errorf("%s's notifications = %v, want a warning and a breach", p.name, got)
		}
	}
	for _, p := range []person{requester, gone} {
		if got := e.notificationsOf(p); len(got) != 0 {
			t.Errorf("%s's notifications = %+v, want none", p.name, got)
		}
	}
	// An admin who is the assignee hears each alert once.
	tk2 := ticket("Backup job late", requester, &admin1)
	e.handle(slaAlert(t, events.SLABreached, tk2))
	if n := e.count(`SELECT count(*) FROM notifications WHERE user_id = $1 AND ticket_id = $2`, admin1.id, tk2.ID); n != 1 {
		t.Fatalf("admin assignee got %d notifications of one breach, want 1", n)
	}
}

func TestSLAAlerts_BreachAlsoReachesTheTeamLeadNeverTheAuthorEachOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	assignee := e.person("Alex Agent", authn.RoleAgent)
	lead := e.person("Lea Lead", authn.RoleAgent)
	bystander := e.person("Bea Bystander", authn.RoleAgent)
	admin := e.person("Ada Admin", authn.RoleAdmin)
	// breach is sla.breached as the workflow publishes it since
	// escalation chains (workflows.SLABreachedEvent).
	breach := func(title string, requester person, assignee, lead string) events.Event {
		id := uuid.NewString()
		return newEvent(t, "/workflow", events.SLABreached, id, map[string]any{
			"ticket_id": id, "title": title, "requester_id": requester.id, "assignee_id": assignee,
			"team_id": uuid.NewString(), "priority": "high", "kind": "resolution", "due": time.Now().UTC(),
			"team_lead_id": lead, "escalated_to": "team_lead", "previous_assignee_id": bystander.id,
		})
	}

	e.handle(breach("Payroll export fails", requester, assignee.id, lead.id))
	for _, p := range []person{assignee, lead, admin} {
		if got := kinds(e.notificationsOf(p)); strings.Join(got, " ") != "sla.breached" {
			t.Errorf("%s's notifications = %v, want the breach", p.name, got)
		}
	}
	for _, p := range []person{requester, bystander} {
		if got := e.notificationsOf(p); len(got) != 0 {
			t.Errorf("%s's notifications = %+v, want none", p.name, got)
		}
	}
	// The ticket went to the lead: the lead, an admin too, hears it once.
	e.handle(breach("Lead's own", requester, lead.id, lead.id))
	e.handle(breach("Admin leads", requester, assignee.id, admin.id))
	if got := kinds(e.notificationsOf(lead)); len(got) != 2 {
		t.Errorf("lead's notifications = %v, want two breaches, one each", got)
	}
	if got := kinds(e.notificationsOf(admin)); len(got) != 3 {
		t.Errorf("admin's notifications = %v, want three breaches, one each", got)
	}
	// A requester who is staff, even the team lead or an admin, is not
	// alerted of their own ticket.
	e.handle(breach("Lead asked", lead, assignee.id, lead.id))
	e.handle(breach("Admin asked", admin, assignee.id, lead.id))
	if got := kinds(e.notificationsOf(lead)); len(got) != 3 {
		t.Errorf("lead's notifications = %v, want the admin's ticket only", got)
	}
	if got := kinds(e.notificationsOf(admin)); len(got) != 4 {
		t.Errorf("admin's notifications = %v, want the lead's ticket only", got)
	}
	if got := kinds(e.notificationsOf(assignee)); len(got) != 4 {
		t.Errorf("assignee's notifications = %v, want four breaches", got)
	}
	// A warning is the assignee's and the admins', not yet the lead's.
	warning := breach("Getting late", requester, assignee.id, lead.id)
	warning.Type = events.SLAWarning
	e.handle(warning)
	if got := kinds(e.notificationsOf(lead)); len(got) != 3 {
		t.Errorf("lead's notifications after a warning = %v, want no more", got)
	}
	if got := kinds(e.notificationsOf(assignee)); len(got) != 5 || got[4] != "sla.warning" {
		t.Errorf("assignee's notifications after a warning = %v", got)
	}
	// A malformed lead ID makes the event invalid.
	bad := breach("Bad lead", requester, assignee.id, "boss")
	if err := e.svc.HandleEvent(context.Background(), bad); !rabbitmq.IsPermanent(err) {
		t.Fatalf("sla.breached with a malformed team_lead_id: %v, want a permanent failure", err)
	}
}

func TestDeactivatedUser_NotNotified(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := newPerson(t, e.keys, "Alex Agent", authn.RoleAgent)
	t0 := time.Now().Add(-time.Minute)
	e.handle(userEvent(t, events.UserCreated, agent, true, t0))
	e.handle(userEvent(t, events.UserUpdated, agent, false, t0.Add(2*time.Second)))
	// An older event arriving late does not bring the account back.
	e.handle(userEvent(t, events.UserUpdated, agent, true, t0.Add(time.Second)))

	e.handle(assigned(t, ticket("Gone agent", requester, &agent), agent, ""))
	if got := e.notificationsOf(agent); len(got) != 0 {
		t.Fatalf("deactivated agent's notifications = %+v", got)
	}
}

func TestTicketDirectory_KeepsNewestTitleWhateverTheOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	tk := ticket("Old title", requester, &agent)
	created := ticketCreated(t, tk)
	renamed := tk
	renamed.Title = "New title"
	// The rename overtakes the creation.
	e.handle(ticketUpdated(t, renamed, requester.id, created.Time.Add(time.Second)))
	e.handle(created)

	// A comment's event carries no title: the directory's is used.
	e.handle(commented(t, tk, requester, false, "Hello"))
	got := e.notificationsOf(agent)
	if len(got) != 1 || got[0].title != "New reply on: New title" {
		t.Fatalf("agent's notifications = %+v, want the newest title", got)
	}
	// A ticket the directory never heard of is named by its ID.
	unknown := ticket("Unheard of", requester, &agent)
	e.handle(commented(t, unknown, requester, false, "Hello?"))
	if got := e.notificationsOf(agent); len(got) != 2 || got[1].title != "New reply on: ticket "+unknown.ID[:8] {
		t.Fatalf("agent's notifications = %+v", got)
	}
}

func TestRedeliveredEvent_CreatesNothingNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	admin := e.person("Ada Admin", authn.RoleAdmin)
	agent := e.person("Alex Agent", authn.RoleAgent)
	ev := slaAlert(t, events.SLABreached, ticket("Twice", requester, &agent))
	live := e.subscribe(admin)
	e.handle(ev)
	liveNotification(t, live)
	e.handle(ev)
	noMore(t, live, 200*time.Millisecond)
	if n, d := e.count(`SELECT count(*) FROM notifications`), e.count(`SELECT count(*) FROM email_deliveries`); n != 2 || d != 2 {
		t.Fatalf("%d notifications and %d e-mails after a redelivery, want 2 and 2", n, d)
	}
}

func TestMalformedEvents_FailPermanently(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	id := uuid.NewString()
	noTime := newEvent(t, "/workflow", events.TicketAssigned, id, map[string]string{"ticket_id": id})
	noTime.Time = time.Time{}
	badEventID := newEvent(t, "/workflow", events.TicketAssigned, id, map[string]string{"ticket_id": id})
	badEventID.ID = "not-a-uuid"
	nul := ticket("Bad\x00title", person{id: id}, nil)
	for name, ev := range map[string]events.Event{
		"data of the wrong shape":       newEvent(t, "/workflow", events.TicketAssigned, id, []string{"x"}),
		"ticket id not a UUID":          newEvent(t, "/workflow", events.TicketAssigned, id, map[string]string{"ticket_id": "7"}),
		"assignee id not a UUID":        newEvent(t, "/workflow", events.TicketAssigned, id, map[string]string{"ticket_id": id, "assignee_id": "bob"}),
		"comment without author":        newEvent(t, "/messaging", events.CommentCreated, id, map[string]any{"ticket_id": id, "body": "x"}),
		"user with the service role":    newEvent(t, "/auth", events.UserCreated, id, map[string]any{"id": id, "email": "s@example.com", "name": "S", "role": "service"}),
		"NUL in a title":                ticketCreated(t, nul),
		"no time":                       noTime,
		"event id not a UUID":           badEventID,
		"ticket.created without ticket": newEvent(t, "/helpdesk", events.TicketCreated, id, map[string]string{"title": "x"}),
	} {
		if err := e.svc.HandleEvent(context.Background(), ev); !rabbitmq.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent failure", name, err)
		}
	}
	// An event type the queue is not bound to is acknowledged and ignored.
	if err := e.svc.HandleEvent(context.Background(), newEvent(t, "/x", "ticket.exploded", id, map[string]string{})); err != nil {
		t.Errorf("foreign event: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM inbox`) + e.count(`SELECT count(*) FROM notifications`) + e.count(`SELECT count(*) FROM tickets`); n != 0 {
		t.Fatalf("rows written by malformed events: %d", n)
	}
}
