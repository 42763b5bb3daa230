package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "workflow"
	testClientSecret = "s3cret-do-not-log"
)

// tokenServer is a fake /auth/token endpoint that checks each request and
// answers with a fresh token, "token-<n>", counting requests.
type tokenServer struct {
	*httptest.Server
	requests atomic.Int64

	mu        sync.Mutex
	expiresIn int64
	fail      int // status to fail with; 0 answers normally
	delay     time.Duration
}

func newTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	ts := &tokenServer{expiresIn: 900}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.requests.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/auth/token" {
			t.Errorf("request %s %s, want POST /auth/token", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode token request: %v", err)
		}
		want := map[string]string{"grant_type": "client_credentials", "client_id": testClientID, "client_secret": testClientSecret}
		if fmt.Sprint(body) != fmt.Sprint(want) {
			t.Errorf("token request %v, want %v", body, want)
		}

		ts.mu.Lock()
		expiresIn, fail, delay := ts.expiresIn, ts.fail, ts.delay
		ts.mu.Unlock()
		time.Sleep(delay)
		if fail != 0 {
			http.Error(w, `{"code":"unauthorized"}`, fail)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("token-%d", n),
			"token_type":   "Bearer",
			"expires_in":   expiresIn,
		})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) set(f func(ts *tokenServer)) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	f(ts)
}

func newTestTokenSource(ts *tokenServer, c *clock) *ServiceTokenSource {
	src := NewServiceTokenSource(ts.URL+"/", testClientID, testClientSecret, ts.Client())
	src.now = c.Now
	return src
}

// requireToken fails unless src yields want.
func requireToken(t *testing.T, src *ServiceTokenSource, want string) {
	t.Helper()
	got, err := src.Token(t.Context())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got != want {
		t.Fatalf("Token = %q, want %q", got, want)
	}
}

func TestServiceTokenSource_CachesToken(t *testing.T) {
	ts := newTokenServer(t)
	src := newTestTokenSource(ts, newClock())
	for range 5 {
		requireToken(t, src, "token-1")
	}
	if got := ts.requests.Load(); got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
}

func TestServiceTokenSource_RefreshesAMinuteBeforeExpiry(t *testing.T) {
	ts := newTokenServer(t) // 15-minute tokens
	c := newClock()
	src := newTestTokenSource(ts, c)

	requireToken(t, src, "token-1")
	c.Advance(14*time.Minute - time.Second)
	requireToken(t, src, "token-1")
	c.Advance(time.Second)
	requireToken(t, src, "token-2")
	requireToken(t, src, "token-2")
	if got := ts.requests.Load(); got != 2 {
		t.Errorf("%d token requests, want 2", got)
	}
}

func TestServiceTokenSource_CachesShortLivedTokensForHalfTheirLife(t *testing.T) {
	ts := newTokenServer(t)
	ts.set(func(ts *tokenServer) { ts.expiresIn = 60 })
	c := newClock()
	src := newTestTokenSource(ts, c)

	requireToken(t, src, "token-1")
	c.Advance(29 * time.Second)
	requireToken(t, src, "token-1")
	c.Advance(time.Second)
	requireToken(t, src, "token-2")
}

func TestServiceTokenSource_ConcurrentCallersShareOneRequest(t *testing.T) {
	ts := newTokenServer(t)
	ts.set(func(ts *tokenServer) { ts.delay = 50 * time.Millisecond })
	src := newTestTokenSource(ts, newClock())

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			got, err := src.Token(context.Background())
			if err != nil || got != "token-1" {
				t.Errorf("Token = %q, %v; want token-1", got, err)
			}
		})
	}
	wg.Wait()
	if got := ts.requests.Load(); got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
}

func TestServiceTokenSource_FailureIsNotCached(t *testing.T) {
	ts := newTokenServer(t)
	ts.set(func(ts *tokenServer) { ts.fail = http.StatusUnauthorized })
	src := newTestTokenSource(ts, newClock())

	_, err := src.Token(t.Context())
	if err == nil {
		t.Fatal("Token succeeded against a failing auth service")
	}
	if strings.Contains(err.Error(), testClientSecret) {
		t.Errorf("error %q reveals the client secret", err)
	}
	ts.set(func(ts *tokenServer) { ts.fail = 0 })
	requireToken(t, src, "token-2")
}

func TestServiceTokenSource_KeepsUnexpiredTokenWhenRefreshFails(t *testing.T) {
	ts := newTokenServer(t)
	c := newClock()
	src := newTestTokenSource(ts, c)
	requireToken(t, src, "token-1")

	ts.set(func(ts *tokenServer) { ts.fail = http.StatusServiceUnavailable })
	c.Advance(14*time.Minute + 30*time.Second) // due for refresh, not expired
	requireToken(t, src, "token-1")

	c.Advance(30 * time.Second) // expired now
	if _, err := src.Token(t.Context()); err == nil {
		t.Fatal("Token returned an expired token")
	}
}

func TestServiceTokenSource_RejectsBadResponses(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"no access token", `{"token_type":"Bearer","expires_in":900}`},
		{"wrong token type", `{"access_token":"t","token_type":"mac","expires_in":900}`},
		{"no expiry", `{"access_token":"t","token_type":"Bearer"}`},
		{"negative expiry", `{"access_token":"t","token_type":"Bearer","expires_in":-5}`},
		{"not JSON", `<html></html>`},
		{"oversized", `{"access_token":"` + strings.Repeat("x", maxTokenResponseBytes) + `","token_type":"Bearer","expires_in":900}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			src := NewServiceTokenSource(srv.URL, testClientID, testClientSecret, srv.Client())
			if tok, err := src.Token(t.Context()); err == nil {
				t.Errorf("Token = %q, want error", tok)
			}
		})
	}
}

func TestServiceTokenSource_HonoursCallerContext(t *testing.T) {
	ts := newTokenServer(t)
	ts.set(func(ts *tokenServer) { ts.delay = 200 * time.Millisecond })
	src := newTestTokenSource(ts, newClock())

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := src.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token error %v, want deadline exceeded", err)
	}
	// The request the impatient caller started completes for the next one.
	requireToken(t, src, "token-1")
	if got := ts.requests.Load(); got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
}

func TestTransport_AddsBearerToken(t *testing.T) {
	ts := newTokenServer(t)
	src := newTestTokenSource(ts, newClock())
	var gotAuth []string
	var mu sync.Mutex
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
	}))
	defer downstream.Close()
	client := &http.Client{Transport: &Transport{Source: src, Base: downstream.Client().Transport}}

	for range 2 {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, downstream.URL+"/helpdesk/tickets/1", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		resp.Body.Close()
		if req.Header.Get("Authorization") != "" {
			t.Error("Transport modified the caller's request")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gotAuth) != 2 || gotAuth[0] != "Bearer token-1" || gotAuth[1] != "Bearer token-1" {
		t.Errorf("downstream saw Authorization %q, want Bearer token-1 twice", gotAuth)
	}
}

// failingSource is a TokenSource that cannot get a token.
type failingSource struct{}

func (failingSource) Token(context.Context) (string, error) { return "", errors.New("auth down") }

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func TestTransport_FailsWithoutTokenAndClosesBody(t *testing.T) {
	tr := &Transport{Source: failingSource{}, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Error("request sent without a token")
		return nil, errors.New("unreachable")
	})}
	body := &trackedBody{Reader: strings.NewReader(`{"to":"resolved"}`)}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://workflow.test/x", body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("RoundTrip succeeded without a token")
	}
	if !body.closed {
		t.Error("request body left open")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
