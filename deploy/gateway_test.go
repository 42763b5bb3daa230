package deploy

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/workers"
	"github.com/ticketflow/ticketflow/workflows"
)

// client is a user of Ticketflow behind the gateway.
type client struct {
	t     *testing.T
	g     *gateway
	token string
	id    string
}

// try sends a JSON request through the gateway and returns the status and
// body; out, when not nil, receives a 2xx body.
func (c *client) try(method, path string, body, out any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.g.url(path), rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.g.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, raw
}

func (c *client) call(method, path string, body any, want int, out any) {
	c.t.Helper()
	if got, raw := c.try(method, path, body, out); got != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, want, raw)
	}
}

func signIn(t *testing.T, g *gateway, email, password string) *client {
	t.Helper()
	c := &client{t: t, g: g}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	c.call("POST", "/auth/login", map[string]string{"email": email, "password": password}, 200, &pair)
	c.token = pair.AccessToken
	var me struct {
		ID string `json:"id"`
	}
	c.call("GET", "/auth/me", nil, 200, &me)
	c.id = me.ID
	return c
}

// eventually retries check every 100 ms until it holds or wait passes.
func eventually(t *testing.T, wait time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replicas is every ticketflow process of the test, by service.
type replicas struct {
	byService map[string][]*proc
}

// temporalUIStandIn plays the Temporal UI behind the gateway: the dev
// server the tests share may run its UI without --ui-public-path, on /
// (`make temporal` does), where the gateway's /temporal/ (passed through
// unchanged) has nothing to reach. It records what reached it, which the
// real UI cannot; TestGateway_RealTemporalUIUnderTemporalForAdminsOnly
// (temporal_ui_test.go) puts the real one, on a dev server of its own,
// behind the same gate.
type temporalUIStandIn struct {
	mu       sync.Mutex
	requests []*http.Request
}

func (s *temporalUIStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, "/temporal/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-standin'")
	fmt.Fprintf(w, "Temporal UI stand-in: %s %s", r.Method, r.URL.Path)
}

func (s *temporalUIStandIn) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

func (s *temporalUIStandIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// webApp writes a built web app: index.html and a hashed asset large
// enough to be compressed.
func webApp(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(dir, "web")
	if err := os.MkdirAll(filepath.Join(root, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	index := `<!doctype html><html><head><script type="module" src="/assets/index-3f2a9c1b.js"></script></head><body><div id="root"></div><!-- ticketflow web app --></body></html>`
	js := strings.Repeat("export const greeting = 'hello from the ticketflow web app';\n", 100)
	for name, content := range map[string]string{"index.html": index, "assets/index-3f2a9c1b.js": js} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestGateway_TicketLifeThroughTLSWithAReplicaOfEachKilled runs the whole
// system the way `make replicas` does: two replicas of every HTTP service
// and two workers behind nginx with deploy/nginx/, then drives it through
// https:// only. Halfway it kills one replica of each, and the second
// half must not notice.
func TestGateway_TicketLifeThroughTLSWithAReplicaOfEachKilled(t *testing.T) {
	nginx := nginxBinary(t)
	root := repoRoot(t)
	dir := sharedTempDir(t)
	began := time.Now()
	bin := buildTicketflow(t, root, dir)
	t.Logf("built ticketflow in %s", time.Since(began).Round(time.Millisecond))

	ports := map[string][]int{}
	upstreams := map[string][]string{}
	for _, name := range append(slices.Clone(httpServices), "worker") {
		ports[name] = []int{freePort(t), freePort(t)}
		for _, p := range ports[name] {
			upstreams[name] = append(upstreams[name], fmt.Sprintf("127.0.0.1:%d", p))
		}
	}
	delete(upstreams, "worker")
	ui := &temporalUIStandIn{}
	uiSrv := httptest.NewServer(ui)
	t.Cleanup(uiSrv.Close)
	g := startGateway(t, root, dir, nginx, gatewayConfig{
		upstreams:  upstreams,
		temporalUI: uiSrv.Listener.Addr().String(),
		webRoot:    webApp(t, dir),
	})

	env := stackEnv(t, dir, g)
	runCLI(t, dir, env, bin, "migrate")
	creds := runCLI(t, dir, env, bin, "admin", "service-account", "gateway-e2e")
	for _, line := range strings.Split(strings.TrimSpace(creds), "\n") {
		env = append(env, line) // SERVICE_CLIENT_ID=..., SERVICE_CLIENT_SECRET=...
	}

	rs := replicas{byService: map[string][]*proc{}}
	for _, name := range append(slices.Clone(httpServices), "worker") {
		args := []string{"serve", name}
		if name == "worker" {
			args = []string{"worker"}
		}
		for _, p := range ports[name] {
			penv := append(slices.Clone(env), fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", p))
			rs.byService[name] = append(rs.byService[name], start(t, dir, fmt.Sprintf("%s:%d", name, p), penv, bin, args...))
		}
	}
	// Every service of the architecture is part of the build: a replica
	// that exits at start fails the test.
	for _, name := range append(slices.Clone(httpServices), "worker") {
		for i, p := range rs.byService[name] {
			if !p.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[name][i]), 45*time.Second) {
				t.Fatalf("%s exited at start:\n%s", p.name, p.tail())
			}
		}
	}
	t.Logf("replicas ready %s after the start", time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			for _, ps := range rs.byService {
				for _, p := range ps {
					t.Logf("--- %s:\n%s", p.name, p.tail())
				}
			}
		}
	})

	// An event published before its consumer's queue exists reaches no
	// one: the users come once every consumer has declared its queue.
	waitForQueues(t, envValue(env, "AMQP_URL"), helpdesk.UsersQueue, "workflow.users", workers.StarterQueue,
		workers.CommentQueue, messaging.UsersQueue, notification.EventsQueue)
	runCLI(t, dir, env, bin, "admin", "create-user", "--email", "admin@example.com", "--password", "admin password 123", "--name", "Admin", "--role", "admin")
	runCLI(t, dir, env, bin, "admin", "create-user", "--email", "agent@example.com", "--password", "agent password 123", "--name", "Agent", "--role", "agent")

	t.Run("security headers, caching and compression", func(t *testing.T) { checkHeaders(t, g) })
	t.Run("HTTP redirects to HTTPS", func(t *testing.T) { checkRedirect(t, g) })

	// The desk: an admin and an agent (made above with the CLI, as an
	// operator would), a team, a category the team handles; an employee
	// who signs up.
	admin := signIn(t, g, "admin@example.com", "admin password 123")
	agent := signIn(t, g, "agent@example.com", "agent password 123")
	anon := &client{t: t, g: g}
	anon.call("POST", "/auth/register", map[string]string{"email": "ana@example.com", "password": "ana's long password", "name": "Ana"}, 201, nil)
	emp := signIn(t, g, "ana@example.com", "ana's long password")
	category := setUpDesk(t, admin, agent)

	t.Run("admin-only Temporal UI", func(t *testing.T) { checkTemporalUI(t, g, ui, admin, emp) })

	first := openAndWaitForAgent(t, emp, agent, category, "Printer on fire")
	t.Run("request size limits", func(t *testing.T) { checkBodyLimits(t, g, emp, first) })
	t.Run("comment live over WSS", func(t *testing.T) { checkLiveComment(t, g, emp, agent, first) })

	// Halfway: one replica of every service and one worker die at once,
	// without a chance to say goodbye.
	for _, ps := range rs.byService {
		ps[0].stop(syscall.SIGKILL)
	}
	t.Logf("killed one replica of each: %s after the start", time.Since(began).Round(time.Millisecond))

	// Everything goes on through the survivors: signing in (auth), reading
	// (helpdesk, workflow), a new ticket reaching its agent (helpdesk, the
	// worker left, workflow), a live comment (messaging), the Temporal UI
	// (auth_request).
	emp = signIn(t, g, "ana@example.com", "ana's long password")
	for _, path := range []string{"/auth/me", "/helpdesk/tickets", "/helpdesk/tickets/" + first, "/workflow/tickets/" + first} {
		emp.call("GET", path, nil, 200, nil)
	}
	admin.call("GET", "/workflow/teams", nil, 200, nil)
	second := openAndWaitForAgent(t, emp, agent, category, "Screen flickers")
	t.Run("comment live over WSS after the kill", func(t *testing.T) { checkLiveComment(t, g, emp, agent, second) })
	t.Run("admin-only Temporal UI after the kill", func(t *testing.T) { checkTemporalUI(t, g, ui, admin, emp) })
	t.Logf("done %s after the start", time.Since(began).Round(time.Millisecond))
}

// setUpDesk makes a team of agent and a category it handles, and returns
// the category.
func setUpDesk(t *testing.T, admin, agent *client) string {
	t.Helper()
	var cat, tm struct {
		ID string `json:"id"`
	}
	admin.call("POST", "/helpdesk/categories", map[string]string{"name": "Hardware", "description": "Laptops, printers"}, 201, &cat)
	admin.call("POST", "/workflow/teams", map[string]string{"name": "Desk"}, 201, &tm)
	// The workflow engine learns of the agent from auth's user.created.
	eventually(t, 15*time.Second, "the agent in the workflow directory", func() bool {
		status, raw := admin.try("GET", "/workflow/agents", nil, nil)
		return status == 200 && strings.Contains(string(raw), agent.id)
	})
	admin.call("PUT", "/workflow/teams/"+tm.ID+"/members/"+agent.id, map[string]bool{"available": true}, 201, nil)
	def := workflows.DefaultDefinition()
	def.TeamID = tm.ID
	admin.call("PUT", "/workflow/definitions/"+cat.ID, def, 200, nil)
	return cat.ID
}

// openAndWaitForAgent opens a ticket as emp and waits until the helpdesk
// shows it assigned to agent.
func openAndWaitForAgent(t *testing.T, emp, agent *client, category, title string) string {
	t.Helper()
	var tk struct {
		ID string `json:"id"`
	}
	emp.call("POST", "/helpdesk/tickets", map[string]string{
		"title": title, "description": "It does not work.", "category_id": category, "priority": "normal",
	}, 201, &tk)
	start := time.Now()
	defer func() { t.Logf("%q reached its agent in %s", title, time.Since(start).Round(time.Millisecond)) }()
	eventually(t, 30*time.Second, "the ticket assigned to the agent", func() bool {
		var got struct {
			AssigneeID *string `json:"assignee_id"`
			Step       string  `json:"step"`
		}
		status, _ := emp.try("GET", "/helpdesk/tickets/"+tk.ID, nil, &got)
		return status == 200 && got.AssigneeID != nil && *got.AssigneeID == agent.id && got.Step == workflows.StepTriage
	})
	return tk.ID
}

func checkHeaders(t *testing.T, g *gateway) {
	get := func(path string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", g.url(path), nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	security := func(res *http.Response, csp bool) {
		t.Helper()
		want := map[string]string{
			"Strict-Transport-Security": "max-age=",
			"X-Content-Type-Options":    "nosniff",
			"X-Frame-Options":           "DENY",
			"Referrer-Policy":           "same-origin",
			"Permissions-Policy":        "camera=()",
		}
		if csp {
			want["Content-Security-Policy"] = "frame-ancestors 'none'"
		}
		for h, part := range want {
			if vs := res.Header.Values(h); len(vs) != 1 || !strings.Contains(vs[0], part) {
				t.Errorf("%s %s: %s = %q, want one containing %q", res.Request.Method, res.Request.URL.Path, h, vs, part)
			}
		}
	}

	// The app's page: its security headers, a CSP letting it reach its own
	// API and WebSocket, and never cached without asking.
	res := get("/")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), "ticketflow web app") || res.ProtoMajor != 2 {
		t.Fatalf("GET /: %d over HTTP/%d: %s", res.StatusCode, res.ProtoMajor, body)
	}
	security(res, true)
	csp := res.Header.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self' wss://" + g.https, "object-src 'none'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP %q lacks %q", csp, part)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
	// What nginx sends is what ContentSecurityPolicy hands `ticketflow
	// dev` (with wss://), so the browser test runs under this policy.
	if want := ContentSecurityPolicy("wss", g.https); csp != want {
		t.Errorf("the gateway's CSP\n%q\nContentSecurityPolicy gives\n%q", csp, want)
	}

	// A client-side route is the app's page too, revalidated each time.
	res = get("/tickets/42")
	body, _ = io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), "ticketflow web app") || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /tickets/42: %d, Cache-Control %q: %s", res.StatusCode, res.Header.Get("Cache-Control"), body)
	}
	security(res, true)

	// Hashed assets: cached for good, compressed.
	res = get("/assets/index-3f2a9c1b.js", "Accept-Encoding", "gzip")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("asset: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("asset: Content-Encoding %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if js, _ := io.ReadAll(zr); !strings.Contains(string(js), "hello from the ticketflow web app") {
		t.Fatalf("asset decompresses to %.80q", js)
	}
	security(res, true)
	// A missing asset is missing, not the app's page.
	if res = get("/assets/index-00000000.js"); res.StatusCode != 404 {
		t.Fatalf("missing asset: %d, want 404", res.StatusCode)
	}

	// The API's answers carry the same headers, once each (the services'
	// own copies are hidden).
	res = get("/auth/.well-known/jwks.json")
	if res.StatusCode != 200 {
		t.Fatalf("jwks through the gateway: %d", res.StatusCode)
	}
	security(res, true)
	if res = get("/helpdesk/tickets"); res.StatusCode != 401 {
		t.Fatalf("tickets without a token: %d, want 401", res.StatusCode)
	}
	security(res, true)
}

func checkRedirect(t *testing.T, g *gateway) {
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := plain.Get("http://" + g.http + "/helpdesk/tickets?status=open")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := "https://127.0.0.1:" + g.https[strings.LastIndex(g.https, ":")+1:] + "/helpdesk/tickets?status=open"; res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d to %q, want 301 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
}

// checkBodyLimits sends bodies around the gateway's limits: the services'
// 1 MiB, and an attachment's MAX_ATTACHMENT_BYTES (25 MiB, its default in
// this test) plus messaging's 64 KiB of multipart overhead, the figure of
// api.conf (TestNginx_AttachmentLimitIsTheServices).
func checkBodyLimits(t *testing.T, g *gateway, emp *client, ticketID string) {
	const maxFile = 25 << 20
	const maxBody = maxFile + 64<<10
	post := func(path, contentType string, body io.Reader, size int64) (int, string, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", g.url(path), body)
		req.ContentLength = size
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+emp.token)
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), raw
	}
	// Above the services' 1 MiB: nginx refuses before any replica sees it.
	if got, _, _ := post("/helpdesk/tickets", "application/json", bytes.NewReader(bytes.Repeat([]byte("x"), 2<<20)), 2<<20); got != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB ticket: %d, want 413", got)
	}

	// A file of exactly 25 MiB, multipart as browsers send it: it passes
	// nginx, and messaging stores it whole.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if _, err := mw.CreateFormFile("file", "at-the-limit.bin"); err != nil {
		t.Fatal(err)
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	file := bytes.Repeat([]byte("0123456789abcdef"), maxFile/16)
	size := int64(head.Len() + len(file) + len(tail))
	if size > maxBody {
		t.Fatalf("the multipart framing alone is %d bytes", size-maxFile)
	}
	path := "/messaging/tickets/" + ticketID + "/attachments"
	status, ctype, raw := post(path, mw.FormDataContentType(), io.MultiReader(&head, bytes.NewReader(file), strings.NewReader(tail)), size)
	var a struct {
		ID   string `json:"id"`
		Size int64  `json:"size"`
	}
	if status != http.StatusCreated || json.Unmarshal(raw, &a) != nil || a.Size != maxFile {
		t.Fatalf("a %d-byte file in %d bytes of multipart: %d %s %.300s, want 201 from messaging with size %d", maxFile, size, status, ctype, raw, maxFile)
	}

	// One byte more than file and overhead: refused with 413, by nginx
	// (which knows the Content-Length) before a replica reads it.
	status, ctype, raw = post(path, "multipart/form-data; boundary=x", io.LimitReader(zeros{}, maxBody+1), maxBody+1)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d bytes of body: %d %s %.300s, want 413", maxBody+1, status, ctype, raw)
	}
	// And exactly at the limit it is messaging, not nginx, that answers
	// (this body is no valid multipart: 4xx, not 413).
	status, ctype, raw = post(path, "multipart/form-data; boundary=x", io.LimitReader(zeros{}, maxBody), maxBody)
	if status == http.StatusRequestEntityTooLarge || ctype != "application/problem+json" {
		t.Fatalf("%d bytes of body: %d %s %.300s, want messaging's problem, not nginx's 413", maxBody, status, ctype, raw)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func checkTemporalUI(t *testing.T, g *gateway, ui *temporalUIStandIn, admin, emp *client) {
	get := func(method, path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, g.url(path), nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	before := ui.count()

	// Nobody signed in, a forged cookie, an employee: stopped at the gate.
	if res, _ := get("GET", "/temporal/namespaces/default/workflows"); res.StatusCode != 401 {
		t.Fatalf("anonymous: %d, want 401", res.StatusCode)
	}
	if res, _ := get("GET", "/temporal/", "Cookie", "__Secure-ticketflow-temporal=forged.session.cookie"); res.StatusCode != 401 {
		t.Fatalf("forged cookie: %d, want 401", res.StatusCode)
	}
	if res, _ := get("GET", "/temporal/", "Cookie", "__Secure-ticketflow-temporal="+admin.token); res.StatusCode != 401 {
		t.Fatalf("an access token as the cookie: %d, want 401", res.StatusCode)
	}
	emp.call("POST", "/auth/temporal-session", nil, 403, nil)
	if res, _ := get("GET", "/temporal/", "Authorization", "Bearer "+emp.token); res.StatusCode != 403 {
		t.Fatalf("employee: %d, want 403", res.StatusCode)
	}
	if n := ui.count(); n != before {
		t.Fatalf("the UI saw %d requests that the gate should have stopped", n-before)
	}

	// The admin trades the access token for the UI's cookie, as the web
	// app's link does, then browses and acts in the UI.
	req, _ := http.NewRequest("POST", g.url("/auth/temporal-session"), nil)
	req.Header.Set("Authorization", "Bearer "+admin.token)
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "__Secure-ticketflow-temporal" {
			session = c
		}
	}
	if res.StatusCode != 204 || session == nil || session.Path != "/temporal" || !session.Secure || !session.HttpOnly {
		t.Fatalf("temporal-session: %d, cookie %+v", res.StatusCode, session)
	}
	cookie := session.Name + "=" + session.Value
	res, body := get("GET", "/temporal/namespaces/default/workflows", "Cookie", cookie, "X-Forwarded-For", "203.0.113.9")
	if res.StatusCode != 200 || body != "Temporal UI stand-in: GET /temporal/namespaces/default/workflows" {
		t.Fatalf("admin's cookie: %d %q", res.StatusCode, body)
	}
	// The gateway's policy for the UI replaces the UI's own, and its
	// security headers are added.
	if csp := res.Header.Values("Content-Security-Policy"); len(csp) != 1 || !strings.Contains(csp[0], "frame-ancestors 'none'") ||
		strings.Contains(csp[0], "nonce-standin") || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("UI headers: %v", res.Header)
	}
	// The UI's API calls are POSTs too; auth is asked with a GET all the same.
	if res, body := get("POST", "/temporal/api/v1/namespaces/default/workflows/x/terminate", "Cookie", cookie); res.StatusCode != 200 {
		t.Fatalf("admin's POST in the UI: %d %q", res.StatusCode, body)
	}
	// An admin's bearer token passes too (for API clients).
	if res, _ := get("GET", "/temporal/", "Authorization", "Bearer "+admin.token); res.StatusCode != 200 {
		t.Fatalf("admin's bearer: %d", res.StatusCode)
	}
	if res, _ := get("GET", "/temporal"); res.StatusCode != 301 || res.Header.Get("Location") != "/temporal/" {
		t.Fatalf("/temporal: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	// What the services are told: the client's address, by the gateway,
	// whatever the client claimed.
	last := ui.last()
	if last == nil || last.Header.Get("X-Real-IP") != "127.0.0.1" || last.Header.Get("X-Forwarded-For") != "127.0.0.1" ||
		last.Header.Get("X-Forwarded-Proto") != "https" || len(last.Header.Get("X-Request-Id")) != 32 {
		t.Fatalf("headers the upstream saw: %v", last.Header)
	}
}

// checkLiveComment subscribes the requester to the ticket over wss:// and
// waits for the agent's reply to arrive on it.
func checkLiveComment(t *testing.T, g *gateway, emp, agent *client, ticketID string) {
	var wst struct {
		Ticket string `json:"ticket"`
	}
	emp.call("POST", "/messaging/ws-tickets", nil, 200, &wst)
	// HTTP/1.1: browsers open WebSockets that way too, nginx knowing no
	// WebSockets over HTTP/2.
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: g.roots}, HandshakeTimeout: 10 * time.Second}
	header := http.Header{"Origin": []string{"https://" + g.https}}
	ws, res, err := dialer.Dial("wss://"+g.https+"/messaging/ws?ticket="+wst.Ticket, header)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("wss dial: %v (HTTP %d)", err, status)
	}
	defer ws.Close()

	type frame struct {
		Type     string          `json:"type"`
		TicketID string          `json:"ticket_id"`
		Data     json.RawMessage `json:"data"`
	}
	frames := make(chan frame, 16)
	go func() {
		defer close(frames)
		for {
			var f frame
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			frames <- f
		}
	}()
	await := func(what string, match func(frame) bool) {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("the WebSocket closed before %s", what)
				}
				if match(f) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s within 15s", what)
			}
		}
	}
	if err := ws.WriteJSON(frame{Type: "subscribe", TicketID: ticketID}); err != nil {
		t.Fatal(err)
	}
	// The first presence frame confirms the subscription.
	await("presence frame", func(f frame) bool { return f.Type == "presence" && f.TicketID == ticketID })

	body := "On my way, " + ticketID[:8]
	agent.call("POST", "/messaging/tickets/"+ticketID+"/comments", map[string]any{"body": body, "internal": false}, 201, nil)
	await("comment.created frame", func(f frame) bool {
		return f.Type == "comment.created" && f.TicketID == ticketID && strings.Contains(string(f.Data), body)
	})
}
