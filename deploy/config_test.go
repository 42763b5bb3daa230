package deploy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ticketflow/ticketflow/internal/config"
)

// These tests hold the gateway's figures (deploy/nginx/) to the services'
// own, read from their code, so that neither can move alone.

// nginxBlock is a block of an nginx configuration file: its directives
// (name and arguments, in order) and its nested blocks.
type nginxBlock struct {
	name       string
	args       []string
	directives [][]string
	blocks     []*nginxBlock
}

// parseNginx reads the blocks and directives of an nginx file (comments,
// quotes and nesting; no includes followed).
func parseNginx(t *testing.T, path string) *nginxBlock {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	src := string(raw)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case unicode.IsSpace(rune(c)):
			i++
		case c == '{' || c == '}' || c == ';':
			tokens = append(tokens, string(c))
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(src[i+1:], c)
			if j < 0 {
				t.Fatalf("%s: unterminated quote", path)
			}
			tokens = append(tokens, src[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(src) && !unicode.IsSpace(rune(src[j])) && !strings.ContainsRune("{};", rune(src[j])) {
				j++
			}
			tokens = append(tokens, src[i:j])
			i = j
		}
	}
	root := &nginxBlock{name: "main"}
	stack := []*nginxBlock{root}
	var words []string
	for _, tok := range tokens {
		top := stack[len(stack)-1]
		switch tok {
		case ";":
			top.directives = append(top.directives, words)
			words = nil
		case "{":
			b := &nginxBlock{name: words[0], args: words[1:]}
			top.blocks = append(top.blocks, b)
			stack = append(stack, b)
			words = nil
		case "}":
			if len(stack) == 1 || len(words) > 0 {
				t.Fatalf("%s: unbalanced }", path)
			}
			stack = stack[:len(stack)-1]
		default:
			words = append(words, tok)
		}
	}
	if len(stack) != 1 || len(words) > 0 {
		t.Fatalf("%s: unterminated block or directive", path)
	}
	return root
}

// location returns the location block with these arguments.
func (b *nginxBlock) location(t *testing.T, args ...string) *nginxBlock {
	t.Helper()
	for _, l := range b.blocks {
		if l.name == "location" && slices.Equal(l.args, args) {
			return l
		}
	}
	t.Fatalf("no location %v", args)
	return nil
}

// value returns the one argument of the directive name, which must be set once.
func (b *nginxBlock) value(t *testing.T, name string) string {
	t.Helper()
	var found []string
	for _, d := range b.directives {
		if d[0] == name {
			if len(d) != 2 {
				t.Fatalf("%s %v: want one argument", name, d[1:])
			}
			found = append(found, d[1])
		}
	}
	if len(found) != 1 {
		t.Fatalf("location %v sets %s %d times, want once", b.args, name, len(found))
	}
	return found[0]
}

// nginxSize is an nginx size (1024, 8k, 25m, 1g) in bytes.
func nginxSize(t *testing.T, s string) int64 {
	t.Helper()
	mult := map[byte]int64{'k': 1 << 10, 'K': 1 << 10, 'm': 1 << 20, 'M': 1 << 20, 'g': 1 << 30, 'G': 1 << 30}
	n := s
	m, ok := mult[s[len(s)-1]]
	if ok {
		n = s[:len(s)-1]
	} else {
		m = 1
	}
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	return v * m
}

// nginxTime is an nginx time (500ms, 40s, 1h, 1h30m; bare numbers are seconds).
func nginxTime(t *testing.T, s string) time.Duration {
	t.Helper()
	units := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "": time.Second}
	parts := regexp.MustCompile(`(\d+)(ms|s|m|h|d|w|)`).FindAllStringSubmatch(s, -1)
	var total time.Duration
	consumed := 0
	for _, p := range parts {
		n, _ := strconv.Atoi(p[1])
		total += time.Duration(n) * units[p[2]]
		consumed += len(p[0])
	}
	if consumed != len(s) || len(parts) == 0 {
		t.Fatalf("time %q does not parse", s)
	}
	return total
}

// goConst evaluates an integer constant expression of Go source: literals,
// + - * / <<, parentheses and the time package's units.
func goConst(t *testing.T, e ast.Expr) int64 {
	t.Helper()
	switch e := e.(type) {
	case *ast.BasicLit:
		v, err := strconv.ParseInt(strings.ReplaceAll(e.Value, "_", ""), 0, 64)
		if e.Kind != token.INT || err != nil {
			t.Fatalf("literal %s: not an integer", e.Value)
		}
		return v
	case *ast.ParenExpr:
		return goConst(t, e.X)
	case *ast.SelectorExpr:
		units := map[string]time.Duration{"Nanosecond": time.Nanosecond, "Microsecond": time.Microsecond,
			"Millisecond": time.Millisecond, "Second": time.Second, "Minute": time.Minute, "Hour": time.Hour}
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "time" {
			if u, ok := units[e.Sel.Name]; ok {
				return int64(u)
			}
		}
	case *ast.BinaryExpr:
		x, y := goConst(t, e.X), goConst(t, e.Y)
		switch e.Op {
		case token.ADD:
			return x + y
		case token.SUB:
			return x - y
		case token.MUL:
			return x * y
		case token.QUO:
			return x / y
		case token.SHL:
			return x << y
		}
	}
	t.Fatalf("cannot evaluate %T %v", e, e)
	return 0
}

// goSource parses a Go file of the module.
func goSource(t *testing.T, rel string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot(t), rel), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// multipartOverhead reads messaging's allowance for an upload's multipart
// framing (the const of that name in api/messaging/routes.go, which is not
// exported).
func multipartOverhead(t *testing.T) int64 {
	t.Helper()
	f := goSource(t, "api/messaging/routes.go")
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, n := range v.Names {
				if n.Name == "multipartOverhead" {
					return goConst(t, v.Values[i])
				}
			}
		}
	}
	t.Fatal("api/messaging/routes.go has no const multipartOverhead: update this test to what sets the upload's body limit")
	return 0
}

// defaultPingInterval reads the messaging WebSocket's default ping
// interval: the def(&o.PingInterval, ...) of setDefaults in
// api/messaging/ws_conn.go (not exported).
func defaultPingInterval(t *testing.T) time.Duration {
	t.Helper()
	f := goSource(t, "api/messaging/ws_conn.go")
	var found ast.Expr
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return true
		}
		if u, ok := call.Args[0].(*ast.UnaryExpr); ok && u.Op == token.AND {
			if sel, ok := u.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "PingInterval" {
				found = call.Args[1]
			}
		}
		return true
	})
	if found == nil {
		t.Fatal("api/messaging/ws_conn.go sets no default PingInterval: update this test to where it is set")
	}
	return time.Duration(goConst(t, found))
}

// envDefault is the default of a field of config.Config.
func envDefault(t *testing.T, field string) string {
	t.Helper()
	f, ok := reflect.TypeFor[config.Config]().FieldByName(field)
	if !ok {
		t.Fatalf("config.Config has no field %s", field)
	}
	return f.Tag.Get("envDefault")
}

// TestNginx_AttachmentLimitIsTheServices: a file at MAX_ATTACHMENT_BYTES,
// in its multipart body, passes nginx. nginx refuses a body larger than
// client_max_body_size, messaging one larger than the file's limit plus
// its multipart allowance: the two must be the same figure.
func TestNginx_AttachmentLimitIsTheServices(t *testing.T) {
	api := parseNginx(t, filepath.Join(repoRoot(t), "deploy/nginx/api.conf"))
	maxFile, err := strconv.ParseInt(envDefault(t, "MaxAttachmentBytes"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	want := maxFile + multipartOverhead(t)
	if want <= maxFile {
		t.Fatalf("multipart overhead %d", want-maxFile)
	}
	for _, loc := range [][]string{
		{"~", "^/messaging/tickets/[^/]+/attachments$"},
		{"~", "^/messaging/internal/tickets/[^/]+/attachments$"},
	} {
		l := api.location(t, loc...)
		if got := nginxSize(t, l.value(t, "client_max_body_size")); got != want {
			t.Errorf("location %v: client_max_body_size %d, want %d (MAX_ATTACHMENT_BYTES %d + messaging's multipart overhead %d)",
				loc, got, want, maxFile, want-maxFile)
		}
		if l.value(t, "proxy_request_buffering") != "off" {
			t.Errorf("location %v buffers uploads", loc)
		}
	}
	// The services' bodies otherwise: 1 MiB (MAX_BODY_BYTES) in gateway.conf.
	gw := parseNginx(t, filepath.Join(repoRoot(t), "deploy/nginx/gateway.conf"))
	maxBody, err := strconv.ParseInt(envDefault(t, "MaxBodyBytes"), 10, 64)
	if err != nil {
		t.Fatalf("config.Config.MaxBodyBytes: %v", err)
	}
	if got := nginxSize(t, gw.value(t, "client_max_body_size")); got != maxBody {
		t.Errorf("gateway.conf: client_max_body_size %d, want the services' MAX_BODY_BYTES %d", got, maxBody)
	}
	// Compose leaves the limit at its default, the figure above.
	p := project(t)
	for name, s := range p.Services {
		if v, ok := s.Environment["MAX_ATTACHMENT_BYTES"]; ok && (v == nil || *v != strconv.FormatInt(maxFile, 10)) {
			t.Errorf("compose: %s sets MAX_ATTACHMENT_BYTES %v, which nginx's limit does not follow", name, v)
		}
	}
}

// TestNginx_WebSocketOutlivesPings: nginx closes a proxied connection that
// is silent for proxy_read_timeout; the server's pings keep a live one
// talking, so the timeout must leave room for more than two of them.
func TestNginx_WebSocketOutlivesPings(t *testing.T) {
	api := parseNginx(t, filepath.Join(repoRoot(t), "deploy/nginx/api.conf"))
	ws := api.location(t, "=", "/messaging/ws")
	ping := defaultPingInterval(t)
	if ping <= 0 || ping > time.Hour {
		t.Fatalf("default ping interval %s", ping)
	}
	for _, d := range []string{"proxy_read_timeout", "proxy_send_timeout"} {
		if got := nginxTime(t, ws.value(t, d)); got <= 2*ping {
			t.Errorf("/messaging/ws: %s %s, want more than twice the ping interval %s", d, got, ping)
		}
	}
	if ws.value(t, "proxy_buffering") != "off" {
		t.Error("/messaging/ws: proxy_buffering is on: frames would wait in nginx")
	}
}

// TestNginx_CSPSourceOfTruth: the policy `ticketflow dev` sends
// (ContentSecurityPolicy) is csp.conf's as nginx fills it in, and the
// Host headers it accepts as the WebSocket source are gateway.conf's map's.
func TestNginx_CSPSourceOfTruth(t *testing.T) {
	gw := parseNginx(t, filepath.Join(repoRoot(t), "deploy/nginx/gateway.conf"))
	var m *nginxBlock
	for _, b := range gw.blocks {
		if b.name == "map" && slices.Equal(b.args, []string{"$http_host", "$gateway_wss_source"}) {
			m = b
		}
	}
	if m == nil {
		t.Fatal("gateway.conf: no map $http_host $gateway_wss_source")
	}
	want := [][]string{{"~" + WSHostPattern.String(), "wss://$http_host"}, {"default", ""}}
	if fmt.Sprint(m.directives) != fmt.Sprint(want) {
		t.Errorf("gateway.conf's map is %q, want %q (deploy/csp.go's WSHostPattern)", m.directives, want)
	}

	csp := ContentSecurityPolicy("wss", "desk.example.com:8443")
	for _, part := range []string{"default-src 'self';", "connect-src 'self' wss://desk.example.com:8443;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP %q lacks %q", csp, part)
		}
	}
	if strings.Contains(csp, "$") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if got := ContentSecurityPolicy("ws", "localhost:8080"); got != strings.Replace(ContentSecurityPolicy("wss", "localhost:8080"), "wss://", "ws://", 1) {
		t.Errorf("dev's CSP %q differs from the gateway's by more than the scheme", got)
	}
	if got := ContentSecurityPolicy("wss", "bad host\"; script-src *"); strings.Contains(got, "bad") || !strings.Contains(got, "connect-src 'self' ;") {
		t.Errorf("a Host that is none: CSP %q", got)
	}
}

// TestSkipUnlessRequired: a missing tool skips a test on a developer's
// machine and fails it under TICKETFLOW_REQUIRE_ALL=1 (CI, make test).
// The test binary runs itself as the helper below.
func TestSkipUnlessRequired(t *testing.T) {
	if os.Getenv("TICKETFLOW_SKIP_HELPER") == "1" {
		skipUnlessRequired(t, "tool %s is not installed", "frobnicate")
		return
	}
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestSkipUnlessRequired$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "TICKETFLOW_SKIP_HELPER=1", RequireAllEnv+"="+require)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP: TestSkipUnlessRequired") || !strings.Contains(out, "tool frobnicate is not installed") {
		t.Errorf("without %s: %v\n%s", RequireAllEnv, err, out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL: TestSkipUnlessRequired") || !strings.Contains(out, "required, not skipped") {
		t.Errorf("with %s=1: %v\n%s", RequireAllEnv, err, out)
	}
}
