package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// temporalUIServer is a Temporal dev server of the test's own, in memory,
// with its UI under /temporal as the gateway expects it (the shared dev
// server may run its UI on /: `make temporal` does).
type temporalUIServer struct {
	proc    *proc
	ui      string // host:port of the UI
	started time.Time
}

// temporalCLI builds bin/temporal from temporal/go.mod if needed, the way
// scripts/temporal.sh does (and caches it), and returns its path.
func temporalCLI(t *testing.T, root string) string {
	t.Helper()
	cmd := exec.Command("bash", "scripts/temporal.sh", "build")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/temporal.sh build: %v\n%s", err, out)
	}
	return filepath.Join(root, "bin", "temporal")
}

// startTemporalUI starts the dev server on free ports with
// --ui-public-path /temporal; it is stopped at cleanup. wait blocks until
// it answers.
func startTemporalUI(t *testing.T, root, dir string) *temporalUIServer {
	t.Helper()
	bin := temporalCLI(t, root)
	port, uiPort := freePort(t), freePort(t)
	s := &temporalUIServer{ui: fmt.Sprintf("127.0.0.1:%d", uiPort), started: time.Now()}
	s.proc = start(t, dir, fmt.Sprintf("temporal-%d", port), os.Environ(), bin,
		"server", "start-dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort),
		"--ui-public-path", "/temporal",
		"--namespace", "default", "--log-level", "warn")
	return s
}

// wait polls the UI's own API for the default namespace, which answers
// once the UI and the frontend behind it are both up.
func (s *temporalUIServer) wait(t *testing.T) {
	t.Helper()
	url := "http://" + s.ui + "/temporal/api/v1/namespaces/default"
	probe := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if res, err := probe.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if s.proc.exited() || time.Now().After(deadline) {
			t.Fatalf("the Temporal dev server's UI did not answer at %s:\n%s", url, s.proc.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("Temporal dev server with its UI under /temporal up in %s", time.Since(s.started).Round(time.Millisecond))
}

// TestGateway_RealTemporalUIUnderTemporalForAdminsOnly puts the real
// Temporal UI (a dev server of its own, --ui-public-path /temporal) behind
// the gateway, with one auth replica answering nginx's auth_request: an
// admin who traded the access token for the session cookie gets the UI's
// pages, its assets under /temporal/ and its API; nobody signed in gets
// 401, an employee 403. TestGateway covers the same gate against a
// stand-in; this is the UI the gateway is configured for.
func TestGateway_RealTemporalUIUnderTemporalForAdminsOnly(t *testing.T) {
	nginx := nginxBinary(t)
	root := repoRoot(t)
	dir := sharedTempDir(t)
	began := time.Now()
	// The dev server comes up while ticketflow builds.
	tmp := startTemporalUI(t, root, dir)
	bin := buildTicketflow(t, root, dir)
	t.Logf("built ticketflow in %s", time.Since(began).Round(time.Millisecond))

	// auth only: the other services' upstreams lead nowhere.
	authAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	nowhere := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	upstreams := map[string][]string{"auth": {authAddr}}
	for _, name := range httpServices {
		if name != "auth" {
			upstreams[name] = []string{nowhere}
		}
	}
	g := startGateway(t, root, dir, nginx, gatewayConfig{upstreams: upstreams, temporalUI: tmp.ui, webRoot: webApp(t, dir)})
	env := stackEnv(t, dir, g)
	runCLI(t, dir, env, bin, "migrate")
	auth := start(t, dir, "auth:"+authAddr, append(env, "HTTP_ADDR="+authAddr), bin, "serve", "auth")
	if !auth.waitReady(t, "http://"+authAddr+"/readyz", 45*time.Second) {
		t.Fatalf("auth exited at start:\n%s", auth.tail())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- auth:\n%s\n--- temporal:\n%s", auth.tail(), tmp.proc.tail())
		}
	})
	runCLI(t, dir, env, bin, "admin", "create-user", "--email", "admin@example.com", "--password", "admin password 123", "--name", "Admin", "--role", "admin")
	admin := signIn(t, g, "admin@example.com", "admin password 123")
	(&client{t: t, g: g}).call("POST", "/auth/register", map[string]string{"email": "ana@example.com", "password": "ana's long password", "name": "Ana"}, 201, nil)
	emp := signIn(t, g, "ana@example.com", "ana's long password")
	tmp.wait(t)

	get := func(method, path string, body io.Reader, header ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, g.url(path), body)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	const runPage = "/temporal/namespaces/default/workflows"

	// Nobody signed in, an employee: stopped at the gate, pages and
	// assets alike.
	for _, path := range []string{"/temporal/", runPage, "/temporal/api/v1/namespaces/default"} {
		if res, _ := get("GET", path, nil); res.StatusCode != 401 {
			t.Errorf("anonymous GET %s: %d, want 401", path, res.StatusCode)
		}
		if res, _ := get("GET", path, nil, "Authorization", "Bearer "+emp.token); res.StatusCode != 403 {
			t.Errorf("employee's GET %s: %d, want 403", path, res.StatusCode)
		}
	}
	emp.call("POST", "/auth/temporal-session", nil, 403, nil)

	// The admin's session cookie, as the web app's link gets it.
	res, _ := get("POST", "/auth/temporal-session", nil, "Authorization", "Bearer "+admin.token)
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "__Secure-ticketflow-temporal" {
			session = c
		}
	}
	if res.StatusCode != 204 || session == nil || session.Path != "/temporal" {
		t.Fatalf("temporal-session: %d, cookie %+v", res.StatusCode, session)
	}
	cookie := session.Name + "=" + session.Value

	// The UI's page, at its root and at a run list (the UI routes in the
	// browser; the server answers every page with the same shell). It
	// names /temporal as its base, and every asset under it: an asset at
	// /_app/ would reach the web app's location, not the UI.
	asset := regexp.MustCompile(`(?:href|src)="(/temporal/_app/[^"]+\.js)"`)
	var assets []string
	var csrf *http.Cookie
	for _, path := range []string{"/temporal/", runPage} {
		res, body := get("GET", path, nil, "Cookie", cookie)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("admin's GET %s: %d %s: %.300s", path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if !strings.Contains(body, `base: "/temporal"`) || strings.Contains(body, `"/_app/`) {
			t.Fatalf("GET %s: not the UI with the public path /temporal:\n%.2000s", path, body)
		}
		m := asset.FindAllStringSubmatch(body, -1)
		if len(m) == 0 {
			t.Fatalf("GET %s: no script under /temporal/_app/:\n%.2000s", path, body)
		}
		for _, sm := range m {
			assets = append(assets, sm[1])
		}
		// The gateway's security headers, once each: the UI's own
		// X-Frame-Options (SAMEORIGIN) is hidden.
		if v := res.Header.Values("X-Frame-Options"); len(v) != 1 || v[0] != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q, want the gateway's DENY alone", path, v)
		}
		if v := res.Header.Values("Strict-Transport-Security"); len(v) != 1 {
			t.Errorf("GET %s: Strict-Transport-Security %q, want one", path, v)
		}
		// The UI sends no policy under a public path: the gateway's
		// csp-temporal.conf is the one, word for word.
		if v := res.Header.Values("Content-Security-Policy"); len(v) != 1 || v[0] != temporalCSP(t) {
			t.Errorf("GET %s: Content-Security-Policy %q, want csp-temporal.conf's %q", path, v, temporalCSP(t))
		}
		for _, c := range res.Cookies() {
			if c.Name == "_csrf" {
				csrf = c
			}
		}
	}
	// The scripts the page loads: through the gate with the cookie, not
	// without.
	for _, a := range []string{assets[0], assets[len(assets)-1]} {
		res, body := get("GET", a, nil, "Cookie", cookie)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "javascript") || len(body) == 0 {
			t.Fatalf("admin's GET %s: %d %s, %d bytes", a, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if res, _ := get("GET", a, nil); res.StatusCode != 401 {
			t.Errorf("anonymous GET %s: %d, want 401", a, res.StatusCode)
		}
	}

	// What the run page asks the UI's API: Temporal answers through the
	// gateway.
	res, body := get("GET", "/temporal/api/v1/namespaces/default", nil, "Cookie", cookie)
	var ns struct {
		NamespaceInfo struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"namespaceInfo"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &ns) != nil || ns.NamespaceInfo.Name != "default" {
		t.Fatalf("the UI's API for the namespace: %d %.300s", res.StatusCode, body)
	}
	res, body = get("GET", "/temporal/api/v1/namespaces/default/workflows", nil, "Cookie", cookie)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("the UI's API for the run list: %d %s %.300s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	// An admin's action in the UI (a POST with the UI's CSRF cookie and
	// header, as its script sends it) reaches Temporal: the run is
	// unknown, and Temporal says so.
	if csrf == nil {
		t.Fatal("the UI set no _csrf cookie through the gateway")
	}
	terminate := "/temporal/api/v1/namespaces/default/workflows/no-such-run/terminate"
	res, body = get("POST", terminate, strings.NewReader("{}"),
		"Cookie", cookie+"; _csrf="+csrf.Value, "X-CSRF-TOKEN", csrf.Value, "Content-Type", "application/json")
	if res.StatusCode != 404 || !strings.Contains(body, "workflow not found") {
		t.Fatalf("admin's terminate of an unknown run: %d %.300s, want Temporal's 404", res.StatusCode, body)
	}
	if res, _ := get("POST", terminate, strings.NewReader("{}"), "Authorization", "Bearer "+emp.token,
		"Cookie", "_csrf="+csrf.Value, "X-CSRF-TOKEN", csrf.Value); res.StatusCode != 403 {
		t.Errorf("employee's terminate: %d, want 403", res.StatusCode)
	}
	// The admin's bearer token passes too (for API clients).
	if res, _ := get("GET", runPage, nil, "Authorization", "Bearer "+admin.token); res.StatusCode != 200 {
		t.Errorf("admin's bearer on %s: %d, want 200", runPage, res.StatusCode)
	}
	t.Logf("done %s after the start", time.Since(began).Round(time.Millisecond))
}

// temporalCSP is the policy deploy/nginx/csp-temporal.conf sets.
func temporalCSP(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("nginx", "csp-temporal.conf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^add_header Content-Security-Policy "([^"]+)" always;$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("csp-temporal.conf sets no Content-Security-Policy")
	}
	return string(m[1])
}
