package httpx

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServer serves h with the given timeouts on a loopback port and
// returns its address.
func startServer(t *testing.T, h http.Handler, to timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- serve(ctx, log, ln, h, time.Second, nil, to) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closes c within d, while the
// client keeps dribbling with send every tick.
func closedWithin(c net.Conn, d time.Duration, send func() error) bool {
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, c)
		close(closed)
	}()
	deadline := time.After(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			return true
		case <-deadline:
			return false
		case <-tick.C:
			_ = send()
		}
	}
}

func TestServe_SlowlorisHeadersAreCut(t *testing.T) {
	addr := startServer(t, http.NotFoundHandler(), timeouts{header: 300 * time.Millisecond, bodyIdle: time.Minute, body: time.Minute, idle: time.Minute})
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !closedWithin(c, 3*time.Second, func() error { _, err := io.WriteString(c, "X-A: b\r\n"); return err }) {
		t.Fatal("a request whose headers never end still holds its connection after 3s")
	}
	t.Logf("headers dribbled: connection closed after %s", time.Since(start).Round(time.Millisecond))
}

// bodyReader is a handler that reads the whole body and reports the error.
func bodyReader(errc chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		errc <- err
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
}

func TestServe_StalledBodyIsCut(t *testing.T) {
	errc := make(chan error, 1)
	addr := startServer(t, bodyReader(errc), timeouts{header: time.Minute, bodyIdle: 200 * time.Millisecond, body: time.Minute, idle: time.Minute})
	c := dial(t, addr)
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	select {
	case err := <-errc:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("reading a stalled body: %v, want a timeout", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a handler reading a stalled body is still blocked after 3s")
	}
}

func TestServe_DribbledBodyIsCutAtTheTotalDeadline(t *testing.T) {
	errc := make(chan error, 1)
	addr := startServer(t, bodyReader(errc), timeouts{header: time.Minute, bodyIdle: 300 * time.Millisecond, body: 700 * time.Millisecond, idle: time.Minute})
	c := dial(t, addr)
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	start := time.Now()
	// One byte every 50 ms: never idle for long, but never done either.
	go closedWithin(c, 5*time.Second, func() error { _, err := c.Write([]byte("x")); return err })
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("the dribbled body was read to its end")
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("cut after %s, want about 700ms", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a handler reading a dribbled body is still blocked after 5s")
	}
}

func TestServe_SlowHandlerAfterItsBodyKeepsItsContext(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		// Read again past the end, as Decode does looking for trailing data.
		if n, err := r.Body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		// Longer than the body's idle deadline: the deadline must be gone.
		select {
		case <-time.After(500 * time.Millisecond):
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}), timeouts{header: time.Minute, bodyIdle: 100 * time.Millisecond, body: 200 * time.Millisecond, idle: time.Minute})
	for range 2 { // and the kept-alive connection serves a second request
		res, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("a body"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204: the request context ended with the body's deadline", res.StatusCode)
		}
	}
}

func TestServe_UpgradedConnectionsHaveNoBodyDeadline(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = rw.Flush()
		line, err := rw.ReadString('\n') // sent long after any body deadline
		if err != nil {
			t.Errorf("read on the upgraded connection: %v", err)
			return
		}
		_, _ = rw.WriteString(line)
		_ = rw.Flush()
	}), timeouts{header: time.Minute, bodyIdle: 100 * time.Millisecond, body: 200 * time.Millisecond, idle: time.Minute})
	c := dial(t, addr)
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	time.Sleep(500 * time.Millisecond)
	_, _ = io.WriteString(c, "still here\n")
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if line, err := br.ReadString('\n'); err != nil || line != "still here\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}
