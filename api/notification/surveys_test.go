package notification_test

import (
	"context"
	"errors"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

func surveyRequested(t testing.TB, tk helpdesk.Ticket, token string) events.Event {
	return newEvent(t, helpdesk.EventSource, events.SurveyRequested, tk.ID, helpdesk.SurveyRequestedEvent{
		TicketID: tk.ID, Title: tk.Title, RequesterID: tk.RequesterID, Token: token, ExpiresAt: time.Now().Add(7 * 24 * time.Hour),
	})
}

func TestSurveyRequested_MailsTheRequesterOneClickLinks(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	tk := ticket(`Printer <b>on fire</b>`, requester, &agent)
	token := "eyJhbGciOiJIUzI1NiJ9.eyJ0aWQiOiJ4In0.sig+/="
	ev := surveyRequested(t, tk, token)
	e.handle(ev)
	e.handle(ev) // redelivered: nobody is told twice

	eventually(t, 10*time.Second, "the survey e-mail sent", func() bool { return len(sg.sent()) == 1 })
	if got := e.notificationsOf(requester); len(got) != 1 || got[0].kind != string(notification.KindSurveyRequested) ||
		!strings.HasPrefix(got[0].title, "How did we do?") || strings.Contains(got[0].body, token) {
		t.Fatalf("requester's notifications = %+v", got)
	}
	if got := e.notificationsOf(agent); len(got) != 0 {
		t.Fatalf("the agent was told: %+v", got)
	}
	mail := sg.sent()[0]
	if mail.to().Email != requester.email {
		t.Fatalf("mailed to %s", mail.to().Email)
	}
	good := publicURL + "/survey?" + url.Values{"rating": {"good"}, "token": {token}}.Encode()
	bad := publicURL + "/survey?" + url.Values{"rating": {"bad"}, "token": {token}}.Encode()
	text, body := mail.content("text/plain"), mail.content("text/html")
	for _, link := range []string{good, bad} {
		if !strings.Contains(text, link) {
			t.Fatalf("text part lacks %s:\n%s", link, text)
		}
		if !strings.Contains(body, `href="`+html.EscapeString(link)+`"`) {
			t.Fatalf("HTML part lacks %s:\n%s", link, body)
		}
	}
	if strings.Contains(body, "<b>on fire") {
		t.Fatalf("HTML part carries the title's markup:\n%s", body)
	}
}

func TestSurveyRequested_MalformedIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	requester := e.person("Rita Requester", authn.RoleEmployee)
	tk := ticket("Printer", requester, nil)
	for name, ev := range map[string]events.Event{
		"no token":      surveyRequested(t, tk, ""),
		"huge token":    surveyRequested(t, tk, strings.Repeat("a", 3000)),
		"bad requester": newEvent(t, helpdesk.EventSource, events.SurveyRequested, tk.ID, map[string]any{"ticket_id": tk.ID, "requester_id": "bob", "token": "x", "expires_at": time.Now()}),
		"no expiry":     newEvent(t, helpdesk.EventSource, events.SurveyRequested, tk.ID, map[string]any{"ticket_id": tk.ID, "requester_id": requester.id, "token": "x"}),
	} {
		err := e.svc.HandleEvent(context.Background(), ev)
		if err == nil || !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%s: HandleEvent = %v, want an invalid event", name, err)
		}
	}
	if n := e.count(`SELECT count(*) FROM notifications`); n != 0 {
		t.Fatalf("notifications = %d, want 0", n)
	}
}
