package deploy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/testenv"
)

// The services of the architecture, in start order, as the gateway names
// its upstreams.
var httpServices = []string{"auth", "helpdesk", "workflow", "messaging", "notification"}

// RequireAllEnv is the switch that turns a test's skip for a missing tool
// into a failure: .ci/run and scripts/test.sh (make test) export
// TICKETFLOW_REQUIRE_ALL=1, so that CI never passes by skipping.
const RequireAllEnv = "TICKETFLOW_REQUIRE_ALL"

// skipUnlessRequired skips the test for a missing tool, or fails it when
// RequireAllEnv is 1.
func skipUnlessRequired(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireAllEnv) == "1" {
		t.Fatalf(format+" (%s=1: required, not skipped)", append(args, RequireAllEnv)...)
	}
	t.Skipf(format, args...)
}

// nginxBinary returns Debian's nginx, or skips the test when it is not
// installed, failing it instead under TICKETFLOW_REQUIRE_ALL=1 (.ci/run
// installs nginx and sets it).
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	skipUnlessRequired(t, "nginx is not installed (apt-get install -y nginx-light); .ci/run installs it")
	return ""
}

// repoRoot is the module's root, where scripts/ and cmd/ are.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sharedTempDir is a temporary folder that nginx's workers, which drop to
// nobody, may enter: t.TempDir makes its folders private to us.
func sharedTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildTicketflow compiles the binary, with the flags of the other builds
// of the run so that the build cache serves it (not -trimpath, which
// would recompile every dependency).
func buildTicketflow(t *testing.T, root, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "ticketflow")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/ticketflow")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ticketflow: %v\n%s", err, b)
	}
	return out
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a child process of the test: a ticketflow replica or nginx.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when it has exited
}

// start runs name's command with env, its output in dir/<name>.log. The
// process dies with the test (Pdeathsig), and is stopped at cleanup.
func start(t *testing.T, dir, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, strings.ReplaceAll(name, ":", "-")+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the process ends,
		// not the test: hold that thread until the process is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(p.done)
		defer f.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits; a process that outlives 10 s is killed.
func (p *proc) stop(sig syscall.Signal) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the end of the process's output, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// waitReady polls url until it answers 200. It returns false, without
// failing, when the process exits first.
func (p *proc) waitReady(t *testing.T, url string, wait time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	probe := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if p.exited() {
			return false
		}
		if res, err := probe.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready at %s within %s:\n%s", p.name, url, wait, p.tail())
	return false
}

// runCLI runs a ticketflow command to completion and returns its stdout.
func runCLI(t *testing.T, dir string, env []string, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ticketflow %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// gateway is nginx with deploy/nginx/, rendered by scripts/gateway.sh.
type gateway struct {
	proc     *proc
	state    string
	https    string // host:port of the TLS server
	http     string // host:port of the plain server that redirects
	internal string // host:port of the loopback API listener
	client   *http.Client
	roots    *x509.CertPool
}

// gatewayConfig is what the test points the gateway at.
type gatewayConfig struct {
	upstreams  map[string][]string // service → replicas' host:port
	temporalUI string
	webRoot    string
}

// startGateway renders the local configuration with scripts/gateway.sh
// (which also makes the self-signed certificate), then runs nginx with it
// on free ports, in the foreground, as a child of the test.
func startGateway(t *testing.T, root, dir, nginx string, cfg gatewayConfig) *gateway {
	t.Helper()
	g := &gateway{
		state:    filepath.Join(dir, "gateway"),
		https:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		http:     fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		internal: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	env := append(os.Environ(),
		"GATEWAY_DIR="+g.state,
		"GATEWAY_HTTPS_ADDR="+g.https,
		"GATEWAY_HTTP_ADDR="+g.http,
		"GATEWAY_INTERNAL_ADDR="+g.internal,
		"GATEWAY_TEMPORAL_UI="+cfg.temporalUI,
		"GATEWAY_WEB_ROOT="+cfg.webRoot,
	)
	for name, servers := range cfg.upstreams {
		env = append(env, "GATEWAY_"+strings.ToUpper(name)+"_SERVERS="+strings.Join(servers, " "))
	}
	render := exec.Command("bash", "scripts/gateway.sh", "render")
	render.Dir = root
	render.Env = env
	if out, err := render.CombinedOutput(); err != nil {
		t.Fatalf("scripts/gateway.sh render: %v\n%s", err, out)
	}
	conf := filepath.Join(g.state, "conf", "nginx.conf")
	errLog := filepath.Join(g.state, "logs", "error.log")
	g.proc = start(t, dir, "nginx", os.Environ(), nginx, "-p", g.state, "-c", conf, "-e", errLog, "-g", "daemon off;")
	// nginx's graceful stop is SIGQUIT.
	t.Cleanup(func() { g.proc.stop(syscall.SIGQUIT) })
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(errLog)
			t.Logf("nginx error.log:\n%s", b)
		}
	})

	g.trust(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if conn, err := net.Dial("tcp", g.https); err == nil {
			conn.Close()
			break
		}
		if g.proc.exited() || time.Now().After(deadline) {
			b, _ := os.ReadFile(errLog)
			t.Fatalf("nginx did not listen on %s:\n%s\n%s", g.https, g.proc.tail(), b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return g
}

// trust makes g's client, which trusts the gateway's self-signed
// certificate (made by scripts/gateway.sh in g.state).
func (g *gateway) trust(t *testing.T) {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(g.state, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	g.roots = x509.NewCertPool()
	if !g.roots.AppendCertsFromPEM(pem) {
		t.Fatal("the gateway's certificate does not parse")
	}
	g.client = &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: g.roots},
			ForceAttemptHTTP2: true,
		},
		// Redirects are for the test to see, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// url is the gateway's HTTPS URL of path.
func (g *gateway) url(path string) string { return "https://" + g.https + path }

// stackEnv is the environment of every ticketflow process of the test: a
// fresh database, vhost, Redis prefix and task queue, and the service URLs
// of the gateway's loopback listener, as in production behind the gateway.
func stackEnv(t *testing.T, dir string, g *gateway) []string {
	t.Helper()
	return stackEnvBehind(t, dir, g.internal, g.https)
}

// stackEnvBehind is stackEnv for a gateway yet to start, at the given
// loopback (internal) and TLS (https) listeners.
func stackEnvBehind(t *testing.T, dir, internalAddr, httpsAddr string) []string {
	t.Helper()
	_, prefix := testenv.Redis(t)
	for _, d := range []string{"attachments", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	internal := "http://" + internalAddr
	public := "https://" + httpsAddr
	env := append(os.Environ(),
		"TICKETFLOW_ENV=production",
		"LOG_FORMAT=text",
		"LOG_LEVEL=warn",
		"DATABASE_URL="+testenv.Database(t),
		"DATABASE_MAX_CONNS=2",
		"AMQP_URL="+testenv.VHost(t),
		"REDIS_URL="+testenv.RedisURL(),
		"REDIS_PREFIX="+prefix,
		"TEMPORAL_ADDRESS="+testenv.TemporalAddress(),
		"TEMPORAL_TASK_QUEUE="+testenv.Name("tq"),
		"CURSOR_SECRET="+testenv.Name("cursor"),
		"PUBLIC_URL="+public,
		"TEMPORAL_UI_URL="+public+"/temporal",
		"TRUST_PROXY=true",
		"JWKS_URL="+internal+"/auth/.well-known/jwks.json",
		"AUTH_URL="+internal,
		"HELPDESK_URL="+internal,
		"WORKFLOW_URL="+internal,
		"ATTACHMENTS_DIR="+filepath.Join(dir, "attachments"),
		"MAIL_DIR="+filepath.Join(dir, "mail"),
		"SHUTDOWN_GRACE=2s",
	)
	return env
}

// envValue returns the last value of key in env.
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// waitForQueues waits until the consumers have declared their queues.
func waitForQueues(t *testing.T, amqpURL string, queues ...string) {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range queues {
		deadline := time.Now().Add(20 * time.Second)
		for {
			// A passive declare of a missing queue closes the channel.
			ch, err := conn.Channel()
			if err != nil {
				t.Fatal(err)
			}
			_, err = ch.QueueDeclarePassive(q, true, false, false, false, nil)
			if err == nil {
				_ = ch.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue %s not declared within 20s: %v", q, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
