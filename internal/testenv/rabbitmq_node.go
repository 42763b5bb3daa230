package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// RabbitMQNode is a RabbitMQ node of one test's own, for tests that must
// really stop and start the broker (a proxy cut, see Proxy, does not lose
// what the broker holds in memory or test its recovery). It is Debian's
// rabbitmq-server with its own node name, AMQP port on loopback, Erlang
// distribution port, data and configuration, and no plugins (so no
// management listener): the shared node on 5672, which other tests use,
// never notices it.
//
// Starting one takes seconds (about 5 s on an idle machine, more under
// load: see TestRabbitMQNode_RestartKeepsDurableQueues, which logs it), so
// only the few tests that need a real restart use it.
type RabbitMQNode struct {
	t    testing.TB
	name string // node name, such as tf_1a2b3c@localhost
	port int    // AMQP
	dir  string
	env  []string

	mu      sync.Mutex
	running bool
	// exited is closed when the process of the current start ends.
	exited chan struct{}
	proc   *os.Process
}

// rabbitMQStartTimeout bounds a start, boot included.
const rabbitMQStartTimeout = 180 * time.Second

// rabbitMQStopTimeout bounds a clean stop before the node is killed.
const rabbitMQStopTimeout = 90 * time.Second

// StartRabbitMQNode starts a private RabbitMQ node and waits until it
// accepts AMQP connections (guest/guest on its default virtual host). Its
// files go under dir/rabbitmq, or a temporary folder of its own when dir is
// "" (a dir given must be reachable by the rabbitmq user). At cleanup the
// node is stopped for real, killed if a clean stop fails, whatever the
// outcome of the test. It skips the test when rabbitmq-server is not
// installed or cannot be run by this user.
func StartRabbitMQNode(t testing.TB, dir string) *RabbitMQNode {
	t.Helper()
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		t.Skip("rabbitmq-server is not installed (.ci/run installs it)")
	}
	// Debian's wrappers run the node as the rabbitmq user: only root
	// (which switches to it) or that user may start one.
	owner, err := user.Lookup("rabbitmq")
	if err != nil {
		t.Skipf("rabbitmq-server is installed without its rabbitmq user: %v", err)
	}
	if me := os.Getuid(); me != 0 && strconv.Itoa(me) != owner.Uid {
		t.Skip("a private RabbitMQ node needs root or the rabbitmq user")
	}
	if dir == "" {
		// Not t.TempDir: the rabbitmq user must reach the folder.
		d, err := os.MkdirTemp("", "rabbitmq-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	root := filepath.Join(dir, "rabbitmq")
	for _, d := range []string{root, filepath.Join(root, "mnesia"), filepath.Join(root, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n := &RabbitMQNode{t: t, name: Name("tf") + "@localhost", port: freePort(t), dir: root}
	// The CLI tools talk to a node from the ports of its distribution port
	// + 10000 to + 10010, which must exist.
	dist := freePort(t)
	for dist > 55000 || dist == n.port {
		dist = freePort(t)
	}
	conf := fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", n.port)
	if err := os.WriteFile(filepath.Join(root, "rabbitmq.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// No plugins: the management listener would want the shared node's port.
	if err := os.WriteFile(filepath.Join(root, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(p, uid, gid)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n.env = append(os.Environ(),
		"RABBITMQ_NODENAME="+n.name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(n.port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(root, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(root, "log"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(root, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(root, "enabled_plugins"),
		"RABBITMQ_PID_FILE="+filepath.Join(root, "pid"),
		// Not in the shared node's home, where the wrapper runs it.
		"ERL_CRASH_DUMP="+filepath.Join(root, "erl_crash.dump"),
	)
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	return n
}

// Name is the node's Erlang name, for rabbitmqctl -n.
func (n *RabbitMQNode) Name() string { return n.name }

// Port is the node's AMQP port on 127.0.0.1.
func (n *RabbitMQNode) Port() int { return n.port }

// Addr is host:port of the node's AMQP listener.
func (n *RabbitMQNode) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// URL is the AMQP URL of the node's default virtual host, as guest. It
// stays the same across restarts.
func (n *RabbitMQNode) URL() string { return "amqp://guest:guest@" + n.Addr() + "/" }

// Dir is the folder of the node's data, configuration and logs.
func (n *RabbitMQNode) Dir() string { return n.dir }

// Start starts the node (again, on the same data: durable queues and
// their persistent messages are back) and waits until it accepts AMQP
// connections. Starting a running node does nothing.
func (n *RabbitMQNode) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running {
		return nil
	}
	out, err := os.OpenFile(n.outFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	_ = os.Remove(filepath.Join(n.dir, "pid"))
	cmd := exec.Command("rabbitmq-server")
	cmd.Env = n.env
	cmd.Dir = os.TempDir()
	cmd.Stdout, cmd.Stderr = out, out
	// Its own session: a Ctrl-C of the test run reaches the cleanup, not
	// the broker halfway through a write.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start rabbitmq-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	// From here on the node counts as running: a failed start is still
	// stopped (or killed) at cleanup.
	n.running, n.exited, n.proc = true, exited, cmd.Process
	deadline := began.Add(rabbitMQStartTimeout)
	for {
		if err := n.ping(); err == nil {
			n.t.Logf("testenv: RabbitMQ node %s ready on %s after %s", n.name, n.Addr(), time.Since(began).Round(time.Millisecond))
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("testenv: RabbitMQ node %s not ready within %s: %v\n%s", n.name, rabbitMQStartTimeout, err, n.logTail())
		}
		select {
		case <-exited:
			n.running = false
			return fmt.Errorf("testenv: RabbitMQ node %s exited while starting\n%s", n.name, n.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ping opens and closes an AMQP connection: the node has booted.
func (n *RabbitMQNode) ping() error {
	conn, err := amqp.DialConfig(n.URL(), amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return err
	}
	return conn.Close()
}

// Stop stops the node the way an operator does (rabbitmqctl stop, which
// closes every connection and flushes the queues to disk) and waits until
// its process is gone; a node that does not stop within 90 s is killed.
// Stopping a stopped node does nothing.
func (n *RabbitMQNode) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running {
		return nil
	}
	began := time.Now()
	var stopErr error
	cmd := exec.Command("rabbitmqctl", "-q", "-n", n.name, "stop", filepath.Join(n.dir, "pid"))
	cmd.Env = n.env
	done := make(chan struct{})
	var out []byte
	go func() {
		out, stopErr = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(rabbitMQStopTimeout):
		_ = cmd.Process.Kill()
		<-done
		stopErr = errors.New("timed out")
	}
	if stopErr == nil {
		select {
		case <-n.exited:
		case <-time.After(rabbitMQStopTimeout):
			stopErr = errors.New("stopped, but its process did not end")
		}
	}
	if stopErr != nil {
		// Kill what this node runs, by its own process IDs only.
		if pid := n.pid(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = n.proc.Kill()
		select {
		case <-n.exited:
		case <-time.After(30 * time.Second):
		}
		n.running = false
		return fmt.Errorf("testenv: rabbitmqctl stop %s: %v (killed it)\n%s", n.name, stopErr, out)
	}
	n.running = false
	n.t.Logf("testenv: RabbitMQ node %s stopped after %s", n.name, time.Since(began).Round(time.Millisecond))
	return nil
}

// pid is the Erlang VM's process ID from the node's pid file, 0 when
// unknown.
func (n *RabbitMQNode) pid() int {
	b, err := os.ReadFile(filepath.Join(n.dir, "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (n *RabbitMQNode) outFile() string { return filepath.Join(n.dir, "server.out") }

// logTail is the end of the node's console output and log, for a failure.
func (n *RabbitMQNode) logTail() string {
	var b strings.Builder
	for _, f := range []string{n.outFile(), filepath.Join(n.dir, "log", n.name+".log")} {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(raw) > 3000 {
			raw = raw[len(raw)-3000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, raw)
	}
	return b.String()
}
