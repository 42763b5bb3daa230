package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

const newPassword = "a brand new passphrase"

// requestReset asks for a reset of email from the client address addr and
// checks the one answer every request gets.
func (e *env) requestReset(email, addr string) {
	e.t.Helper()
	r := e.do("POST", "/auth/password-reset", "", map[string]string{"email": email}, "X-Real-IP", addr)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("password reset of %s: %d %s", email, r.status, r.body)
	}
	want, _ := json.Marshal(auth.PasswordResetAccepted)
	if !bytes.Equal(bytes.TrimSpace(r.body), want) {
		e.t.Fatalf("password reset answer = %s, want %s", r.body, want)
	}
}

// resetTokens returns the tokens of the reset events written for userID,
// oldest first.
func (e *env) resetTokens(userID string) []string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT payload FROM outbox WHERE type = $1 AND payload->>'subject' = $2 ORDER BY id`, events.UserPasswordResetRequested, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var tokens []string
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			e.t.Fatal(err)
		}
		ev, err := events.Parse(raw)
		if err != nil {
			e.t.Fatal(err)
		}
		var d auth.PasswordResetEvent
		if err := ev.DecodeData(&d); err != nil {
			e.t.Fatal(err)
		}
		if d.UserID != userID || d.Token == "" || d.ExpiresAt.IsZero() {
			e.t.Fatalf("reset event data = %+v", d)
		}
		tokens = append(tokens, d.Token)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return tokens
}

func (e *env) confirmReset(token, password string) response {
	e.t.Helper()
	return e.do("POST", "/auth/password-reset/confirm", "", map[string]string{"token": token, "password": password})
}

// state is what a refused reset must leave as it was.
type state struct {
	passwordHash  *string
	liveSessions  int
	openResets    int
	updatedAt     time.Time
	pendingEvents int
}

func (e *env) stateOf(userID string) state {
	e.t.Helper()
	var s state
	if err := e.pool.QueryRow(context.Background(), `SELECT password_hash, updated_at FROM users WHERE id = $1`, userID).Scan(&s.passwordHash, &s.updatedAt); err != nil {
		e.t.Fatal(err)
	}
	s.liveSessions = e.count(`SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, userID)
	s.openResets = e.count(`SELECT count(*) FROM password_resets WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL`, userID)
	s.pendingEvents = e.count(`SELECT count(*) FROM outbox`)
	return s
}

func (s state) equal(o state) bool {
	return s.liveSessions == o.liveSessions && s.openResets == o.openResets && s.updatedAt.Equal(o.updatedAt) &&
		s.pendingEvents == o.pendingEvents && (s.passwordHash == nil) == (o.passwordHash == nil) &&
		(s.passwordHash == nil || *s.passwordHash == *o.passwordHash)
}

func randomToken(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestPasswordReset_SetsPasswordAndEndsEverySession(t *testing.T) {
	e := newEnv(t)
	u := e.register("ana@example.com", "Ana")
	session := e.login(u.Email, u.password)
	e.requestReset("  ANA@example.com ", "10.0.0.1") // normalized like login
	e.requestReset(u.Email, "10.0.0.1")
	tokens := e.resetTokens(u.ID)
	if len(tokens) != 2 {
		t.Fatalf("reset events = %d, want 2", len(tokens))
	}
	// Only the hash is stored.
	for _, tok := range tokens {
		sum := sha256.Sum256([]byte(tok))
		if n := e.count(`SELECT count(*) FROM password_resets WHERE token_hash = $1 AND expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes'`, sum[:]); n != 1 {
			t.Fatalf("stored resets with the token's hash and a 1h expiry = %d", n)
		}
	}
	if n := e.count(`SELECT count(*) FROM password_resets WHERE position(convert_to($1, 'UTF8') in token_hash) > 0`, tokens[0]); n != 0 {
		t.Fatal("the token itself is stored")
	}

	if r := e.confirmReset(tokens[1], newPassword); r.status != http.StatusNoContent {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": u.password}).problem(t, http.StatusUnauthorized)
	e.login(u.Email, newPassword)
	e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": session.RefreshToken}).problem(t, http.StatusUnauthorized)

	p := e.confirmReset(tokens[1], "yet another passphrase").problem(t, http.StatusBadRequest)
	if !strings.Contains(p.Detail, "already used") {
		t.Fatalf("reused link: %+v", p)
	}
	p = e.confirmReset(tokens[0], "yet another passphrase").problem(t, http.StatusBadRequest)
	if !strings.Contains(p.Detail, "not valid") {
		t.Fatalf("the older, now revoked link: %+v", p)
	}
	e.login(u.Email, newPassword)
}

func TestPasswordReset_AnswerTellsNoAccountApart(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	active := e.register("ana@example.com", "Ana")
	gone := e.register("bob@example.com", "Bob")
	tok := e.login(admin.Email, admin.password).AccessToken
	if r := e.do("PATCH", "/auth/users/"+gone.ID, tok, map[string]any{"active": false}); r.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	before := e.count(`SELECT count(*) FROM outbox`)

	took := map[string][]time.Duration{}
	for i := range 2 {
		for _, email := range []string{active.Email, "nobody@example.com", gone.Email, "not an e-mail"} {
			start := time.Now()
			e.requestReset(email, "10.0.1."+string(rune('1'+i))) // each checks status and body
			took[email] = append(took[email], time.Since(start))
		}
	}
	for email, ds := range took {
		for _, d := range ds {
			if d < 250*time.Millisecond {
				t.Errorf("%s answered in %s, before the floor", email, d)
			}
		}
	}
	if a, b := slices.Min(took[active.Email]), slices.Min(took["nobody@example.com"]); a-b > 100*time.Millisecond || b-a > 100*time.Millisecond {
		t.Errorf("known e-mail %s, unknown %s", a, b)
	}
	if n := e.count(`SELECT count(*) FROM outbox`) - before; n != 2 {
		t.Fatalf("events written = %d, want 2 (the active account's)", n)
	}
	if n := e.count(`SELECT count(*) FROM password_resets WHERE user_id <> $1`, active.ID); n != 0 {
		t.Fatalf("resets of other accounts = %d", n)
	}
}

func TestPasswordReset_BadLinksChangeNothing(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	u := e.register("ana@example.com", "Ana")
	e.login(u.Email, u.password)
	e.requestReset(u.Email, "10.0.2.1")
	e.requestReset(u.Email, "10.0.2.1")
	tokens := e.resetTokens(u.ID)
	good, expired := tokens[0], tokens[1]
	sum := sha256.Sum256([]byte(expired))
	if _, err := e.pool.Exec(context.Background(), `UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, sum[:]); err != nil {
		t.Fatal(err)
	}
	before := e.stateOf(u.ID)

	for name, c := range map[string]struct {
		token, password string
		status          int
		detail          string
	}{
		"unknown":       {randomToken(t), newPassword, 400, "not valid"},
		"malformed":     {"not-a-token", newPassword, 400, "not valid"},
		"too short":     {good[:20], newPassword, 400, "not valid"},
		"padded":        {good + "=", newPassword, 400, "not valid"},
		"expired":       {expired, newPassword, 400, "expired"},
		"weak password": {good, "short", 422, ""},
		"e-mail":        {good, u.Email, 422, ""},
		"blank":         {good, strings.Repeat(" ", 12), 422, ""},
		"too long":      {good, strings.Repeat("x", 129), 422, ""},
		"no token":      {"", newPassword, 422, ""},
		"no password":   {good, "", 422, ""},
	} {
		p := e.confirmReset(c.token, c.password).problem(t, c.status)
		if !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: %+v", name, p)
		}
		if after := e.stateOf(u.ID); !after.equal(before) {
			t.Fatalf("%s changed the account: %+v → %+v", name, before, after)
		}
	}
	e.login(u.Email, u.password)

	// A deactivated account cannot reset, even with a link mailed while
	// it was active; and it gets no new link.
	tok := e.login(admin.Email, admin.password).AccessToken
	if r := e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"active": false}); r.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	before = e.stateOf(u.ID)
	e.confirmReset(good, newPassword).problem(t, http.StatusBadRequest)
	e.requestReset(u.Email, "10.0.2.1")
	if after := e.stateOf(u.ID); !after.equal(before) {
		t.Fatalf("a deactivated account changed: %+v → %+v", before, after)
	}

	// Once active again, the good link still works.
	if r := e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"active": true}); r.status != http.StatusOK {
		t.Fatalf("activate: %d %s", r.status, r.body)
	}
	if r := e.confirmReset(good, newPassword); r.status != http.StatusNoContent {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	e.login(u.Email, newPassword)
}

func TestPasswordReset_RateLimitedPerEmailAndAddress(t *testing.T) {
	e := newEnv(t)
	u := e.register("ana@example.com", "Ana")
	for i := range perAccount {
		e.requestReset(u.Email, "10.0.3."+string(rune('1'+i)))
	}
	r := e.do("POST", "/auth/password-reset", "", map[string]string{"email": u.Email}, "X-Real-IP", "10.0.3.9")
	r.problem(t, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if n := len(e.resetTokens(u.ID)); n != perAccount {
		t.Fatalf("resets = %d, want %d", n, perAccount)
	}
	// An unknown e-mail is limited alike.
	for range perAccount {
		e.requestReset("nobody@example.com", "10.0.4.1")
	}
	e.do("POST", "/auth/password-reset", "", map[string]string{"email": "nobody@example.com"}, "X-Real-IP", "10.0.4.2").problem(t, http.StatusTooManyRequests)

	// Per address, across e-mails.
	for i := range perAddress {
		e.requestReset("someone"+string(rune('a'+i))+"@example.com", "10.0.5.1")
	}
	r = e.do("POST", "/auth/password-reset", "", map[string]string{"email": "other@example.com"}, "X-Real-IP", "10.0.5.1")
	r.problem(t, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func TestPasswordReset_PasswordlessAccountClaimsItself(t *testing.T) {
	e := newEnv(t)
	sender, err := e.svc.SenderAccount(context.Background(), "mailer@example.com", "Mia Mailer")
	if err != nil || !sender.Created {
		t.Fatalf("sender account: %+v %v", sender, err)
	}
	e.do("POST", "/auth/login", "", map[string]string{"email": sender.Email, "password": newPassword}).problem(t, http.StatusUnauthorized)
	e.requestReset(sender.Email, "10.0.6.1")
	tokens := e.resetTokens(sender.ID)
	if len(tokens) != 1 {
		t.Fatalf("reset events = %d", len(tokens))
	}
	if r := e.confirmReset(tokens[0], newPassword); r.status != http.StatusNoContent {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	me := e.do("GET", "/auth/me", e.login(sender.Email, newPassword).AccessToken, nil)
	var got auth.User
	me.decode(t, &got)
	if got.ID != sender.ID || got.Role != authn.RoleEmployee {
		t.Fatalf("me = %+v", got)
	}
}

func TestPasswordReset_EventReachesRabbitMQ(t *testing.T) {
	e := newEnv(t)
	amqpURL := testenv.VHost(t)
	requested := testenv.Observe(t, amqpURL, exchange, events.UserPasswordResetRequested)
	e.runRelay(amqpURL)
	u := e.register("ana@example.com", "Ana")
	e.requestReset(u.Email, "10.0.7.1")
	select {
	case m := <-requested:
		ev, err := events.Parse(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		var d auth.PasswordResetEvent
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		if ev.Type != events.UserPasswordResetRequested || ev.Source != auth.EventSource || ev.Subject != u.ID ||
			d.UserID != u.ID || d.Email != u.Email || d.Name != "Ana" || d.Token != e.resetTokens(u.ID)[0] ||
			time.Until(d.ExpiresAt) < 59*time.Minute || time.Until(d.ExpiresAt) > time.Hour {
			t.Fatalf("event = %+v, data %+v", ev, d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no user.password_reset_requested within 10s")
	}
	// Published, the token leaves the outbox once the link is used.
	token := e.resetTokens(u.ID)[0]
	deadline := time.Now().Add(10 * time.Second)
	for e.count(`SELECT count(*) FROM outbox WHERE type = $1 AND published_at IS NULL`, events.UserPasswordResetRequested) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reset event is not marked published")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := e.confirmReset(token, newPassword); r.status != http.StatusNoContent {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE strpos(payload::text, $1) > 0`, token); n != 0 {
		t.Fatal("the outbox keeps the token after the link was used")
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = $1 AND payload #>> '{data,user_id}' = $2`, events.UserPasswordResetRequested, u.ID); n != 1 {
		t.Fatalf("reset events of the user = %d, want 1 (kept, without the token)", n)
	}
	if slices.Contains(events.Types(), events.UserPasswordResetRequested) {
		t.Fatal("the reset event, which carries the token, is among the types webhooks deliver")
	}
}
