package notification_test

import (
	"net/http"
	"testing"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
)

func TestPreferences_EveryKindOnUntilTurnedOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	agent := e.person("Alex Agent", authn.RoleAgent)

	var p notification.Preferences
	e.do("GET", "/notifications/preferences", agent.token, nil).ok(t, http.StatusOK, &p)
	if len(p.Email) != len(notification.Kinds()) {
		t.Fatalf("preferences = %+v, want every kind", p)
	}
	for kind, on := range p.Email {
		if !on {
			t.Fatalf("%s is off by default", kind)
		}
	}

	e.do("PUT", "/notifications/preferences", agent.token, map[string]any{
		"email": map[string]bool{"ticket.assigned": false, "sla.warning": false},
	}).ok(t, http.StatusOK, &p)
	if p.Email[notification.KindAssigned] || p.Email[notification.KindSLAWarning] || !p.Email[notification.KindComment] {
		t.Fatalf("after turning two off: %+v", p)
	}
	// Kinds left out keep their setting.
	e.do("PUT", "/notifications/preferences", agent.token, map[string]any{
		"email": map[string]bool{"sla.warning": true},
	}).ok(t, http.StatusOK, &p)
	if p.Email[notification.KindAssigned] || !p.Email[notification.KindSLAWarning] {
		t.Fatalf("after turning one back on: %+v", p)
	}
	var again notification.Preferences
	e.do("GET", "/notifications/preferences", agent.token, nil).ok(t, http.StatusOK, &again)
	if again.Email[notification.KindAssigned] || !again.Email[notification.KindSLAWarning] {
		t.Fatalf("read back: %+v", again)
	}
	// Each user has their own.
	other := e.person("Olga Other", authn.RoleAgent)
	e.do("GET", "/notifications/preferences", other.token, nil).ok(t, http.StatusOK, &p)
	if !p.Email[notification.KindAssigned] {
		t.Fatal("another user's setting changed")
	}
}

func TestPreferences_RejectUnknownKindsAndChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	agent := e.person("Alex Agent", authn.RoleAgent)

	p := e.do("PUT", "/notifications/preferences", agent.token, map[string]any{
		"email": map[string]bool{"ticket.assigned": false, "ticket.exploded": false},
	}).problem(t, http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "email.ticket.exploded" {
		t.Fatalf("problem = %+v", p)
	}
	e.do("PUT", "/notifications/preferences", agent.token, map[string]any{}).problem(t, http.StatusUnprocessableEntity)
	e.do("PUT", "/notifications/preferences", agent.token, `{"email": {"ticket.assigned": "no"}}`).problem(t, http.StatusBadRequest)
	e.do("PUT", "/notifications/preferences", agent.token, `{"email": {}, "sms": {}}`).problem(t, http.StatusBadRequest)
	if n := e.count(`SELECT count(*) FROM email_preferences`); n != 0 {
		t.Fatalf("%d preferences stored by rejected requests", n)
	}
}
