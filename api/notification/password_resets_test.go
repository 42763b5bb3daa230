package notification_test

import (
	"context"
	"errors"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

func passwordResetRequested(t testing.TB, p person, token string, expires time.Time) events.Event {
	return newEvent(t, auth.EventSource, events.UserPasswordResetRequested, p.id, auth.PasswordResetEvent{
		UserID: p.id, Email: p.email, Name: p.name, Token: token, ExpiresAt: expires,
	})
}

func TestPasswordResetRequested_MailsTheLinkOnceAndKeepsNoToken(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	// A user the directory does not know yet (auth's user.created may
	// still be on its way): the event names the address.
	p := newPerson(t, e.keys, "Mia <b>Mailer</b>", authn.RoleEmployee)
	token := "q0vq3ZJ6c1yq0n7D3lK3p9wE5bqFh8Rr7t0Xy2Zb1Ac"
	ev := passwordResetRequested(t, p, token, time.Now().Add(time.Hour))
	e.handle(ev)
	e.handle(ev) // redelivered: one e-mail only

	eventually(t, 10*time.Second, "the reset e-mail sent", func() bool { return len(sg.sent()) == 1 })
	eventually(t, 10*time.Second, "the delivery recorded as sent", func() bool {
		return e.count(`SELECT count(*) FROM email_deliveries WHERE status = 'sent'`) == 1
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(sg.requests()); n != 1 {
		t.Fatalf("e-mails sent = %d, want 1", n)
	}
	mail := sg.sent()[0]
	if mail.to().Email != p.email || mail.Subject != "Reset your Ticketflow password" {
		t.Fatalf("mailed %q to %s", mail.Subject, mail.to().Email)
	}
	link := publicURL + "/reset-password?token=" + token
	text, body := mail.content("text/plain"), mail.content("text/html")
	if !strings.Contains(text, link) {
		t.Fatalf("text part lacks %s:\n%s", link, text)
	}
	if !strings.Contains(body, `href="`+html.EscapeString(link)+`"`) {
		t.Fatalf("HTML part lacks %s:\n%s", link, body)
	}
	if strings.Contains(body, "<b>Mailer") {
		t.Fatalf("HTML part carries the name's markup:\n%s", body)
	}
	if n := e.count(`SELECT count(*) FROM notifications`); n != 0 {
		t.Fatalf("in-app notifications = %d, want 0", n)
	}
	// Sent, the e-mail's text is gone from the delivery log; what is left
	// still names it.
	if n := e.count(`SELECT count(*) FROM email_deliveries WHERE strpos(message::text, $1) > 0`, token); n != 0 {
		t.Fatal("the delivery log keeps the token after sending")
	}
	if n := e.count(`SELECT count(*) FROM email_deliveries WHERE notification_id IS NULL AND user_id = $1 AND message->>'message_id' LIKE '<password-reset-%'`, p.id); n != 1 {
		t.Fatalf("reset deliveries = %d, want 1", n)
	}
}

func TestPasswordResetRequested_MalformedIsRefusedAndExpiredNotMailed(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	p := e.person("Rita Requester", authn.RoleEmployee)
	soon := time.Now().Add(time.Hour)
	bad := func(f func(d *auth.PasswordResetEvent)) events.Event {
		d := auth.PasswordResetEvent{UserID: p.id, Email: p.email, Name: p.name, Token: "abc", ExpiresAt: soon}
		f(&d)
		return newEvent(t, auth.EventSource, events.UserPasswordResetRequested, p.id, d)
	}
	for name, ev := range map[string]events.Event{
		"no token":      bad(func(d *auth.PasswordResetEvent) { d.Token = "" }),
		"huge token":    bad(func(d *auth.PasswordResetEvent) { d.Token = strings.Repeat("a", 201) }),
		"unsafe token":  bad(func(d *auth.PasswordResetEvent) { d.Token = "a&next=https://evil.example" }),
		"bad user":      bad(func(d *auth.PasswordResetEvent) { d.UserID = "bob" }),
		"bad e-mail":    bad(func(d *auth.PasswordResetEvent) { d.Email = "Bob <bob@example.com>" }),
		"no expiry":     bad(func(d *auth.PasswordResetEvent) { d.ExpiresAt = time.Time{} }),
		"name with NUL": bad(func(d *auth.PasswordResetEvent) { d.Name = "a\x00b" }),
	} {
		err := e.svc.HandleEvent(context.Background(), ev)
		if err == nil || !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%s: HandleEvent = %v, want an invalid event", name, err)
		}
	}
	e.handle(passwordResetRequested(t, p, "expired-token", time.Now().Add(-time.Second)))
	time.Sleep(500 * time.Millisecond)
	if n := e.count(`SELECT count(*) FROM email_deliveries`); n != 0 {
		t.Fatalf("deliveries = %d, want 0", n)
	}
	if n := len(sg.requests()); n != 0 {
		t.Fatalf("e-mails sent = %d, want 0", n)
	}
}
