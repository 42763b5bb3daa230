package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// errorStatus writes err with httpx.Error and returns the status, the
// Retry-After header and the problem's code.
func errorStatus(t *testing.T, err error) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	httpx.Error(rec, httptest.NewRequest("GET", "/x", nil), testenv.Logger(t), err)
	var p httpx.Problem
	if err := json.NewDecoder(rec.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return rec.Code, rec.Header().Get("Retry-After"), string(p.Code)
}

func TestError_DependencyOutageIs503WithRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"PostgreSQL shutting down", fmt.Errorf("insert ticket: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), 503},
		{"PostgreSQL connection failure", &pgconn.PgError{Code: "08006"}, 503},
		{"a constraint violation is a bug here, not an outage", &pgconn.PgError{Code: "23505"}, 500},
		{"a plain error", errors.New("nil map"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, retry, code := errorStatus(t, tc.err)
			if status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
			if tc.want == 503 && (retry != "5" || code != "unavailable") {
				t.Errorf("Retry-After %q, code %q; want 5 and unavailable", retry, code)
			}
		})
	}
}

// The real thing: a query through a connection to PostgreSQL that goes
// away, the way a database restart looks to a service.
func TestError_DatabaseGoneIs503(t *testing.T) {
	u, err := url.Parse(testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	cfg, err := pgxpool.ParseConfig(proxy.URL(testenv.DatabaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(t.Context(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}

	proxy.Down() // the open connection drops; new ones are refused
	for _, what := range []string{"the dropped connection", "a refused new connection"} {
		_, err := pool.Exec(t.Context(), "SELECT 1")
		if err == nil {
			t.Fatalf("%s: query succeeded with the database gone", what)
		}
		if status, retry, _ := errorStatus(t, err); status != http.StatusServiceUnavailable || retry == "" {
			t.Errorf("%s (%v): status %d, Retry-After %q; want 503 with Retry-After", what, err, status, retry)
		}
	}
}
