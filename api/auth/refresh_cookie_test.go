package auth_test

import (
	"net/http"
	"testing"

	"github.com/ticketflow/ticketflow/api/auth"
)

// refreshCookie returns the refresh cookie r sets, failing without one.
func refreshCookie(t *testing.T, r response, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, r.header.Values("Set-Cookie"))
	return nil
}

func TestRefreshCookie_LoginSetsAnHttpOnlyStrictCookie(t *testing.T) {
	e := newEnv(t)
	u := e.register("jar@example.com", "Jar")
	r := e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": u.password})
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var pair auth.TokenPair
	r.decode(t, &pair)
	// Plain HTTP from an untrusted peer: no Secure flag, so no prefix.
	c := refreshCookie(t, r, auth.RefreshCookieInsecure)
	if c.Value != pair.RefreshToken || pair.RefreshToken == "" {
		t.Fatalf("cookie value %q, JSON refresh token %q", c.Value, pair.RefreshToken)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/auth" || c.Secure {
		t.Fatalf("cookie = %+v, want HttpOnly, SameSite=Strict, Path=/auth, not Secure", c)
	}
	if c.MaxAge != 24*3600 {
		t.Fatalf("Max-Age = %d, want the refresh token's 24h", c.MaxAge)
	}

	// Behind the trusted gateway over https: Secure and __Secure- prefixed.
	r = e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": u.password}, "X-Forwarded-Proto", "https")
	c = refreshCookie(t, r, auth.RefreshCookie)
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/auth" || c.Name != "__Secure-ticketflow-refresh" {
		t.Fatalf("cookie over https = %+v", c)
	}
	for _, sc := range r.header.Values("Set-Cookie") {
		if len(sc) >= len(auth.RefreshCookieInsecure) && sc[:len(auth.RefreshCookieInsecure)] == auth.RefreshCookieInsecure {
			t.Fatalf("an unprefixed cookie was set over https: %s", sc)
		}
	}
}

func TestRefreshCookie_RotatesAndDetectsReuse(t *testing.T) {
	e := newEnv(t)
	u := e.register("crumb@example.com", "Crumb")
	first := e.login(u.Email, u.password)
	jar := func(v string) []string {
		return []string{"Cookie", auth.RefreshCookieInsecure + "=" + v}
	}

	// No token in the body: the cookie's is used and rotated.
	r := e.do("POST", "/auth/refresh", "", map[string]string{}, jar(first.RefreshToken)...)
	if r.status != http.StatusOK {
		t.Fatalf("refresh by cookie: %d %s", r.status, r.body)
	}
	var second auth.TokenPair
	r.decode(t, &second)
	c := refreshCookie(t, r, auth.RefreshCookieInsecure)
	if c.Value == first.RefreshToken || c.Value != second.RefreshToken || !c.HttpOnly || c.MaxAge <= 0 {
		t.Fatalf("rotated cookie = %+v, pair = %+v", c, second)
	}
	if got := userOf(t, e, second.AccessToken); got.ID != u.ID {
		t.Fatalf("refreshed token is for %s, want %s", got.ID, u.ID)
	}

	// A cross-site form cannot send JSON: a cookie-only refresh without
	// Content-Type: application/json is refused.
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		e.do("POST", "/auth/refresh", "", `{}`, append(jar(second.RefreshToken), "Content-Type", ct)...).
			problem(t, http.StatusUnsupportedMediaType)
	}

	// The old cookie value again: refused, and the whole family revoked.
	r = e.do("POST", "/auth/refresh", "", map[string]string{}, jar(first.RefreshToken)...)
	r.problem(t, http.StatusUnauthorized)
	if cleared := refreshCookie(t, r, auth.RefreshCookieInsecure); cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Fatalf("a refused cookie was not cleared: %+v", cleared)
	}
	e.do("POST", "/auth/refresh", "", map[string]string{}, jar(second.RefreshToken)...).problem(t, http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, u.ID); n != 0 {
		t.Fatalf("live refresh tokens after reuse = %d, want 0", n)
	}
}

func TestRefreshCookie_NeitherBodyNorCookie(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{`{}`, `{"refresh_token":""}`} {
		p := e.do("POST", "/auth/refresh", "", body).problem(t, http.StatusUnauthorized)
		if p.Detail == "" {
			t.Fatalf("%s: problem without detail: %+v", body, p)
		}
	}
}

func TestRefreshCookie_LogoutClearsIt(t *testing.T) {
	e := newEnv(t)
	u := e.register("crumbs@example.com", "Crumbs")
	pair := e.login(u.Email, u.password)
	r := e.do("POST", "/auth/logout", "", map[string]string{}, "Cookie", auth.RefreshCookieInsecure+"="+pair.RefreshToken)
	if r.status != http.StatusNoContent {
		t.Fatalf("logout by cookie: %d %s", r.status, r.body)
	}
	c := refreshCookie(t, r, auth.RefreshCookieInsecure)
	if c.MaxAge >= 0 || c.Value != "" || c.Path != "/auth" {
		t.Fatalf("logout cookie = %+v, want an expired, empty one at /auth", c)
	}
	// The session is revoked, by cookie and by body alike.
	e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": pair.RefreshToken}).problem(t, http.StatusUnauthorized)
	// Signing out without any token still clears the cookie.
	r = e.do("POST", "/auth/logout", "", map[string]string{})
	if r.status != http.StatusNoContent || refreshCookie(t, r, auth.RefreshCookieInsecure).MaxAge >= 0 {
		t.Fatalf("tokenless logout: %d %v", r.status, r.header.Values("Set-Cookie"))
	}
}
