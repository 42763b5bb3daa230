package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/testenv"
)

// lockedBuffer collects a process's output for the test's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// privateDatabase returns the URL of a database that does not exist yet
// (run.sh creates it) and drops it when the test ends.
func privateDatabase(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.Name("run")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testenv.DatabaseURL())
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// TestRunScript_ServesTheAppAndStopsOnCtrlC runs scripts/run.sh (`make
// run`) as a user would, on a free port, a database of its own and the
// shared PostgreSQL, RabbitMQ, Redis and Temporal (which it therefore
// neither starts nor stops): it must answer /readyz, serve the built web
// app at /, and on SIGINT stop ticketflow dev and exit, closing the port.
//
// run.sh builds the binary (into the test's folder) and, when web/dist is
// missing or older than web/'s sources, the web app: allow a minute or two
// for `npm run build` on a busy machine, and a few more for `npm ci` when
// web/node_modules is missing. A fresh web/dist makes it take seconds.
func TestRunScript_ServesTheAppAndStopsOnCtrlC(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr

	cmd := exec.Command(bash, filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	env := map[string]string{
		"HTTP_ADDR":           addr,
		"DATABASE_URL":        privateDatabase(t),
		"DATABASE_MAX_CONNS":  "4",
		"AMQP_URL":            testenv.VHost(t),
		"REDIS_URL":           testenv.RedisURL(),
		"REDIS_PREFIX":        testenv.Name("run") + ":",
		"TEMPORAL_ADDRESS":    testenv.TemporalAddress(),
		"TEMPORAL_TASK_QUEUE": testenv.Name("tq"),
		"TICKETFLOW_BIN":      filepath.Join(t.TempDir(), "ticketflow"),
		"MAIL_DIR":            t.TempDir(),
		"ATTACHMENTS_DIR":     t.TempDir(),
		"LOG_LEVEL":           "warn",
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ours := env[name]; !ours && name != "WEB_DIST" && name != "WEB_BUILD" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("run.sh said:\n%s", out.String())
		}
	})

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, http.Header, string, error) {
		res, err := client.Get(base + path)
		if err != nil {
			return 0, nil, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b), err
	}
	// Builds come first: a generous bound, which only ends a hung run.
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if status, _, _, err := get("/readyz"); err == nil && status == http.StatusOK {
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("run.sh exited before /readyz answered: %v", err)
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not answer 200 within 10 minutes")
		}
	}

	status, header, body, err := get("/")
	if err != nil || status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "<title>Ticketflow</title>") {
		t.Fatalf("GET / = %d %q, %v:\n%s", status, header.Get("Content-Type"), err, body)
	}
	// The built app, not its source page: its script is a bundle in /assets.
	script := regexp.MustCompile(`<script[^>]+src="(/assets/[^"]+\.js)"`).FindStringSubmatch(body)
	if script == nil {
		t.Fatalf("GET / is not the built app:\n%s", body)
	}
	if status, _, _, err := get(script[1]); err != nil || status != http.StatusOK {
		t.Fatalf("GET %s = %d, %v", script[1], status, err)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		// run.sh exits 130 on Ctrl-C, as a shell does.
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("run.sh exited with %v, want status 130", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("run.sh did not exit within 2 minutes of SIGINT")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("something still listens on %s after run.sh exited", addr)
	}
	if !strings.Contains(out.String(), "stopping ticketflow dev") {
		t.Errorf("run.sh did not say it stopped ticketflow dev")
	}
}
