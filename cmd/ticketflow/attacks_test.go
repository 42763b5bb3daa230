package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/auth"
)

// TestHostileInput attacks a running `ticketflow dev` the way a hostile
// browser page or client would: cross-site requests riding a cookie,
// script in every text a user can store, SQL in every query parameter,
// bodies over the limit and headers dribbled byte by byte. Token forgery,
// refresh-token reuse and login brute force are covered in api/auth, path
// traversal in api/messaging.
func TestHostileInput(t *testing.T) {
	f := newFixture(t)
	t.Run("CSRF", func(t *testing.T) { testCSRF(t, f) })
	t.Run("XSS", func(t *testing.T) { testXSS(t, f) })
	t.Run("SQLMetacharacters", func(t *testing.T) { testSQLMetacharacters(t, f) })
	t.Run("Oversized", func(t *testing.T) { testOversized(t, f) })
	t.Run("PasswordResetBodies", func(t *testing.T) { testPasswordResetBodies(t, f) })
	t.Run("SlowHeaders", func(t *testing.T) { testSlowHeaders(t, f) })
}

// testCSRF: no API route authenticates with a cookie. The one cookie
// Ticketflow sets, the Temporal UI session, is HttpOnly, Secure,
// SameSite=Strict and scoped to /temporal, and is read only by
// /auth/verify-admin (nginx's auth_request for /temporal/, a GET that
// changes nothing). So a cross-site request that carries it — even if a
// browser sent it outside its path — is refused by every route that needs
// a caller, and the cookie's token is no bearer token either.
func testCSRF(t *testing.T, f *fixture) {
	req := f.request(t, "POST /auth/temporal-session", adminCaller)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == auth.TemporalSessionCookie {
			cookie = c
		}
	}
	if res.StatusCode != http.StatusNoContent || cookie == nil {
		t.Fatalf("temporal-session: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	if cookie.Path != "/temporal" || cookie.SameSite != http.SameSiteStrictMode || !cookie.HttpOnly || !cookie.Secure {
		t.Fatalf("session cookie = %+v, want Path=/temporal, SameSite=Strict, HttpOnly, Secure", cookie)
	}
	for _, route := range mountedRoutes(t, f.d.base) {
		want, known := authzRules[route]
		if !known || want[anonymous] == any_ || route == "GET /auth/verify-admin" {
			continue // public routes act on their body alone
		}
		req := f.request(t, route, anonymous)
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		req.Header.Set("Origin", "https://attacker.example")
		req.Header.Set("Referer", "https://attacker.example/page")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		refused := http.StatusUnauthorized
		switch {
		case route == "GET /messaging/ws":
			refused = http.StatusForbidden // the foreign Origin is refused first
		case want[anonymous] == s404:
			refused = http.StatusNotFound // a route switched off in this configuration
		}
		if res.StatusCode != refused {
			t.Errorf("%s with the admin's session cookie and no bearer: %d, want %d", route, res.StatusCode, refused)
		}
	}
	// The cookie's token is for the Temporal UI's audience: not a bearer.
	c := &user{t: t, base: f.d.base, token: cookie.Value}
	c.call("GET", "/auth/me", nil, http.StatusUnauthorized, nil)
	c.call("GET", "/auth/users", nil, http.StatusUnauthorized, nil)
}

// checkJSON asserts a response is JSON the browser will not sniff into
// HTML, with no raw markup in it (Go escapes <, > and & in strings).
func checkJSON(t *testing.T, what string, res *http.Response, raw []byte) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no X-Content-Type-Options: nosniff", what)
	}
	if bytes.ContainsAny(raw, "<>") {
		t.Errorf("%s: raw markup in the JSON: %s", what, raw)
	}
}

func get(t *testing.T, c *user, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
	}
	return res, raw
}

// testXSS: script in a title, a comment and a file name is stored as the
// text it is and served only as JSON (or, for the file, as a sandboxed
// download), never as markup.
func testXSS(t *testing.T, f *fixture) {
	const (
		title    = `<script>alert("title")</script>`
		body     = `<img src=x onerror=alert('comment')>&lt;b&gt;`
		fileName = `<svg onload=alert(1)>.txt`
	)
	var tk struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	f.owner.call("POST", "/helpdesk/tickets", map[string]string{"title": title, "description": body, "category_id": f.d.category, "priority": "low"}, 201, &tk)
	for _, path := range []string{"/helpdesk/tickets/" + tk.ID, "/helpdesk/tickets"} {
		res, raw := get(t, f.d.agent, path)
		checkJSON(t, path, res, raw)
		if !strings.Contains(string(raw), `\u003cscript\u003ealert(\"title\")\u003c/script\u003e`) {
			t.Errorf("GET %s does not hold the title as escaped text: %s", path, raw)
		}
	}
	f.owner.call("GET", "/helpdesk/tickets/"+tk.ID, nil, 200, &tk)
	if tk.Title != title {
		t.Errorf("title stored as %q, want %q", tk.Title, title)
	}

	f.owner.call("POST", "/messaging/tickets/"+f.ticket+"/comments", map[string]any{"body": body}, 201, nil)
	res, raw := get(t, f.d.agent, "/messaging/tickets/"+f.ticket+"/comments")
	checkJSON(t, "comments", res, raw)
	var comments struct {
		Items []struct {
			Body string `json:"body"`
		} `json:"items"`
	}
	_ = json.Unmarshal(raw, &comments)
	found := false
	for _, c := range comments.Items {
		found = found || c.Body == body
	}
	if !found {
		t.Errorf("comment %q not stored as text: %s", body, raw)
	}

	id := upload(t, f.owner, f.ticket, fileName, []byte("just text\n"), 201)
	res, raw = get(t, f.d.agent, "/messaging/tickets/"+f.ticket+"/attachments")
	checkJSON(t, "attachments", res, raw)
	if !strings.Contains(string(raw), `\u003csvg onload=alert(1)\u003e.txt`) {
		t.Errorf("file name not stored as text: %s", raw)
	}
	res, _ = get(t, f.d.agent, "/messaging/attachments/"+id)
	hdr := res.Header
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") ||
		hdr.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(hdr.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download headers: %v", hdr)
	}
	// Markup is refused as a file, or kept as plain text (SVG sniffs as
	// text), whatever its name says; never stored as HTML or an image.
	for name, content := range map[string]string{
		"page.txt":  "<!DOCTYPE html><html><script>alert(1)</script></html>",
		"image.png": `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`,
	} {
		status, raw := uploadRaw(t, f.owner, f.ticket, name, []byte(content))
		var a struct {
			ContentType string `json:"content_type"`
		}
		_ = json.Unmarshal(raw, &a)
		switch {
		case status >= 400 && status < 500:
		case status == 201 && strings.HasPrefix(a.ContentType, "text/plain"):
		default:
			t.Errorf("upload of markup as %q: %d %s, want a 4xx or text/plain", name, status, raw)
		}
	}
}

// testSQLMetacharacters sends SQL and other metacharacters in every query
// parameter any list route reads, to every route that takes query
// parameters: the answer is 200 or a 4xx, never a 500.
func testSQLMetacharacters(t *testing.T, f *fixture) {
	params := []string{"active", "all", "assignee_id", "category_id", "created_after", "created_before", "cursor",
		"limit", "priority", "q", "requester_id", "role", "sort", "status", "unread", "user_id"}
	payloads := []string{
		`'`, `''`, `"`, `\`, `' OR '1'='1`, `1; DROP TABLE helpdesk.tickets; --`, `') OR 1=1 --`,
		`%`, `_`, `%_%`, `$1`, `::uuid`, "\x00", "a\x00b", "\xff\xfe", "\u2028", "-1", "99999999999999999999",
		"1e309", "2026-13-45T99:99:99Z", strings.Repeat("a", 4000), "00000000-0000-0000-0000-000000000000'",
	}
	routes := []struct {
		c    *user
		path string
	}{
		{f.owner, "/helpdesk/tickets"},
		{f.d.admin, "/helpdesk/tickets"},
		{f.d.admin, "/helpdesk/categories"},
		{f.d.admin, "/helpdesk/tickets/" + f.ticket + "/history"},
		{f.d.admin, "/auth/users"},
		{f.d.admin, "/workflow/board"},
		{f.d.admin, "/workflow/teams"},
		{f.d.admin, "/workflow/agents"},
		{f.d.admin, "/workflow/sla-policies"},
		{f.owner, "/messaging/tickets/" + f.ticket + "/comments"},
		{f.owner, "/messaging/tickets/" + f.ticket + "/attachments"},
		{f.owner, "/notifications/"},
		{f.callers[serviceCaller], "/helpdesk/internal/tickets/" + f.ticket + "/access"},
	}
	// knownServerErrors are 500s found by this test and not yet fixed
	// (see RELIABILITY.md, Hostile input). It is empty: the NUL and invalid
	// UTF-8 query strings it found are refused by httpx.CleanQuery. A 500
	// outside this list fails; so does an entry that no longer fails.
	knownServerErrors := map[string]bool{}
	seenKnown := map[string]bool{}
	sent := 0
	for _, r := range routes {
		for _, p := range params {
			for _, v := range payloads {
				req, _ := http.NewRequest("GET", r.c.base+r.path+"?"+url.Values{p: {v}}.Encode(), nil)
				req.Header.Set("Authorization", "Bearer "+r.c.token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(io.LimitReader(res.Body, 200))
				res.Body.Close()
				sent++
				key := fmt.Sprintf("%s %s=%s", r.path, p, strings.Trim(fmt.Sprintf("%q", v), `"`))
				if res.StatusCode == 500 && knownServerErrors[key] {
					seenKnown[key] = true
					t.Logf("known bug: GET %s?%s=%q: 500", r.path, p, v)
					continue
				}
				if res.StatusCode >= 500 || (res.StatusCode != 200 && res.StatusCode/100 != 4) {
					t.Errorf("GET %s?%s=%q: %d %s", r.path, p, v, res.StatusCode, raw)
				}
			}
		}
	}
	for key := range knownServerErrors {
		if !seenKnown[key] {
			t.Errorf("known bug %q no longer answers 500: remove it from knownServerErrors", key)
		}
	}
	// Nothing was dropped or rewritten: the owner's ticket is still there.
	var tk struct {
		ID string `json:"id"`
	}
	f.owner.call("GET", "/helpdesk/tickets/"+f.ticket, nil, 200, &tk)
	t.Logf("%d requests with metacharacters", sent)
}

// testOversized: a body over MAX_BODY_BYTES (1 MiB by default) is refused
// with 413, whether its length is declared or it arrives chunked.
func testOversized(t *testing.T, f *fixture) {
	const limit = 1 << 20
	big := `{"email":"big@example.com","password":"a long enough password","name":"` + strings.Repeat("n", limit) + `"}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		for _, path := range []string{"/auth/register", "/workflow/definitions/" + f.d.category} {
			req, _ := http.NewRequest("PUT", f.d.base+path, body)
			if path == "/auth/register" {
				req.Method = "POST"
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.d.admin.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s with %d bytes (chunked %v): %d, want 413", req.Method, path, len(big), chunked, res.StatusCode)
			}
			body = strings.NewReader(big)
			if chunked {
				body = io.MultiReader(body)
			}
		}
	}
}

// testSlowHeaders: a request whose headers never end is cut by the
// server's ReadHeaderTimeout (internal/httpx, 10 s; the body deadlines
// are tested there with short timeouts).
func testSlowHeaders(t *testing.T, f *fixture) {
	if testing.Short() {
		t.Skip("takes the server's 10 s header timeout")
	}
	u, _ := url.Parse(f.d.base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n", u.Host)
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			t.Logf("connection closed after %s of dribbled headers", time.Since(start).Round(100*time.Millisecond))
			return
		case <-tick.C:
			if time.Since(start) > 20*time.Second {
				t.Fatal("a request with dribbled headers still holds its connection after 20s")
			}
			fmt.Fprintf(conn, "X-Slow-%d: x\r\n", time.Now().Unix())
		}
	}
}
