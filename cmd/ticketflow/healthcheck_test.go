package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// healthcheck runs `ticketflow healthcheck` with args in-process.
func healthcheck(args ...string) error {
	cmd := newRootCommand()
	cmd.SetArgs(append([]string{"healthcheck"}, args...))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd.Execute()
}

func TestHealthcheck_ReadyProcessPasses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"OK"}`))
	}))
	defer srv.Close()
	if err := healthcheck("--url", srv.URL+"/readyz"); err != nil {
		t.Fatalf("ready process: %v", err)
	}
	// Without --url: /readyz on HTTP_ADDR, a wildcard host being loopback.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	t.Setenv("HTTP_ADDR", "0.0.0.0:"+port)
	if err := healthcheck(); err != nil {
		t.Fatalf("ready process on HTTP_ADDR: %v", err)
	}
}

func TestHealthcheck_UnreadyOrDownProcessFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"checks":{"postgres":"unavailable"}}`))
	}))
	url := srv.URL + "/readyz"
	err := healthcheck("--url", url)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "postgres") {
		t.Fatalf("unready process: err = %v, want one naming the 503 and its body", err)
	}
	srv.Close()
	if err := healthcheck("--url", url, "--timeout", "500ms"); err == nil {
		t.Fatal("a process that is gone passed")
	}
}

func TestReadyzURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		":8082":          "http://127.0.0.1:8082/readyz",
		"[::]:8083":      "http://127.0.0.1:8083/readyz",
		"127.0.0.1:8090": "http://127.0.0.1:8090/readyz",
		"":               "http://127.0.0.1:8080/readyz",
	} {
		if got := readyzURL(addr); got != want {
			t.Errorf("readyzURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
