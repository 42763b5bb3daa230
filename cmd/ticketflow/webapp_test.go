package main

import (
	"fmt"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ticketflow/ticketflow/internal/testenv"
)

func TestWebApp_ServesFilesAssetsAndFallsBackToIndex(t *testing.T) {
	dist := fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html><title>app</title>")},
		"assets/index-1.js": {Data: []byte("console.log(1)")},
		"robots.txt":        {Data: []byte("User-agent: *")},
	}
	h := newWebApp(dist, testenv.Logger(t))
	cases := []struct {
		method, path string
		status       int
		body, cache  string
	}{
		{"GET", "/", 200, "<!doctype html><title>app</title>", "no-cache"},
		{"GET", "/tickets/1b4e28ba-2fa1-11d2-883f-0016d3cca427", 200, "<!doctype html><title>app</title>", "no-cache"},
		{"GET", "/assets/index-1.js", 200, "console.log(1)", "public, max-age=31536000, immutable"},
		{"GET", "/robots.txt", 200, "User-agent: *", "no-cache"},
		{"GET", "/assets/gone.js", 404, "", ""},
		{"GET", "/notifications", 404, "", ""},
		{"GET", "/messaging/ws", 404, "", ""},
		{"POST", "/tickets", 405, "", ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, res.StatusCode, c.status)
			continue
		}
		if c.body != "" && string(body) != c.body {
			t.Errorf("%s %s: body %q", c.method, c.path, body)
		}
		if c.cache != "" && res.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s %s: Cache-Control %q, want %q", c.method, c.path, res.Header.Get("Cache-Control"), c.cache)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/notifications", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("an API path the build lacks answers %q, want a problem", ct)
	}
}

// cspDirectives splits a policy into its directives' sources, by name.
func cspDirectives(t *testing.T, policy string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		fields := strings.Fields(d)
		if len(fields) == 0 {
			continue
		}
		if _, dup := out[fields[0]]; dup {
			t.Fatalf("directive %s twice in %q", fields[0], policy)
		}
		out[fields[0]] = fields[1:]
	}
	return out
}

// TestWebApp_SendsTheGatewaysCSP holds `ticketflow dev`'s policy to the
// gateway's, read here from deploy/nginx/csp.conf as nginx reads it: the
// same directives with the same sources, token by token, but for the one
// allowed difference, the WebSocket source on ws:// rather than wss://
// (dev is plain HTTP). The browser test runs against `ticketflow dev`, so
// it runs the app under the production policy.
func TestWebApp_SendsTheGatewaysCSP(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "csp.conf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^add_header Content-Security-Policy "([^"]+)" always;$`).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatalf("no add_header Content-Security-Policy in csp.conf:\n%s", raw)
	}
	const host = "localhost:8080"
	// nginx fills $gateway_wss_source in from the Host header (gateway.conf's map).
	gateway := cspDirectives(t, strings.ReplaceAll(m[1], "$gateway_wss_source", "wss://"+host))

	h := newWebApp(fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}, testenv.Logger(t))
	for _, path := range []string{"/", "/tickets/42"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Values("Content-Security-Policy"); len(got) != 1 {
			t.Fatalf("GET %s: Content-Security-Policy %q, want one", path, got)
		}
		dev := cspDirectives(t, rec.Header().Get("Content-Security-Policy"))
		var diffs []string
		for _, name := range slices.Sorted(maps.Keys(gateway)) {
			if d, ok := dev[name]; !ok {
				diffs = append(diffs, "missing "+name)
			} else if !slices.Equal(d, gateway[name]) {
				diffs = append(diffs, fmt.Sprintf("%s %q, gateway %q", name, d, gateway[name]))
			}
		}
		for name := range dev {
			if _, ok := gateway[name]; !ok {
				diffs = append(diffs, "extra "+name)
			}
		}
		// The one allowed difference.
		want := fmt.Sprintf("connect-src %q, gateway %q", []string{"'self'", "ws://" + host}, []string{"'self'", "wss://" + host})
		if len(diffs) != 1 || diffs[0] != want {
			t.Errorf("GET %s: dev's CSP differs from deploy/nginx/csp.conf in %q; the only allowed difference is %s", path, diffs, want)
		}
		for _, src := range slices.Concat(slices.Collect(maps.Values(dev))...) {
			if strings.Contains(src, "unsafe") || src == "ws:" || src == "wss:" || src == "*" {
				t.Errorf("GET %s: dev's CSP allows %s", path, src)
			}
		}
	}

	// A Host header that is not a host and port leaves no WebSocket
	// source, as nginx's map does.
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = `evil.example"; script-src *`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "evil") || !strings.Contains(csp, "connect-src 'self' ;") {
		t.Errorf("odd Host: CSP %q", csp)
	}
}
