package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// TestPipeline_RunSurvivesAWorkerKill runs the HTTP services in-process and
// `ticketflow worker` as a process of its own, kills the worker with
// SIGKILL while the ticket's first helpdesk write is in flight (the
// helpdesk is cut off from the worker, so the activity keeps failing and
// retrying), and starts a new worker: the same run must assign the ticket
// once, follow it to closed and complete.
func TestPipeline_RunSurvivesAWorkerKill(t *testing.T) {
	amqpURL := devEnv(t)
	run(t, "migrate")
	creds := strings.Fields(run(t, "admin", "service-account", "worker-kill-test"))
	base := launchServices(t)
	// The worker reaches the helpdesk through a proxy the test can cut; it
	// gets its service tokens from auth directly.
	cut := testenv.NewProxy(t, strings.TrimPrefix(base, "http://"))
	workerEnv := append(creds,
		"AUTH_URL="+base, "WORKFLOW_URL="+base, "MESSAGING_URL="+base,
		"JWKS_URL="+base+"/auth/.well-known/jwks.json",
		"HELPDESK_URL="+cut.URL(base),
	)
	first := startWorkerProcess(t, "worker-1", workerEnv)

	d := setUpDesk(t, base, amqpURL)
	// A second agent in the team: round robin would give a second
	// assignment of the ticket to them, so it cannot hide.
	run(t, "admin", "create-user", "--email", "agent2@example.com", "--password", "agent password 123", "--name", "Agent Two", "--role", "agent")
	agent2 := signIn(t, base, "agent2@example.com", "agent password 123")
	eventually(t, 30*time.Second, "the second agent in the workflow directory", func() bool {
		status, raw := d.admin.try("GET", "/workflow/agents", nil, nil)
		return status == 200 && strings.Contains(string(raw), agent2.id)
	})
	d.admin.call("PUT", "/workflow/teams/"+d.team+"/members/"+agent2.id, map[string]bool{"available": true}, 201, nil)
	agents := map[string]*user{d.agent.id: d.agent, agent2.id: agent2}
	emp := register(t, base, "ana@example.com")
	bus := testenv.Observe(t, amqpURL, "ticketflow.events", "ticket.*")
	tc := dialTemporal(t)
	ctx := context.Background()

	cut.Down()
	id := d.open(t, emp, "Monitor flickers")
	wid := workflows.TicketWorkflowID(id)
	var runID string
	eventually(t, 60*time.Second, "the helpdesk write of the run failing and retrying", func() bool {
		desc, err := tc.DescribeWorkflowExecution(ctx, wid, "")
		if err != nil {
			return false
		}
		for _, pa := range desc.GetPendingActivities() {
			if pa.GetActivityType().GetName() == workflows.ActivityRecordState && pa.GetAttempt() >= 2 {
				runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
				return true
			}
		}
		return false
	})
	var tk ticketView
	emp.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
	if tk.AssigneeID != nil {
		t.Fatalf("the assignment landed before the kill: %+v", tk)
	}

	// The worker dies mid-activity; a new one, with an empty workflow
	// cache, takes over once the helpdesk is reachable again.
	first.kill(t)
	cut.Up()
	second := startWorkerProcess(t, "worker-2", workerEnv)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- worker-1:\n%s\n--- worker-2:\n%s", first.tail(), second.tail())
		}
	})

	var assignee *user
	eventually(t, 2*time.Minute, "the assignment recorded in the helpdesk after the kill", func() bool {
		var tk ticketView
		if status, _ := emp.try("GET", "/helpdesk/tickets/"+id, nil, &tk); status != 200 || tk.AssigneeID == nil {
			return false
		}
		assignee = agents[*tk.AssigneeID]
		return tk.Step == workflows.StepTriage
	})
	if assignee == nil {
		t.Fatal("the ticket went to someone outside the team")
	}
	var st stateView
	assignee.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": workflows.StepInProgress}, 200, &st)
	assignee.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": workflows.StepResolved}, 200, &st)
	emp.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": workflows.StepClosed}, 200, &st)
	if st.Status != workflows.StatusClosed || st.RunID != runID {
		t.Fatalf("after closing: %+v, want status closed in run %s", st, runID)
	}

	// The run that was interrupted is the one that completed.
	eventually(t, 60*time.Second, "the run completed", func() bool {
		desc, err := tc.DescribeWorkflowExecution(ctx, wid, runID)
		return err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	assertOneRun(t, tc, wid, runID, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	eventually(t, 30*time.Second, "the helpdesk showing the ticket closed", func() bool {
		var tk ticketView
		emp.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
		return tk.Status == workflows.StatusClosed && tk.Step == workflows.StepClosed
	})

	// Exactly one assignment: one change of assignee in the helpdesk's
	// history, one ticket.assigned on the bus (counted once the closing
	// event, published after it, has arrived), and the round-robin cursor
	// moved once: the next ticket goes to the other agent.
	var history struct {
		Items []struct {
			Field string  `json:"field"`
			New   *string `json:"new"`
		} `json:"items"`
	}
	emp.call("GET", "/helpdesk/tickets/"+id+"/history", nil, 200, &history)
	var changes []string
	for _, h := range history.Items {
		if h.Field == "assignee_id" && h.New != nil {
			changes = append(changes, *h.New)
		}
	}
	if len(changes) != 1 || changes[0] != assignee.id {
		t.Fatalf("assignee changes in the helpdesk history: %v, want exactly [%s]", changes, assignee.id)
	}
	assigned := map[string]bool{}
	deadline := time.After(60 * time.Second)
	for closed := false; !closed; {
		select {
		case m := <-bus:
			e, err := events.Parse(m.Body)
			if err != nil || e.Subject != id {
				continue
			}
			switch e.Type {
			case events.TicketAssigned:
				assigned[e.ID] = true
			case events.TicketStatusChanged:
				var sc workflows.StatusChangedEvent
				closed = e.DecodeData(&sc) == nil && sc.To == workflows.StepClosed
			}
		case <-deadline:
			t.Fatalf("no ticket.status_changed to closed on the bus within 60s (ticket.assigned seen: %d)", len(assigned))
		}
	}
	if len(assigned) != 1 {
		t.Fatalf("%d distinct ticket.assigned events, want 1", len(assigned))
	}
	next := d.open(t, emp, "Monitor still flickers")
	eventually(t, 60*time.Second, "the next ticket assigned", func() bool {
		var tk ticketView
		emp.call("GET", "/helpdesk/tickets/"+next, nil, 200, &tk)
		if tk.AssigneeID == nil {
			return false
		}
		if *tk.AssigneeID == assignee.id {
			t.Fatalf("the next ticket went to %s again: the killed run moved the round robin twice", assignee.id)
		}
		return true
	})
}

// launchServices runs every HTTP service of `ticketflow dev` in-process,
// with their outbox relays and consumers but without the Temporal worker
// and its consumers, and returns their base URL; they stop at cleanup.
func launchServices(t *testing.T) string {
	t.Helper()
	app, err := loadApp()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.devURL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var comps []component
	for _, name := range serviceNames {
		c, err := app.component(ctx, name)
		if err == errNotBuilt {
			continue
		}
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		comps = append(comps, c)
	}
	done := make(chan error, 1)
	go func() { done <- app.runComponents(ctx, ln, comps, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("services stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("services did not stop within 30s of their context ending")
		}
		app.Close()
	})
	waitForReady(t, app.devURL+"/readyz", nil)
	return app.devURL
}

// helperArgsEnv carries the command line of the ticketflow process that
// TestHelperProcess_Ticketflow runs.
const helperArgsEnv = "TICKETFLOW_TEST_HELPER_ARGS"

// TestHelperProcess_Ticketflow is not a test: startWorkerProcess re-runs
// the test binary with only it selected and helperArgsEnv set, and it runs
// the ticketflow command line there, as the real binary's main does.
func TestHelperProcess_Ticketflow(t *testing.T) {
	args := os.Getenv(helperArgsEnv)
	if args == "" {
		t.Skip("runs only as the ticketflow process of another test")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCommand()
	cmd.SetArgs(strings.Fields(args))
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ticketflow:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ticketflowProcess is a `ticketflow` child process of the test.
type ticketflowProcess struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startWorkerProcess runs `ticketflow worker` as a child process with the
// test's environment plus env, waits until it is ready, and stops it at
// cleanup. The child dies with the test process.
func startWorkerProcess(t *testing.T, name string, env []string) *ticketflowProcess {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := &ticketflowProcess{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess_Ticketflow$", "-test.count=1")
	p.cmd.Env = append(append(os.Environ(), env...),
		helperArgsEnv+"=worker", "HTTP_ADDR="+addr, "LOG_LEVEL=info", "PPROF_ADDR=")
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child ends:
		// hold that thread until the child is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(p.done)
		defer f.Close()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = p.cmd.Wait()
	}()
	if err := <-started; err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if p.exited() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop within 20s of SIGTERM", name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	waitForReady(t, "http://"+addr+"/readyz", p)
	return p
}

func (p *ticketflowProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the process with SIGKILL and waits until it is gone.
func (p *ticketflowProcess) kill(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s had exited before the kill:\n%s", p.name, p.tail())
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still runs 10s after SIGKILL", p.name)
	}
}

// tail is the end of the process's output.
func (p *ticketflowProcess) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// waitForReady polls readyz until it answers 200; p, when not nil, is the
// process that serves it, whose exit ends the wait.
func waitForReady(t *testing.T, readyz string, p *ticketflowProcess) {
	t.Helper()
	if _, err := url.Parse(readyz); err != nil {
		t.Fatal(err)
	}
	probe := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p != nil && p.exited() {
			t.Fatalf("%s exited:\n%s", p.name, p.tail())
		}
		if res, err := probe.Get(readyz); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tail := ""
			if p != nil {
				tail = p.tail()
			}
			t.Fatalf("%s not ready within 60s\n%s", readyz, tail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
