//go:build chaos

package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	tclient "go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/internal/testenv"
)

// The chaos suite restarts PostgreSQL, RabbitMQ and the Temporal dev server
// under load. It runs private instances of all three, on free loopback
// ports in the test's folder, so that the machine's shared services (and
// any other test using them) never notice.

// run runs a command to completion and fails the test with its output if
// it fails.
func run(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// chownTo gives path (recursively) to the system user name, as the
// PostgreSQL and RabbitMQ servers run as their own users.
func chownTo(t *testing.T, path, name string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("no %s user: the server is not installed (.ci/run installs it)", name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pgServer is a PostgreSQL cluster of the test's own, run by Debian's
// binaries as the postgres user.
type pgServer struct {
	bin, data, sock, log string
	port                 int
}

// pgBinDir is the newest installed PostgreSQL's bin folder.
func pgBinDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		t.Skip("PostgreSQL is not installed (.ci/run installs it)")
	}
	sort.Strings(dirs)
	return filepath.Dir(dirs[len(dirs)-1])
}

func startPostgres(t *testing.T, dir string) *pgServer {
	t.Helper()
	root := filepath.Join(dir, "postgres")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	chownTo(t, root, "postgres")
	p := &pgServer{
		bin:  pgBinDir(t),
		data: filepath.Join(root, "data"),
		sock: root,
		log:  filepath.Join(root, "server.log"),
		port: freePort(t),
	}
	run(t, os.Environ(), "runuser", "-u", "postgres", "--", filepath.Join(p.bin, "initdb"),
		"-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop("immediate") })
	return p
}

// start starts the server and waits until it accepts connections.
func (p *pgServer) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on", p.port, p.sock)
	cmd := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"),
		"-D", p.data, "-l", p.log, "-w", "-t", "60", "-o", opts, "start")
	if out, err := cmd.CombinedOutput(); err != nil {
		b, _ := os.ReadFile(p.log)
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, b)
	}
	return nil
}

// stop stops the server: mode "immediate" is a crash as far as the data
// is concerned (the next start recovers from the WAL), "fast" a clean stop.
func (p *pgServer) stop(mode string) error {
	cmd := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"),
		"-D", p.data, "-m", mode, "-w", "stop")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// url is the URL of database db.
func (p *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// rabbitNode is a RabbitMQ node of the test's own (testenv.RabbitMQNode:
// Debian's rabbitmq-server with its own node name, ports, data and
// configuration, its files under dir/rabbitmq), under the names the chaos
// test uses.
type rabbitNode struct {
	*testenv.RabbitMQNode
	port int
}

func startRabbit(t *testing.T, dir string) *rabbitNode {
	t.Helper()
	n := testenv.StartRabbitMQNode(t, dir)
	return &rabbitNode{RabbitMQNode: n, port: n.Port()}
}

// start starts the node again on the same data and waits until it accepts
// AMQP connections.
func (r *rabbitNode) start() error { return r.Start() }

// stop stops the node (rabbitmqctl stop) and waits until it is gone.
func (r *rabbitNode) stop() error { return r.Stop() }

// url is the AMQP URL of the node's default virtual host.
func (r *rabbitNode) url() string { return r.URL() }

// temporalServer is a Temporal dev server of the test's own, keeping its
// state in a SQLite file so that a restart finds every workflow again.
type temporalServer struct {
	t      *testing.T
	bin    string
	dir    string
	port   int
	proc   *proc
	starts int
}

func startTemporal(t *testing.T, root, dir string) *temporalServer {
	t.Helper()
	s := &temporalServer{t: t, bin: temporalCLI(t, root), dir: filepath.Join(dir, "temporal"), port: freePort(t)}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *temporalServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// start runs the dev server on the same file and waits until the default
// namespace answers.
func (s *temporalServer) start() error {
	s.starts++
	args := []string{
		"server", "start-dev", "--headless",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--namespace", "default", "--log-level", "warn",
		"--db-filename", filepath.Join(s.dir, "temporal.db"),
		"--dynamic-config-value", "system.enableEagerWorkflowStart=true",
	}
	for _, sa := range []string{"TicketId=Keyword", "TicketStatus=Keyword", "TicketPriority=Keyword",
		"TicketCategory=Keyword", "AssigneeId=Keyword", "SlaBreached=Bool"} {
		args = append(args, "--search-attribute", sa)
	}
	s.proc = start(s.t, s.dir, fmt.Sprintf("temporal-%d", s.starts), os.Environ(), s.bin, args...)
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := s.ping()
		if err == nil {
			return nil
		}
		if s.proc.exited() || time.Now().After(deadline) {
			return fmt.Errorf("temporal dev server on %s: %v\n%s", s.addr(), err, s.proc.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ping succeeds when the frontend answers and the namespace is usable.
func (s *temporalServer) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := tclient.DialContext(ctx, tclient.Options{HostPort: s.addr(), Namespace: "default", Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default"})
	return err
}

// stop stops the dev server the way an operator does (SIGTERM).
func (s *temporalServer) stop() { s.proc.stop(syscall.SIGTERM) }

// quietLogger keeps the SDK's retry chatter out of the test log.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
