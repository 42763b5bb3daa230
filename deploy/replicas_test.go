package deploy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/workers"
)

// TestReplicasScript_TwoOfEachSurviveTheLossOfOne runs `make replicas`'s
// script itself, on ports of its own: two processes of each HTTP service
// and two workers behind the gateway. A ticket reaches its agent through
// https://; then one replica of each service and one worker are killed,
// and a second ticket still reaches its agent, with a live comment over
// WSS. Ctrl-C stops everything the script started.
func TestReplicasScript_TwoOfEachSurviveTheLossOfOne(t *testing.T) {
	nginxBinary(t)
	root := repoRoot(t)
	dir := sharedTempDir(t)
	base := freePortBlock(t)
	g := &gateway{
		state:    filepath.Join(dir, "gateway"),
		https:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		http:     fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		internal: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	bin := filepath.Join(dir, "ticketflow")
	env := append(stackEnvBehind(t, dir, g.internal, g.https),
		"REPLICAS_PORT_BASE="+strconv.Itoa(base),
		"REPLICAS_LOGS="+filepath.Join(dir, "logs"),
		"TICKETFLOW_BIN="+bin,
		"GATEWAY_DIR="+g.state,
		"GATEWAY_HTTPS_ADDR="+g.https,
		"GATEWAY_HTTP_ADDR="+g.http,
		"GATEWAY_INTERNAL_ADDR="+g.internal,
		"GATEWAY_WEB_ROOT="+webApp(t, dir),
	)
	script := start(t, dir, "replicas", env, "bash", filepath.Join(root, "scripts", "replicas.sh"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- scripts/replicas.sh:\n%s", script.tail())
		}
	})

	// The script reports each process ready with its pid, then says so.
	pids := map[string]int{} // "auth:8081" → pid
	line := regexp.MustCompile(`(?m)^\s+(\w+:\d+)\s+pid (\d+)\s`)
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(script.tail(), "is running in replicas") {
		if script.exited() || time.Now().After(deadline) {
			t.Fatalf("scripts/replicas.sh did not come up:\n%s", script.tail())
		}
		time.Sleep(250 * time.Millisecond)
	}
	out, err := os.ReadFile(script.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		pids[m[1]], _ = strconv.Atoi(m[2])
	}
	var want []string
	for i, name := range httpServices {
		want = append(want, fmt.Sprintf("%s:%d", name, base+1+i), fmt.Sprintf("%s:%d", name, base+1001+i))
	}
	want = append(want, fmt.Sprintf("worker:%d", base+10), fmt.Sprintf("worker:%d", base+1010))
	if got := slices.Sorted(maps.Keys(pids)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("processes started = %v, want %v", got, want)
	}
	g.trust(t)

	waitForQueues(t, envValue(env, "AMQP_URL"), helpdesk.UsersQueue, "workflow.users", workers.StarterQueue,
		workers.CommentQueue, messaging.UsersQueue, notification.EventsQueue)
	runCLI(t, dir, env, bin, "admin", "create-user", "--email", "admin@example.com", "--password", "admin password 123", "--name", "Admin", "--role", "admin")
	runCLI(t, dir, env, bin, "admin", "create-user", "--email", "agent@example.com", "--password", "agent password 123", "--name", "Agent", "--role", "agent")
	admin := signIn(t, g, "admin@example.com", "admin password 123")
	agent := signIn(t, g, "agent@example.com", "agent password 123")
	(&client{t: t, g: g}).call("POST", "/auth/register", map[string]string{"email": "ana@example.com", "password": "ana's long password", "name": "Ana"}, 201, nil)
	emp := signIn(t, g, "ana@example.com", "ana's long password")
	category := setUpDesk(t, admin, agent)
	openAndWaitForAgent(t, emp, agent, category, "Printer on fire")

	// The first replica of every service and the first worker die at once.
	for i, name := range httpServices {
		kill(t, pids[fmt.Sprintf("%s:%d", name, base+1+i)])
	}
	kill(t, pids[fmt.Sprintf("worker:%d", base+10)])

	emp = signIn(t, g, "ana@example.com", "ana's long password")
	second := openAndWaitForAgent(t, emp, agent, category, "Screen flickers")
	checkLiveComment(t, g, emp, agent, second)

	// Ctrl-C (the script's trap): everything it started stops, the
	// gateway too.
	if err := script.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-script.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("scripts/replicas.sh still runs 90 s after Ctrl-C:\n%s", script.tail())
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) outlived the script", name, pid)
		}
	}
	if conn, err := net.DialTimeout("tcp", g.https, time.Second); err == nil {
		conn.Close()
		t.Errorf("the gateway still listens on %s after Ctrl-C", g.https)
	}
}

// freePortBlock returns a REPLICAS_PORT_BASE whose replica ports (base+1
// to base+10 and 1000 above) are all free right now.
func freePortBlock(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(30000)
		free := true
		for _, off := range []int{1, 2, 3, 4, 5, 10} {
			for _, p := range []int{base + off, base + 1000 + off} {
				ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
				if err != nil {
					free = false
					break
				}
				ln.Close()
			}
		}
		if free {
			return base
		}
	}
	t.Fatal("no free block of replica ports")
	return 0
}

// kill SIGKILLs pid, a replica started by the script, and waits until it
// is gone.
func kill(t *testing.T, pid int) {
	t.Helper()
	if pid == 0 {
		t.Fatal("no pid to kill")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d outlived SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid runs: a zombie, killed and not yet reaped by
// its parent, does not.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}
