package authn

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// requireProblem checks that rec holds a problem document with status.
func requireProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, code apperr.Code) httpx.Problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p httpx.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem %s: %v", rec.Body, err)
	}
	if p.Status != status || p.Code != code {
		t.Errorf("problem status %d code %q, want %d %q", p.Status, p.Code, status, code)
	}
	return p
}

// mustNotRun is a handler that fails the test if a request reaches it.
func mustNotRun(t *testing.T) http.Handler {
	return http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("handler ran for a request that should have been refused")
	})
}

func TestMiddleware_RejectsWithProblem(t *testing.T) {
	env := newVerifierEnv(t)
	now := env.clock.Now()
	expired := claimsAt(now.Add(-time.Hour))
	tests := []struct {
		name       string
		header     string
		wantDetail string
	}{
		{"no header", "", "missing bearer token"},
		{"basic scheme", "Basic dXNlcjpwYXNz", "missing bearer token"},
		{"scheme only", "Bearer", "missing bearer token"},
		{"empty token", "Bearer   ", "missing bearer token"},
		{"token without scheme", env.validToken(t), "missing bearer token"},
		{"garbage token", "Bearer garbage", "invalid token"},
		{"tampered token", "Bearer " + tamperRole(t, env.validToken(t), RoleAdmin), "invalid token"},
		{"expired token", "Bearer " + env.signer.sign(t, expired), "token has expired"},
	}
	h := env.verifier.Middleware(slog.New(slog.DiscardHandler))(mustNotRun(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/helpdesk/tickets", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			p := requireProblem(t, rec, http.StatusUnauthorized, apperr.Unauthorized)
			if p.Detail != tt.wantDetail {
				t.Errorf("detail %q, want %q", p.Detail, tt.wantDetail)
			}
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
}

func TestMiddleware_PassesUserAndLoggerOn(t *testing.T) {
	env := newVerifierEnv(t)
	claims := claimsAt(env.clock.Now())
	claims.Role = RoleAgent
	token := env.signer.sign(t, claims)

	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		t.Run(scheme, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			var got User
			h := env.verifier.Middleware(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = MustUser(r.Context())
				logging.FromContext(r.Context(), nil).Info("handled")
				w.WriteHeader(http.StatusOK)
			}))
			req := httptest.NewRequest(http.MethodGet, "/helpdesk/tickets", nil)
			req.Header.Set("Authorization", scheme+" "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
			}
			want := User{ID: claims.Subject, Role: RoleAgent, TokenID: claims.ID}
			if got != want {
				t.Errorf("user %+v, want %+v", got, want)
			}
			if !strings.Contains(logs.String(), `"user_id":"`+claims.Subject+`"`) {
				t.Errorf("request log %s lacks user_id", logs.String())
			}
		})
	}
}

func TestMiddleware_KeepsRequestLoggerFields(t *testing.T) {
	env := newVerifierEnv(t)
	var logs bytes.Buffer
	reqLog := slog.New(slog.NewJSONHandler(&logs, nil)).With("request_id", "req-42")
	h := env.verifier.Middleware(slog.New(slog.DiscardHandler))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logging.FromContext(r.Context(), nil).Info("handled")
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(logging.WithLogger(req.Context(), reqLog))
	req.Header.Set("Authorization", "Bearer "+env.validToken(t))
	h.ServeHTTP(httptest.NewRecorder(), req)

	if !strings.Contains(logs.String(), `"request_id":"req-42"`) || !strings.Contains(logs.String(), `"user_id"`) {
		t.Errorf("log %s, want both request_id and user_id", logs.String())
	}
}

func TestRequireRole(t *testing.T) {
	tests := []struct {
		name    string
		user    *User
		allowed []Role
		want    int
	}{
		{"no user", nil, []Role{RoleAgent, RoleAdmin}, http.StatusUnauthorized},
		{"employee on a staff route", &User{ID: "e", Role: RoleEmployee}, []Role{RoleAgent, RoleAdmin}, http.StatusForbidden},
		{"agent on an admin route", &User{ID: "a", Role: RoleAgent}, []Role{RoleAdmin}, http.StatusForbidden},
		{"service on a human route", &User{ID: "s", Role: RoleService}, []Role{RoleEmployee, RoleAgent, RoleAdmin}, http.StatusForbidden},
		{"no roles allow nobody", &User{ID: "a", Role: RoleAdmin}, nil, http.StatusForbidden},
		{"agent on a staff route", &User{ID: "a", Role: RoleAgent}, []Role{RoleAgent, RoleAdmin}, http.StatusOK},
		{"admin on an admin route", &User{ID: "a", Role: RoleAdmin}, []Role{RoleAdmin}, http.StatusOK},
		{"service on a service route", &User{ID: "s", Role: RoleService}, []Role{RoleService}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
			})
			if tt.want != http.StatusOK {
				next = mustNotRun(t)
			}
			h := RequireRole(nil, tt.allowed...)(next)
			req := httptest.NewRequest(http.MethodGet, "/workflow/board", nil)
			if tt.user != nil {
				req = req.WithContext(WithUser(req.Context(), *tt.user))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			switch tt.want {
			case http.StatusOK:
				if rec.Code != http.StatusOK {
					t.Errorf("status %d, want 200", rec.Code)
				}
			case http.StatusUnauthorized:
				requireProblem(t, rec, tt.want, apperr.Unauthorized)
			case http.StatusForbidden:
				requireProblem(t, rec, tt.want, apperr.Forbidden)
			}
		})
	}
}

func TestMiddlewareAndRequireRole_Chain(t *testing.T) {
	env := newVerifierEnv(t)
	h := env.verifier.Middleware(nil)(RequireRole(nil, RoleAdmin)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	for _, tt := range []struct {
		role Role
		want int
	}{
		{RoleEmployee, http.StatusForbidden},
		{RoleAdmin, http.StatusNoContent},
	} {
		claims := claimsAt(env.clock.Now())
		claims.Role = tt.role
		claims.ExpiresAt = jwt.NewNumericDate(env.clock.Now().Add(time.Minute))
		req := httptest.NewRequest(http.MethodPatch, "/auth/users/x", nil)
		req.Header.Set("Authorization", "Bearer "+env.signer.sign(t, claims))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.role, rec.Code, tt.want)
		}
	}
}
