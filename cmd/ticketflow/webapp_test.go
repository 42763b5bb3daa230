package main

import (
	"io"
	"net/http/httptest"
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
