package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// temporalSession opens a Temporal UI session with token and returns the
// cookie, failing the test unless the answer is 204.
func (e *env) temporalSession(token string) *http.Cookie {
	e.t.Helper()
	r := e.do("POST", "/auth/temporal-session", token, nil)
	if r.status != http.StatusNoContent {
		e.t.Fatalf("temporal-session: %d %s", r.status, r.body)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == auth.TemporalSessionCookie {
			return c
		}
	}
	e.t.Fatalf("temporal-session set no %s cookie: %v", auth.TemporalSessionCookie, r.header.Values("Set-Cookie"))
	return nil
}

// verifyWithCookie asks /auth/verify-admin the way nginx's auth_request
// passes a browser's request on: the cookie, no bearer.
func (e *env) verifyWithCookie(value string) int {
	e.t.Helper()
	var headers []string
	if value != "" {
		headers = []string{"Cookie", auth.TemporalSessionCookie + "=" + value}
	}
	r := e.do("GET", "/auth/verify-admin", "", nil, headers...)
	if r.status != http.StatusNoContent {
		r.problem(e.t, r.status)
	}
	return r.status
}

// sessionClaims are the claims of a Temporal UI session of sub.
func sessionClaims(sub string, role authn.Role) authn.Claims {
	c := validClaims(sub)
	c.Audience = jwt.ClaimStrings{audience + "/temporal-ui"}
	c.Role = role
	return c
}

func TestTemporalSession_AdminGetsAScopedCookie(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	c := e.temporalSession(e.login(admin.Email, admin.password).AccessToken)

	if c.Path != "/temporal" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie = %+v, want Path=/temporal, HttpOnly, Secure, SameSite=Strict", c)
	}
	if c.MaxAge != 900 {
		t.Fatalf("Max-Age = %d, want 900 (15 minutes)", c.MaxAge)
	}
	if got := e.verifyWithCookie(c.Value); got != http.StatusNoContent {
		t.Fatalf("verify-admin with the admin's cookie: %d, want 204", got)
	}
	// The cookie is no access token: the other services would refuse it.
	e.do("GET", "/auth/me", c.Value, nil).problem(t, http.StatusUnauthorized)
}

func TestTemporalSession_OthersAreRefused(t *testing.T) {
	e := newEnv(t)
	emp := e.register("ana@example.com", "Ana")
	agent := e.createUser("agent@example.com", authn.RoleAgent)
	for _, u := range []registered{emp, agent} {
		token := e.login(u.Email, u.password).AccessToken
		e.do("POST", "/auth/temporal-session", token, nil).problem(t, http.StatusForbidden)
		e.do("GET", "/auth/verify-admin", token, nil).problem(t, http.StatusForbidden)
	}
	e.do("POST", "/auth/temporal-session", "", nil).problem(t, http.StatusUnauthorized)
}

func TestTemporalSession_DemotedAdminGetsNoSession(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	other := e.createUser("boss@example.com", authn.RoleAdmin)
	token := e.login(admin.Email, admin.password).AccessToken
	bossToken := e.login(other.Email, other.password).AccessToken
	if r := e.do("PATCH", "/auth/users/"+admin.ID, bossToken, map[string]string{"role": "agent"}); r.status != http.StatusOK {
		t.Fatalf("demote: %d %s", r.status, r.body)
	}
	// The access token still says admin; the database does not.
	e.do("POST", "/auth/temporal-session", token, nil).problem(t, http.StatusForbidden)
}

func TestVerifyAdmin_AdminBearer204(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	if r := e.do("GET", "/auth/verify-admin", e.login(admin.Email, admin.password).AccessToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("verify-admin with an admin's bearer: %d %s", r.status, r.body)
	}
}

func TestVerifyAdmin_BadCookies401(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	emp := e.register("ana@example.com", "Ana")

	sign := func(c authn.Claims) string {
		tok, err := e.keys.Sign(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	expired := sessionClaims(admin.ID, authn.RoleAdmin)
	expired.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-45 * time.Minute))

	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	foreign := jwt.NewWithClaims(jwt.SigningMethodEdDSA, sessionClaims(admin.ID, authn.RoleAdmin))
	foreign.Header["kid"] = kidOf(t, sign(sessionClaims(admin.ID, authn.RoleAdmin)))
	foreignTok, _ := foreign.SignedString(otherKey)

	// An employee's session with its role rewritten to admin.
	good := sign(sessionClaims(emp.ID, authn.RoleEmployee))
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	claims["role"] = "admin"
	forged, _ := json.Marshal(claims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]

	for name, value := range map[string]string{
		"none":             "",
		"garbage":          "not-a-token",
		"expired":          sign(expired),
		"forged signature": foreignTok,
		"tampered":         tampered,
		// An access token is for the APIs, not for the UI's cookie.
		"access token audience": e.login(admin.Email, admin.password).AccessToken,
		"other audience": sign(func() authn.Claims {
			c := sessionClaims(admin.ID, authn.RoleAdmin)
			c.Audience = jwt.ClaimStrings{"another-app/temporal-ui"}
			return c
		}()),
		"other issuer": sign(func() authn.Claims {
			c := sessionClaims(admin.ID, authn.RoleAdmin)
			c.Issuer = "evil"
			return c
		}()),
	} {
		t.Run(name, func(t *testing.T) {
			if got := e.verifyWithCookie(value); got != http.StatusUnauthorized {
				t.Fatalf("verify-admin: %d, want 401", got)
			}
		})
	}
	// The control: the same signer with good claims passes, and an
	// employee's well-signed session is refused for its role.
	if got := e.verifyWithCookie(sign(sessionClaims(admin.ID, authn.RoleAdmin))); got != http.StatusNoContent {
		t.Fatalf("control: %d, want 204", got)
	}
	if got := e.verifyWithCookie(good); got != http.StatusForbidden {
		t.Fatalf("employee's session: %d, want 403", got)
	}
}
