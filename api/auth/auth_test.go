package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

const (
	issuer   = "ticketflow-test"
	audience = "ticketflow-test"
	// Limits are small so the rate-limit tests stay short.
	perAccount = 3
	perAddress = 6
	maxBody    = 8 << 10
)

// env is one auth service on a fresh schema and Redis prefix, served over
// real HTTP.
type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	svc  *auth.Service
	keys *auth.KeyStore
	srv  *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool, _ := testenv.Schema(t, "auth")
	if err := auth.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeyStore(pool, 15*time.Minute, 0)
	if err := keys.Ensure(ctx, 0); err != nil {
		t.Fatal(err)
	}
	rdb, prefix := testenv.Redis(t)
	log := testenv.Logger(t)
	limiter := auth.NewLoginLimiter(rdb, prefix, perAccount, perAddress, time.Minute)
	svc := auth.NewService(pool, keys, limiter, auth.Config{
		Issuer: issuer, Audience: audience, AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour,
	}, log)
	verifier := authn.NewVerifier(keys, issuer, audience)
	h := auth.NewHandler(svc, keys, verifier, cursor.New("test-secret"), log, true)
	router := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: maxBody, Timeout: 10 * time.Second})
	router.Mount(auth.Prefix, h.Routes())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return &env{t: t, pool: pool, svc: svc, keys: keys, srv: srv}
}

// response is an HTTP answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem checks that r is a problem document with the given status and
// returns it.
func (r response) problem(t *testing.T, status int) httpx.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p httpx.Problem
	r.decode(t, &p)
	if p.Status != status || p.Title == "" {
		t.Fatalf("problem = %+v", p)
	}
	return p
}

func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

type registered struct {
	auth.User
	password string
}

func (e *env) register(email, name string) registered {
	e.t.Helper()
	pw := "a long enough password"
	r := e.do("POST", "/auth/register", "", map[string]string{"email": email, "password": pw, "name": name})
	if r.status != http.StatusCreated {
		e.t.Fatalf("register %s: %d %s", email, r.status, r.body)
	}
	var u registered
	r.decode(e.t, &u.User)
	u.password = pw
	return u
}

func (e *env) createUser(email string, role authn.Role) registered {
	e.t.Helper()
	pw := "another long password"
	u, err := e.svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: pw, Name: string(role) + " user", Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	return registered{User: u, password: pw}
}

func (e *env) login(email, password string, headers ...string) auth.TokenPair {
	e.t.Helper()
	r := e.do("POST", "/auth/login", "", map[string]string{"email": email, "password": password}, headers...)
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	var p auth.TokenPair
	r.decode(e.t, &p)
	return p
}

// count returns the number of rows a query counts.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestLogin_EveryFailedLoginPaysForOneFullHash proves, without a clock,
// that a login costs the same whatever the e-mail: an unknown e-mail, a
// wrong password, a deactivated account and an account without a password
// each run exactly one Argon2id check at the cost of a real hash, as a
// successful login does. The answers alone cannot show that an unknown
// e-mail is not answered early (and faster).
func TestLogin_EveryFailedLoginPaysForOneFullHash(t *testing.T) {
	e := newEnv(t)
	ana := e.register("ana@example.com", "Ana")
	gone := e.register("gone@example.com", "Gone")
	mailOnly := e.register("mail.only@example.com", "Mail Only")
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `UPDATE users SET active = false WHERE id = $1`, gone.ID); err != nil {
		t.Fatal(err)
	}
	// As mail-in creates requesters: no password at all.
	if _, err := e.pool.Exec(ctx, `UPDATE users SET password_hash = NULL WHERE id = $1`, mailOnly.ID); err != nil {
		t.Fatal(err)
	}
	take := auth.RecordPasswordChecks(t)

	for i, c := range []struct {
		name, email, password string
		status                int
	}{
		{"right password", ana.Email, ana.password, http.StatusOK},
		{"wrong password", ana.Email, "not the password", http.StatusUnauthorized},
		{"unknown e-mail", "nobody@example.com", "not the password", http.StatusUnauthorized},
		{"deactivated account", gone.Email, gone.password, http.StatusUnauthorized},
		{"account without a password", mailOnly.Email, "not the password", http.StatusUnauthorized},
	} {
		// Each from its own address, under the rate limits.
		r := e.do("POST", "/auth/login", "", map[string]string{"email": c.email, "password": c.password},
			"X-Real-IP", "10.9.0."+string(rune('1'+i)))
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d; %s", c.name, r.status, c.status, r.body)
		}
		checks := take()
		if len(checks) != 1 || checks[0] != auth.HashCost {
			t.Errorf("%s: password checks %+v, want exactly one at %+v", c.name, checks, auth.HashCost)
		}
	}
}
