package notification_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

// TestUnknownRecipient_ToldInAppAndEmailedOnceKnown: the workflow's
// ticket.assigned arrives before auth's user.created of the assignee. The
// assignee is told in the app at once, live too; the e-mail waits for
// their address and goes out, once, when user.created brings it.
func TestUnknownRecipient_ToldInAppAndEmailedOnceKnown(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	stranger := newPerson(t, e.keys, "Stan Stranger", authn.RoleAgent) // no user.created yet
	live := e.subscribe(stranger)
	tk := ticket("Who am I", requester, &stranger)
	ev := assigned(t, tk, stranger, "")

	if err := e.svc.HandleEvent(context.Background(), ev); err != nil {
		t.Fatalf("HandleEvent = %v, want the event acknowledged", err)
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE event_id = $1`, ev.ID); n != 1 {
		t.Fatal("the event was not recorded as handled")
	}
	n := liveNotification(t, live)
	if n.Kind != notification.KindAssigned || n.TicketID != tk.ID {
		t.Fatalf("live notification = %+v", n)
	}
	var list struct {
		Items []notification.Notification `json:"items"`
	}
	e.do("GET", "/notifications", stranger.token, nil).ok(t, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != n.ID {
		t.Fatalf("the stranger's notifications = %+v, want the live one", list.Items)
	}
	if d := e.deliveriesTo(stranger); len(d) != 1 || d[0].status != "held" || d[0].attempts != 0 {
		t.Fatalf("deliveries = %+v, want one held", d)
	}
	time.Sleep(300 * time.Millisecond) // the sender polls every 50ms
	if got := len(sg.requests()); got != 0 {
		t.Fatalf("%d e-mails tried without an address", got)
	}

	e.handle(userEvent(t, events.UserCreated, stranger, true, time.Now()))
	eventually(t, 10*time.Second, "the held e-mail sent", func() bool { return len(sg.sent()) == 1 })
	m := sg.sent()[0]
	if m.to().Email != stranger.email || m.to().Name != stranger.name || m.Subject != "Assigned to you: "+tk.Title ||
		m.Headers["Message-ID"] != fmt.Sprintf("<ticket-%s-%s@%s>", tk.ID, n.ID, mailHost) {
		t.Fatalf("e-mail to %+v, subject %q, headers %v", m.to(), m.Subject, m.Headers)
	}
	if d := e.settled(stranger); len(d) != 1 || d[0].status != "sent" || d[0].outcomes != "sent" {
		t.Fatalf("deliveries = %+v, want the one sent", d)
	}

	// Later user events release nothing more.
	e.handle(userEvent(t, events.UserUpdated, stranger, true, time.Now().Add(time.Second)))
	time.Sleep(300 * time.Millisecond)
	if got := len(sg.requests()); got != 1 {
		t.Fatalf("%d e-mails sent, want 1", got)
	}
	if got := e.notificationsOf(stranger); len(got) != 1 {
		t.Fatalf("notifications = %+v, want one", got)
	}
}

// TestUnknownRecipient_HeldEmailsFollowPreferencesAndAge: when the
// address comes, held e-mails of a kind the user turned off are dropped,
// and those held longer than a day are given up, as they are for users
// whose address never comes and for deactivated ones; the in-app
// notifications stay. Notes for staff are not given to unknown users.
func TestUnknownRecipient_HeldEmailsFollowPreferencesAndAge(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	stranger := newPerson(t, e.keys, "Stan Stranger", authn.RoleAgent)
	ghost := newPerson(t, e.keys, "Gus Ghost", authn.RoleAgent)   // never known
	leaver := newPerson(t, e.keys, "Lea Leaver", authn.RoleAgent) // known as deactivated
	tk := ticket("Slow VPN", requester, &stranger)
	old := ticket("Yesterday's news", requester, &stranger)

	e.handle(assigned(t, tk, stranger, ""))
	e.handle(commented(t, tk, requester, false, "Any news?"))
	e.handle(commented(t, tk, requester, true, "Internal, for staff only")) // author is not staff, but the note is staff-only
	e.handle(assigned(t, old, stranger, ""))
	e.handle(assigned(t, ticket("Nobody home", requester, &ghost), ghost, ""))
	e.handle(assigned(t, ticket("Gone soon", requester, &leaver), leaver, ""))
	if got := kinds(e.notificationsOf(stranger)); len(got) != 3 {
		t.Fatalf("stranger's notifications = %v, want two assignments and the public comment", got)
	}
	if n := e.count(`SELECT count(*) FROM email_deliveries WHERE status = 'held'`); n != 5 {
		t.Fatalf("%d held e-mails, want 5", n)
	}
	// Preferences are the user's own, set with their token even before
	// the directory knows them.
	e.do("PUT", "/notifications/preferences", stranger.token, map[string]any{
		"email": map[string]bool{string(notification.KindComment): false},
	}).ok(t, http.StatusOK, nil)
	// Two e-mails held for more than a day.
	for _, sql := range []string{
		`UPDATE email_deliveries d SET created_at = now() - interval '25 hours' FROM notifications n
			WHERE n.id = d.notification_id AND n.ticket_id = $1`,
		`UPDATE email_deliveries SET created_at = now() - interval '25 hours' WHERE user_id = $1`,
	} {
		arg := old.ID
		if !strings.Contains(sql, "ticket_id") {
			arg = ghost.id
		}
		if tag, err := e.pool.Exec(context.Background(), sql, arg); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("age a held e-mail: %v %v", tag, err)
		}
	}

	e.handle(userEvent(t, events.UserCreated, stranger, true, time.Now()))
	e.handle(userEvent(t, events.UserCreated, leaver, false, time.Now()))
	e.runSender() // which also gives up what is held too long
	eventually(t, 10*time.Second, "the ghost's e-mail given up", func() bool {
		return len(e.deliveriesTo(ghost)) == 1 && e.deliveriesTo(ghost)[0].status == "failed"
	})
	eventually(t, 10*time.Second, "one e-mail sent", func() bool { return len(sg.sent()) == 1 })
	if m := sg.sent()[0]; m.to().Email != stranger.email || m.Subject != "Assigned to you: "+tk.Title {
		t.Fatalf("sent %q to %+v, want the fresh assignment to the stranger", m.Subject, m.to())
	}

	reasons := func(p person) []string {
		rows, err := e.pool.Query(context.Background(), `
			SELECT d.status || ': ' || coalesce(d.last_error, '') || ' / ' || coalesce(string_agg(a.outcome || ' ' || a.detail, ','), '')
			FROM email_deliveries d LEFT JOIN email_attempts a ON a.delivery_id = d.id
			WHERE d.user_id = $1 GROUP BY d.id ORDER BY d.created_at`, p.id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	e.settled(stranger)
	tooLong := "gave up: the recipient's e-mail address was not known within 24h"
	got := reasons(stranger)
	if len(got) != 2 || got[0] != "failed: "+tooLong+" / failed "+tooLong || got[1] != "sent:  / sent " {
		t.Fatalf("stranger's deliveries = %q, want the old one given up and the fresh one sent (the comment's dropped)", got)
	}
	if got := reasons(ghost); len(got) != 1 || got[0] != "failed: "+tooLong+" / failed "+tooLong {
		t.Fatalf("ghost's deliveries = %q", got)
	}
	if got := reasons(leaver); len(got) != 1 || !strings.HasPrefix(got[0], "failed: gave up: the recipient's account is deactivated") {
		t.Fatalf("leaver's deliveries = %q", got)
	}
	if got := kinds(e.notificationsOf(stranger)); len(got) != 3 {
		t.Fatalf("stranger's notifications after the release = %v, want all three kept", got)
	}
	time.Sleep(300 * time.Millisecond)
	if got := len(sg.requests()); got != 1 {
		t.Fatalf("%d e-mails sent, want 1", got)
	}
}
