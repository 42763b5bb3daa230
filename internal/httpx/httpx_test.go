package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type input struct {
	Name  string `json:"name" validate:"required,max=5"`
	Count int    `json:"count"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, body, ctype string
		code              apperr.Code
		field             string
	}{
		{"valid", `{"name":"ana","count":2}`, "application/json", "", ""},
		{"valid with charset", `{"name":"ana"}`, "application/json; charset=utf-8", "", ""},
		{"malformed", `{"name":`, "application/json", apperr.Invalid, ""},
		{"syntax error", `{"name" "ana"}`, "application/json", apperr.Invalid, ""},
		{"empty", ``, "application/json", apperr.Invalid, ""},
		{"array", `[1]`, "application/json", apperr.Invalid, ""},
		{"trailing data", `{"name":"ana"}{}`, "application/json", apperr.Invalid, ""},
		{"unknown field", `{"name":"ana","admin":true}`, "application/json", apperr.Invalid, "admin"},
		{"wrong type", `{"name":"ana","count":"2"}`, "application/json", apperr.Invalid, "count"},
		{"missing required", `{"count":1}`, "application/json", apperr.Unprocessable, "name"},
		{"too long", `{"name":"abcdefg"}`, "application/json", apperr.Unprocessable, "name"},
		{"form content type", `name=ana`, "application/x-www-form-urlencoded", apperr.UnsupportedType, ""},
		{"over the limit", `{"name":"` + strings.Repeat("a", 200) + `"}`, "application/json", apperr.TooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.ctype)
			req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 100)
			var in input
			err := httpx.Decode(req, &in)
			if got := apperr.CodeOf(err); got != c.code {
				t.Fatalf("code = %q (%v), want %q", got, err, c.code)
			}
			if c.field != "" {
				var e *apperr.Error
				if !errors.As(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
					t.Fatalf("fields = %+v, want %s", e, c.field)
				}
			}
		})
	}
}

func TestError_HidesInternalErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.Error(rec, httptest.NewRequest("GET", "/x", nil), discard, errors.New("pq: password authentication failed for user secret"))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("internal error leaked: %s", rec.Body)
	}
}

func TestError_MapsCodes(t *testing.T) {
	for code, status := range map[apperr.Code]int{
		apperr.Invalid: 400, apperr.Unauthorized: 401, apperr.Forbidden: 403, apperr.NotFound: 404, apperr.NotAllowed: 405,
		apperr.Conflict: 409, apperr.TooLarge: 413, apperr.UnsupportedType: 415, apperr.Unprocessable: 422,
		apperr.TooManyRequests: 429, apperr.Unavailable: 503,
	} {
		rec := httptest.NewRecorder()
		err := &apperr.Error{Code: code, Message: "because", RetryAfter: 7}
		httpx.Error(rec, httptest.NewRequest("GET", "/x", nil), discard, wrap(err))
		var p httpx.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if rec.Code != status || p.Status != status || p.Code != code || p.Detail != "because" || rec.Header().Get("Retry-After") != "7" {
			t.Errorf("%s: %d %+v", code, rec.Code, p)
		}
	}
}

func wrap(err error) error { return errors.Join(errors.New("context"), err) }

func TestRouter_RecoversLimitsAndProbes(t *testing.T) {
	down := errors.New("down")
	var healthy atomic.Bool
	healthy.Store(true)
	r := httpx.NewRouter(discard, httpx.RouterOptions{
		MaxBodyBytes: 16,
		Checks: []httpx.Check{{Name: "db", Ping: func(context.Context) error {
			if healthy.Load() {
				return nil
			}
			return down
		}}},
	})
	r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]string
		if err := httpx.Decode(r, &v); err != nil {
			httpx.Error(w, r, discard, err)
			return
		}
		httpx.JSON(w, 200, v)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	status := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no X-Request-Id", method, path)
		}
		if ct := res.Header.Get("Content-Type"); ct == "application/problem+json" && !strings.Contains(string(b), `"request_id"`) {
			t.Errorf("%s %s: no request id in the problem", method, path)
		}
		return res.StatusCode, res.Header.Get("Content-Type")
	}
	if code, ct := status("GET", "/panic", ""); code != 500 || ct != "application/problem+json" {
		t.Fatalf("panic: %d %s", code, ct)
	}
	if code, _ := status("POST", "/echo", `{"a":"b"}`); code != 200 {
		t.Fatalf("small body: %d", code)
	}
	if code, _ := status("POST", "/echo", `{"a":"`+strings.Repeat("b", 64)+`"}`); code != 413 {
		t.Fatalf("large body: %d", code)
	}
	if code, ct := status("GET", "/nowhere", ""); code != 404 || ct != "application/problem+json" {
		t.Fatalf("unknown route: %d %s", code, ct)
	}
	if code, _ := status("DELETE", "/echo", ""); code != 405 {
		t.Fatalf("wrong method: %d", code)
	}
	if code, _ := status("GET", "/healthz", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code, _ := status("GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz healthy: %d", code)
	}
	healthy.Store(false)
	if code, _ := status("GET", "/readyz", ""); code != 503 {
		t.Fatalf("readyz with a dependency down: %d", code)
	}
}

func TestRouter_RouteWithItsOwnBodyLimit(t *testing.T) {
	r := httpx.NewRouter(discard, httpx.RouterOptions{MaxBodyBytes: 16})
	size := func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			httpx.Error(w, r, discard, apperr.New(apperr.TooLarge, "too large"))
			return
		}
		httpx.JSON(w, 200, map[string]int64{"read": n})
	}
	r.With(httpx.WithBodyLimit(64)).Post("/upload", size)
	r.Post("/other", size)
	srv := httptest.NewServer(r)
	defer srv.Close()

	post := func(path string, n int, chunked bool) int {
		var body io.Reader = strings.NewReader(strings.Repeat("x", n))
		if chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		res, err := http.Post(srv.URL+path, "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.StatusCode
	}
	for _, c := range []struct {
		path    string
		n       int
		chunked bool
		want    int
	}{
		{"/upload", 40, false, 200}, // over the default, within the route's
		{"/upload", 40, true, 200},
		{"/upload", 65, false, 413}, // declared too large: refused unread
		{"/upload", 65, true, 413},
		{"/other", 16, false, 200},
		{"/other", 17, false, 413},
		{"/other", 17, true, 413},
	} {
		if got := post(c.path, c.n, c.chunked); got != c.want {
			t.Errorf("%s with %d bytes (chunked %v): %d, want %d", c.path, c.n, c.chunked, got, c.want)
		}
	}
}

func TestRouter_UpgradeRequestsOutliveTheTimeout(t *testing.T) {
	r := httpx.NewRouter(discard, httpx.RouterOptions{Timeout: 20 * time.Millisecond})
	r.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
		if err := r.Context().Err(); err != nil {
			w.WriteHeader(http.StatusGatewayTimeout)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	get := func(upgrade bool) int {
		req, _ := http.NewRequest("GET", srv.URL+"/slow", nil)
		if upgrade {
			req.Header.Set("Connection", "keep-alive, Upgrade")
			req.Header.Set("Upgrade", "websocket")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get(false); code != http.StatusGatewayTimeout {
		t.Fatalf("plain request: %d, want the timeout's 504", code)
	}
	if code := get(true); code != http.StatusOK {
		t.Fatalf("upgrade request: %d, want it untouched by the timeout", code)
	}
}

func TestRouter_RefusesQueriesPostgreSQLCannotStore(t *testing.T) {
	r := httpx.NewRouter(discard, httpx.RouterOptions{})
	r.Get("/list", func(w http.ResponseWriter, _ *http.Request) { httpx.JSON(w, 200, "ok") })
	srv := httptest.NewServer(r)
	defer srv.Close()
	for query, want := range map[string]int{
		"q=caf%C3%A9": 200, "q=%FF%FE": 400, "q=a%00b": 400, "%FF=x": 400, "q=%27%3B+DROP": 200,
	} {
		res, err := http.Get(srv.URL + "/list?" + query)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("?%s: %d, want %d", query, res.StatusCode, want)
		}
	}
}
