package auth_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
)

func TestLogin_WrongPasswordAndUnknownEmailLookAlike(t *testing.T) {
	e := newEnv(t)
	u := e.register("ana@example.com", "Ana")
	wrong := e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": "not the password"},
		"X-Real-IP", "10.0.0.1").problem(t, http.StatusUnauthorized)
	unknown := e.do("POST", "/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "not the password"},
		"X-Real-IP", "10.0.0.2").problem(t, http.StatusUnauthorized)
	if wrong.Detail != unknown.Detail || wrong.Code != unknown.Code {
		t.Fatalf("answers differ: %+v vs %+v", wrong, unknown)
	}
	// The e-mail is matched case-insensitively.
	pair := e.login("ANA@example.com", u.password)
	if pair.TokenType != "Bearer" || pair.ExpiresIn != 900 || pair.RefreshToken == "" {
		t.Fatalf("pair = %+v", pair)
	}
}

func TestLogin_RateLimitedPerAccount(t *testing.T) {
	e := newEnv(t)
	u := e.register("target@example.com", "Target")
	for i := range perAccount {
		// Each attempt from another address: the account limit holds anyway.
		e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": "guess " + strconv.Itoa(i)},
			"X-Real-IP", "10.1.0."+strconv.Itoa(i+1)).problem(t, http.StatusUnauthorized)
	}
	r := e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": u.password}, "X-Real-IP", "10.1.1.1")
	r.problem(t, http.StatusTooManyRequests)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Another account is not affected.
	other := e.register("other@example.com", "Other")
	e.login(other.Email, other.password, "X-Real-IP", "10.1.1.1")
}

func TestLogin_RateLimitedPerAddress(t *testing.T) {
	e := newEnv(t)
	u := e.register("sprayed@example.com", "Sprayed")
	for i := range perAddress {
		e.do("POST", "/auth/login", "", map[string]string{"email": "user" + strconv.Itoa(i) + "@example.com", "password": "guess guess"},
			"X-Real-IP", "10.2.0.1").problem(t, http.StatusUnauthorized)
	}
	e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": u.password}, "X-Real-IP", "10.2.0.1").
		problem(t, http.StatusTooManyRequests)
	e.login(u.Email, u.password, "X-Real-IP", "10.2.0.2")
}

func TestLogin_SuccessResetsTheAccountCount(t *testing.T) {
	e := newEnv(t)
	u := e.register("typo@example.com", "Typo")
	for range 2 {
		for i := range perAccount - 1 {
			e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": "typo typo typo"},
				"X-Real-IP", "10.3.0."+strconv.Itoa(i+1)).problem(t, http.StatusUnauthorized)
		}
		e.login(u.Email, u.password, "X-Real-IP", "10.3.1.1")
	}
}

func TestRefresh_RotatesAndDetectsReuse(t *testing.T) {
	e := newEnv(t)
	u := e.register("rot@example.com", "Rot")
	first := e.login(u.Email, u.password)

	r := e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	var second auth.TokenPair
	r.decode(t, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("refresh did not rotate: %+v", second)
	}
	if got := userOf(t, e, second.AccessToken); got.ID != u.ID {
		t.Fatalf("refreshed token is for %s, want %s", got.ID, u.ID)
	}

	// Replaying the spent token revokes the family: the thief's and the
	// user's newest token stop working alike.
	e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).problem(t, http.StatusUnauthorized)
	e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}).problem(t, http.StatusUnauthorized)

	// Another session of the same user lives on.
	other := e.login(u.Email, u.password)
	e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": other.RefreshToken})
	if n := e.count(`SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL AND rotated_at IS NULL`, u.ID); n != 1 {
		t.Fatalf("live refresh tokens = %d, want 1", n)
	}
}

func TestRefresh_BadTokens(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{`{"refresh_token":"made-up"}`, `{"refresh_token":""}`, `{}`, `{"refresh_token":42}`, `nope`} {
		r := e.do("POST", "/auth/refresh", "", body)
		if r.status != http.StatusUnauthorized && r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d", body, r.status)
		}
		r.problem(t, r.status)
	}
}

func TestLogout_EndsTheSession(t *testing.T) {
	e := newEnv(t)
	u := e.register("bye@example.com", "Bye")
	pair := e.login(u.Email, u.password)
	if r := e.do("POST", "/auth/logout", "", map[string]string{"refresh_token": pair.RefreshToken}); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": pair.RefreshToken}).problem(t, http.StatusUnauthorized)
	// Logging out twice is fine.
	if r := e.do("POST", "/auth/logout", "", map[string]string{"refresh_token": pair.RefreshToken}); r.status != http.StatusNoContent {
		t.Fatalf("second logout: %d", r.status)
	}
}

func TestServiceToken_ClientCredentials(t *testing.T) {
	e := newEnv(t)
	secret, err := e.svc.SetServiceAccount(context.Background(), "helpdesk", "")
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/auth/token", "", map[string]string{"grant_type": "client_credentials", "client_id": "helpdesk", "client_secret": secret})
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	var pair auth.TokenPair
	r.decode(t, &pair)
	if pair.RefreshToken != "" {
		t.Fatal("a service token came with a refresh token")
	}
	if got := userOf(t, e, pair.AccessToken); got.Role != authn.RoleService || got.ID != "helpdesk" {
		t.Fatalf("service token user = %+v", got)
	}
	// The source the services use gets the same token over HTTP.
	src := authn.NewServiceTokenSource(e.srv.URL, "helpdesk", secret, http.DefaultClient)
	if tok, err := src.Token(context.Background()); err != nil || userOf(t, e, tok).Role != authn.RoleService {
		t.Fatalf("token source: %v", err)
	}

	e.do("POST", "/auth/token", "", map[string]string{"grant_type": "client_credentials", "client_id": "helpdesk", "client_secret": secret + "x"}).
		problem(t, http.StatusUnauthorized)
	e.do("POST", "/auth/token", "", map[string]string{"grant_type": "client_credentials", "client_id": "nobody", "client_secret": secret}).
		problem(t, http.StatusUnauthorized)
	e.do("POST", "/auth/token", "", map[string]string{"grant_type": "password", "client_id": "helpdesk", "client_secret": secret}).
		problem(t, http.StatusBadRequest)
	// A service token is not a user: it has no profile and no admin rights.
	e.do("GET", "/auth/me", pair.AccessToken, nil).problem(t, http.StatusNotFound)
	e.do("GET", "/auth/users", pair.AccessToken, nil).problem(t, http.StatusForbidden)
}
