package httpx_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// TestServe_DrainsInFlightRequestsOnCancel cancels the server's context
// while a request is in its handler: the listener closes at once (new
// connections are refused), the request still completes with 200 once its
// handler returns, and Serve returns nil only after that.
func TestServe_DrainsInFlightRequestsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- httpx.Serve(ctx, discard, ln, h, 30*time.Second, nil) }()

	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		answered <- answer{status: res.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached its handler")
	}

	cancel()
	// Shutdown closes the listener first: a new connection is refused
	// while the in-flight request is still held in its handler.
	refused := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Fatal("the server still accepts connections after its context was cancelled")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case a := <-answered:
		t.Fatalf("the in-flight request was answered before its handler returned: %+v", a)
	default:
	}

	close(release)
	select {
	case a := <-answered:
		if a.err != nil || a.status != http.StatusOK || a.body != "finished" {
			t.Fatalf("in-flight request: status %d, body %q, err %v; want 200 finished", a.status, a.body, a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request was not answered after its handler returned")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v, want nil after a clean drain", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the port still accepts connections after Serve returned")
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log records written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out
}

// TestRouter_LogsCarryTheRequestIDOfTheResponse checks that the access-log
// line of a request, and what its handler logs through the request's
// logger, carry the request_id that the response's X-Request-Id shows.
func TestRouter_LogsCarryTheRequestIDOfTheResponse(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	r := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: 1 << 10, Timeout: 10 * time.Second})
	r.Get("/work/{n}", func(w http.ResponseWriter, r *http.Request) {
		logging.FromContext(r.Context(), discard).Info("handler work", "n", chi.URLParam(r, "n"))
		httpx.JSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	ids := map[string]string{} // path -> X-Request-Id
	for _, path := range []string{"/work/1", "/work/2", "/nowhere"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		id := res.Header.Get("X-Request-Id")
		if id == "" {
			t.Fatalf("%s: no X-Request-Id", path)
		}
		ids[path] = id
	}
	if ids["/work/1"] == ids["/work/2"] {
		t.Fatalf("two requests share the request ID %q", ids["/work/1"])
	}

	access := map[string]map[string]any{}
	handlerLines := 0
	for _, rec := range buf.lines(t) {
		switch rec["msg"] {
		case "http request":
			path, _ := rec["path"].(string)
			access[path] = rec
		case "handler work":
			handlerLines++
			if rec["request_id"] != ids["/work/"+rec["n"].(string)] {
				t.Errorf("handler log %v: request_id = %v, want %q", rec, rec["request_id"], ids["/work/"+rec["n"].(string)])
			}
		}
	}
	if handlerLines != 2 {
		t.Errorf("handler log lines = %d, want 2", handlerLines)
	}
	for path, id := range ids {
		rec, ok := access[path]
		if !ok {
			t.Errorf("no access-log line for %s", path)
			continue
		}
		if rec["request_id"] != id {
			t.Errorf("access log of %s: request_id = %v, X-Request-Id = %q", path, rec["request_id"], id)
		}
		wantStatus := float64(http.StatusOK)
		if strings.HasPrefix(path, "/nowhere") {
			wantStatus = http.StatusNotFound
		}
		if rec["status"] != wantStatus || rec["method"] != "GET" {
			t.Errorf("access log of %s = %v", path, rec)
		}
	}
}
