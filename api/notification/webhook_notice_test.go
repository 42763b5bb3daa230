package notification_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

func TestWebhookDisabled_TellsActiveAdminsInTheAppOnlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	admin := e.person("Ada Admin", authn.RoleAdmin)
	agent := e.person("Alex Agent", authn.RoleAgent)
	gone := newPerson(t, e.keys, "Gus Gone", authn.RoleAdmin)
	e.handle(userEvent(t, events.UserCreated, gone, false, time.Now()))
	endpoint := uuid.NewString()
	ev := newEvent(t, "/workflow", events.WebhookDisabled, endpoint, map[string]any{
		"endpoint_id": endpoint, "url": "https://hooks.example.com/ticketflow",
		"reason": "the receiver kept failing for 24h0m0s: the receiver answered 503", "disabled_at": time.Now().UTC(),
	})

	e.handle(ev)
	e.handle(ev) // redelivered: nobody is told twice

	got := e.notificationsOf(admin)
	if len(got) != 1 || got[0].kind != "webhook.disabled" ||
		!strings.Contains(got[0].title, "https://hooks.example.com/ticketflow") || !strings.Contains(got[0].body, "answered 503") {
		t.Fatalf("admin's notifications = %+v, want one webhook.disabled naming the URL and the reason", got)
	}
	if n := e.count(`SELECT count(*) FROM notifications WHERE user_id = $1 AND link = '/admin/webhooks' AND ticket_id IS NULL`, admin.id); n != 1 {
		t.Fatalf("%d notifications link to the webhooks page, want 1", n)
	}
	for _, p := range []person{agent, gone} {
		if got := e.notificationsOf(p); len(got) != 0 {
			t.Errorf("%s's notifications = %+v, want none", p.name, got)
		}
	}
	if d := e.deliveriesTo(admin); len(d) != 0 {
		t.Fatalf("e-mails queued for the admin: %+v, want none (in the app only)", d)
	}
}

func TestWebhookDisabled_MalformedIsRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	admin := e.person("Ada Admin", authn.RoleAdmin)
	ev := newEvent(t, "/workflow", events.WebhookDisabled, "x", map[string]any{"endpoint_id": "not-a-uuid", "url": "https://x.example"})
	if err := e.svc.HandleEvent(t.Context(), ev); err == nil {
		t.Fatal("a webhook.disabled without a valid endpoint ID was accepted")
	}
	if got := e.notificationsOf(admin); len(got) != 0 {
		t.Fatalf("notifications = %+v, want none", got)
	}
}
