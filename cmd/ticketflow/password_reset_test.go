package main

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// resetLink matches the link of a password reset e-mail.
var resetLink = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]{43})`)

// mailedResetToken waits for the password reset e-mail to the address to
// in dir and returns the token of its link.
func mailedResetToken(t *testing.T, dir, to string) string {
	t.Helper()
	var token string
	eventually(t, 60*time.Second, "the password reset e-mail to "+to, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			text, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
			if m := resetLink.FindSubmatch(text); m != nil && strings.Contains(string(text), to) {
				token = string(m[1])
				return true
			}
		}
		return false
	})
	return token
}

// TestPasswordReset_MailInSenderClaimsTheAccount runs the claim of an
// account mail-in made: an unknown sender's e-mail opens a ticket and a
// passwordless account; the sender asks for a reset, follows the mailed
// link, sets a password, signs in and sees the ticket. The link works once.
func TestPasswordReset_MailInSenderClaimsTheAccount(t *testing.T) {
	secret := "inbound-parse-secret-0123456789"
	t.Setenv("MAIL_IN_SENDGRID_SECRET", secret)
	base, amqpURL := startDev(t)
	mailDir := os.Getenv("MAIL_DIR")
	desk := setUpDesk(t, base, amqpURL)
	desk.admin.call("PUT", "/notifications/inbound/addresses/help@example.com", map[string]string{"category_id": desk.category}, 200, nil)

	from := "zoe@example.org"
	title := "VPN drops every hour"
	if status, body := postInbound(t, base, secret, plainMail(from, "help@example.com", "claim-1@example.org", title, "Since Monday.")); status/100 != 2 {
		t.Fatalf("inbound parse: %d %s", status, body)
	}
	var found []mailTicket
	eventually(t, 60*time.Second, "the mailed ticket", func() bool { found = ticketsTitled(desk.admin, title); return len(found) == 1 })

	anon := &user{t: t, base: base}
	const password = "zoe's own passphrase"
	if status, _ := anon.try("POST", "/auth/login", map[string]string{"email": from, "password": password}, nil); status != http.StatusUnauthorized {
		t.Fatalf("signing in to the passwordless account: %d", status)
	}
	var accepted, unknown map[string]string
	anon.call("POST", "/auth/password-reset", map[string]string{"email": from}, http.StatusAccepted, &accepted)
	anon.call("POST", "/auth/password-reset", map[string]string{"email": "nobody@example.org"}, http.StatusAccepted, &unknown)
	if accepted["message"] == "" || accepted["message"] != unknown["message"] {
		t.Fatalf("answers differ: %v / %v", accepted, unknown)
	}
	token := mailedResetToken(t, mailDir, from)

	anon.call("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "password": "short"}, http.StatusUnprocessableEntity, nil)
	anon.call("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "password": password}, http.StatusNoContent, nil)
	if status, raw := anon.try("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "password": "another passphrase"}, nil); status != http.StatusBadRequest || !strings.Contains(string(raw), "already used") {
		t.Fatalf("reused link: %d %s", status, raw)
	}

	zoe := signIn(t, base, from, password)
	var mine struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	zoe.call("GET", "/helpdesk/tickets", nil, http.StatusOK, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ID != found[0].ID {
		t.Fatalf("the sender's tickets = %+v, want %s", mine.Items, found[0].ID)
	}
}

// testPasswordResetBodies: the two public reset routes answer hostile
// bodies with a 4xx (or the one 202), never a 5xx, and no such body sets a
// password.
func testPasswordResetBodies(t *testing.T, f *fixture) {
	anon := &user{t: t, base: f.d.base}
	values := []any{
		`'`, `' OR '1'='1`, `1; DROP TABLE auth.users; --`, "\x00", "a\x00b", "\xff\xfe", "\u2028", "%", "_",
		strings.Repeat("a", 4000), 42, true, nil, []string{"a"}, map[string]string{"a": "b"},
		"other@example.com' --", "OTHER@EXAMPLE.COM\r\nBcc: x@example.com",
	}
	for _, v := range values {
		for _, body := range []map[string]any{
			{"email": v},
			{"token": v, "password": "a long enough password"},
			{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "password": v},
		} {
			path := "/auth/password-reset/confirm"
			if _, ok := body["email"]; ok {
				path = "/auth/password-reset"
			}
			status, raw := anon.try("POST", path, body, nil)
			if status >= 500 || (status != http.StatusAccepted && status/100 != 4) {
				t.Errorf("POST %s %v: %d %s", path, body, status, raw)
			}
		}
	}
	signIn(t, f.d.base, "other@example.com", "a long enough password")
}
