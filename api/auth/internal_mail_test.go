package auth_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// serviceToken returns an access token of a service account.
func (e *env) serviceToken(clientID string) string {
	e.t.Helper()
	secret, err := e.svc.SetServiceAccount(context.Background(), clientID, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var p auth.TokenPair
	r := e.do("POST", "/auth/token", "", map[string]string{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret})
	if r.status != http.StatusOK {
		e.t.Fatalf("service token: %d %s", r.status, r.body)
	}
	r.decode(e.t, &p)
	return p.AccessToken
}

func TestMailSender_UnknownSenderGetsOnePasswordlessAccount(t *testing.T) {
	e := newEnv(t)
	svc := e.serviceToken("mail-in")
	r := e.do("POST", "/auth/internal/mail-senders", svc, map[string]string{"email": " Jo.Doe@Example.org ", "name": "Jo  Doe"})
	if r.status != http.StatusCreated {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	var first auth.MailSender
	r.decode(t, &first)
	if first.Email != "jo.doe@example.org" || first.Name != "Jo Doe" || first.Role != authn.RoleEmployee || !first.Active || !first.Created {
		t.Fatalf("account %+v", first)
	}
	if n := e.count(`SELECT count(*) FROM users WHERE email = 'jo.doe@example.org' AND password_hash IS NULL`); n != 1 {
		t.Fatalf("%d passwordless accounts", n)
	}
	// Nobody signs in to it, whatever the password.
	for _, pw := range []string{"a long enough password", "x"} {
		e.do("POST", "/auth/login", "", map[string]string{"email": "jo.doe@example.org", "password": pw}).problem(t, http.StatusUnauthorized)
	}

	// Asked again, and concurrently: the same account.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := e.svc.SenderAccount(context.Background(), "jo.doe@example.org", "Someone Else")
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = u.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != first.ID {
			t.Fatalf("another account: %v, want %s", ids, first.ID)
		}
	}
	if n := e.count(`SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("%d accounts", n)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'user.created'`); n != 1 {
		t.Fatalf("%d user.created events", n)
	}

	// A known sender keeps their account and role; a nameless one is named
	// after the address.
	agent := e.createUser("agent@example.org", authn.RoleAgent)
	var known auth.MailSender
	r = e.do("POST", "/auth/internal/mail-senders", svc, map[string]string{"email": "agent@example.org"})
	r.decode(t, &known)
	if r.status != http.StatusOK || known.ID != agent.ID || known.Role != authn.RoleAgent || known.Created {
		t.Fatalf("known sender: %d %+v", r.status, known)
	}
	u, err := e.svc.SenderAccount(context.Background(), "nameless@example.org", "")
	if err != nil || u.Name != "nameless" {
		t.Fatalf("nameless: %+v %v", u, err)
	}
}

func TestMailSender_RefusesBadInputAndPeople(t *testing.T) {
	e := newEnv(t)
	svc := e.serviceToken("mail-in")
	for _, body := range []any{
		map[string]string{"email": "not an address"},
		map[string]string{"email": ""},
		`{"email":`,
	} {
		r := e.do("POST", "/auth/internal/mail-senders", svc, body)
		if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, r.status, r.body)
		}
	}
	admin := e.createUser("admin@example.org", authn.RoleAdmin)
	tok := e.login(admin.Email, admin.password).AccessToken
	e.do("POST", "/auth/internal/mail-senders", tok, map[string]string{"email": "x@example.org"}).problem(t, http.StatusForbidden)
	e.do("POST", "/auth/internal/mail-senders", "", map[string]string{"email": "x@example.org"}).problem(t, http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("refused requests made accounts: %d", n)
	}
}
