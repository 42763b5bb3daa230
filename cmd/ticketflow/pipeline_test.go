package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workers"
	"github.com/ticketflow/ticketflow/workflows"
)

// user is a signed-in user of a running ticketflow.
type user struct {
	t     *testing.T
	base  string
	token string
	id    string
}

func (c *user) call(method, path string, body any, want int, out any) {
	c.t.Helper()
	if got, raw := c.try(method, path, body, out); got != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, want, raw)
	}
}

func (c *user) try(method, path string, body any, out any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
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

func signIn(t *testing.T, base, email, password string) *user {
	t.Helper()
	c := &user{t: t, base: base}
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

func register(t *testing.T, base, email string) *user {
	t.Helper()
	c := &user{t: t, base: base}
	c.call("POST", "/auth/register", map[string]string{"email": email, "password": "a long enough password", "name": email}, 201, nil)
	return signIn(t, base, email, "a long enough password")
}

// eventually retries check every 50 ms until it holds or wait passes.
func eventually(t *testing.T, wait time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type ticketView struct {
	ID         string  `json:"id"`
	Step       string  `json:"step"`
	Status     string  `json:"status"`
	AssigneeID *string `json:"assignee_id"`
}

type stateView struct {
	Step               string   `json:"step"`
	Status             string   `json:"status"`
	AssigneeID         *string  `json:"assignee_id"`
	AllowedTransitions []string `json:"allowed_transitions"`
	RunID              string   `json:"run_id"`
	TemporalURL        string   `json:"temporal_url"`
	SLA                struct {
		FirstResponseDue *time.Time `json:"first_response_due"`
	} `json:"sla"`
}

// desk is a running ticketflow with an admin, an agent in a team, and a
// category handled by that team.
type desk struct {
	base, amqpURL  string
	admin, agent   *user
	category, team string
}

func setUpDesk(t *testing.T, base, amqpURL string) desk {
	t.Helper()
	run(t, "admin", "create-user", "--email", "admin@example.com", "--password", "admin password 123", "--name", "Admin", "--role", "admin")
	run(t, "admin", "create-user", "--email", "agent@example.com", "--password", "agent password 123", "--name", "Agent", "--role", "agent")
	d := desk{base: base, amqpURL: amqpURL}
	d.admin = signIn(t, base, "admin@example.com", "admin password 123")
	d.agent = signIn(t, base, "agent@example.com", "agent password 123")

	var cat, team struct {
		ID string `json:"id"`
	}
	d.admin.call("POST", "/helpdesk/categories", map[string]string{"name": "Hardware", "description": "Laptops, printers"}, 201, &cat)
	d.admin.call("POST", "/workflow/teams", map[string]string{"name": "Desk"}, 201, &team)
	d.category, d.team = cat.ID, team.ID

	// The workflow engine learns of the agent from auth's user.created.
	eventually(t, 30*time.Second, "the agent in the workflow directory", func() bool {
		var agents []struct {
			UserID string `json:"user_id"`
		}
		var page struct {
			Items []struct {
				UserID string `json:"user_id"`
			} `json:"items"`
		}
		status, raw := d.admin.try("GET", "/workflow/agents", nil, nil)
		if status != 200 {
			return false
		}
		if json.Unmarshal(raw, &page) == nil && page.Items != nil {
			agents = page.Items
		} else {
			_ = json.Unmarshal(raw, &agents)
		}
		return slices.ContainsFunc(agents, func(a struct {
			UserID string `json:"user_id"`
		}) bool {
			return a.UserID == d.agent.id
		})
	})
	d.admin.call("PUT", "/workflow/teams/"+d.team+"/members/"+d.agent.id, map[string]bool{"available": true}, 201, nil)
	def := workflows.DefaultDefinition()
	def.TeamID = d.team
	d.admin.call("PUT", "/workflow/definitions/"+d.category, def, 200, nil)
	return d
}

func (d desk) open(t *testing.T, c *user, title string) string {
	t.Helper()
	var tk ticketView
	c.call("POST", "/helpdesk/tickets", map[string]string{
		"title": title, "description": "It does not work.", "category_id": d.category, "priority": "normal",
	}, 201, &tk)
	return tk.ID
}

func (d desk) waitForAssignee(t *testing.T, c *user, ticketID string) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, 60*time.Second, "the assignee recorded in the helpdesk", func() bool {
		var tk ticketView
		if status, _ := c.try("GET", "/helpdesk/tickets/"+ticketID, nil, &tk); status != 200 {
			return false
		}
		return tk.AssigneeID != nil && *tk.AssigneeID == d.agent.id && tk.Step == workflows.StepTriage
	})
	return time.Since(start)
}

func TestPipeline_TicketReachesItsAgentAndMovesThroughItsSteps(t *testing.T) {
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	other := register(t, base, "bob@example.com")
	tc := dialTemporal(t)

	// Ticket created over HTTP → assignee recorded in the helpdesk within a
	// second: the median of a few openings, one at a time, so that one
	// slow opening on a loaded machine (the first warms every cache) does
	// not decide it.
	var ids []string
	var took []time.Duration
	for i := range assigneeSamples {
		start := time.Now()
		ids = append(ids, d.open(t, emp, fmt.Sprintf("Printer on fire %d", i)))
		d.waitForAssignee(t, emp, ids[i])
		took = append(took, time.Since(start))
	}
	median := slices.Sorted(slices.Values(took))[len(took)/2]
	t.Logf("ticket created → assignee visible in the helpdesk: median %s of %v", median, took)
	if median >= time.Second {
		t.Fatalf("ticket created → assignee in the helpdesk: median %s, want under 1s; all: %v", median, took)
	}
	id := ids[0]

	// The run is findable in the Temporal UI by its search attributes, as
	// the workflow writes them: this also proves the dev server has them.
	waitForSearchAttributes(t, tc, id, d.agent.id, workflows.StatusOpen)

	var st stateView
	emp.call("GET", "/workflow/tickets/"+id, nil, 200, &st)
	if st.Step != workflows.StepTriage || len(st.AllowedTransitions) != 0 || st.SLA.FirstResponseDue == nil || st.TemporalURL != "" {
		t.Fatalf("requester's view = %+v", st)
	}
	d.admin.call("GET", "/workflow/tickets/"+id, nil, 200, &st)
	if !slices.Equal(st.AllowedTransitions, []string{workflows.StepInProgress}) || st.TemporalURL == "" || st.RunID == "" {
		t.Fatalf("admin's view = %+v", st)
	}
	other.call("GET", "/workflow/tickets/"+id, nil, 404, nil)
	other.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress"}, 404, nil)

	// Rejected moves are answered at once and change nothing.
	emp.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress"}, 422, nil)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "closed"}, 409, nil)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "teleported"}, 422, nil)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", `{"to":`, 400, nil)

	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress", "note": "on it"}, 200, &st)
	if st.Step != workflows.StepInProgress {
		t.Fatalf("after the move: %+v", st)
	}
	eventually(t, 30*time.Second, "the step recorded in the helpdesk", func() bool {
		var tk ticketView
		emp.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
		return tk.Step == workflows.StepInProgress && tk.Status == workflows.StatusOpen
	})
	var board struct {
		Columns []struct {
			Step    string `json:"step"`
			Tickets []struct {
				TicketID string `json:"ticket_id"`
			} `json:"tickets"`
		} `json:"columns"`
	}
	d.agent.call("GET", "/workflow/board?category_id="+d.category, nil, 200, &board)
	onBoard := false
	for _, c := range board.Columns {
		for _, tk := range c.Tickets {
			onBoard = onBoard || (c.Step == workflows.StepInProgress && tk.TicketID == id)
		}
	}
	if !onBoard {
		t.Fatalf("ticket not in the in_progress column: %+v", board)
	}
	emp.call("GET", "/workflow/board", nil, 403, nil)

	// The agent resolves, the requester closes: the run ends.
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "resolved"}, 200, nil)
	waitForSearchAttributes(t, tc, id, d.agent.id, workflows.StatusResolved)
	emp.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "closed", "note": "thanks"}, 200, &st)
	if st.Status != workflows.StatusClosed || len(st.AllowedTransitions) != 0 {
		t.Fatalf("after closing: %+v", st)
	}
	eventually(t, 30*time.Second, "the run completed", func() bool {
		var tk ticketView
		emp.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
		return tk.Status == workflows.StatusClosed
	})
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress"}, 409, nil)

	recordHistory(t, id)
}

func TestPipeline_DuplicateTicketCreatedStartsOneRun(t *testing.T) {
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	created := testenv.Observe(t, amqpURL, "ticketflow.events", events.TicketCreated)
	id := d.open(t, emp, "VPN down")
	d.waitForAssignee(t, emp, id)
	original := awaitEvent(t, created, id)

	tc := dialTemporal(t)
	ctx := context.Background()
	wid := workflows.TicketWorkflowID(id)
	desc, err := tc.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		t.Fatal(err)
	}
	runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()

	pub := rabbitmq.NewPublisher(amqpURL, "ticketflow.events", testenv.Logger(t))
	defer pub.Close()
	// The helpdesk's event redelivered as it was, and a copy under a new
	// event ID (as a relay that lost its confirm would publish it).
	duplicates := func() {
		t.Helper()
		copied, err := events.New(original.Source, events.TicketCreated, id, original.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range []events.Event{original, copied} {
			if err := pub.Publish(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// Confirmed by the broker, so in the queue: wait until the starter
		// has settled both.
		waitForQueueEmpty(t, amqpURL, workers.StarterQueue)
	}

	// While the run is open, each duplicate finds it and leaves it alone.
	duplicates()
	assertOneRun(t, tc, wid, runID, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
	if n := deadLetters(t, amqpURL, workers.StarterQueue); n != 0 {
		t.Fatalf("the starter dead-lettered %d duplicates, want them acknowledged", n)
	}
	var st stateView
	d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &st)
	if st.AssigneeID == nil || *st.AssigneeID != d.agent.id || st.RunID != runID {
		t.Fatalf("state after duplicates = %+v, want run %s assigned to %s", st, runID, d.agent.id)
	}

	// Once it has closed, a duplicate must not start the ticket again
	// (REJECT_DUPLICATE), and is still acknowledged, not dead-lettered.
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress"}, 200, nil)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "resolved"}, 200, nil)
	emp.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "closed"}, 200, nil)
	eventually(t, 30*time.Second, "the run completed", func() bool {
		desc, err := tc.DescribeWorkflowExecution(ctx, wid, runID)
		return err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	duplicates()
	assertOneRun(t, tc, wid, runID, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	if n := deadLetters(t, amqpURL, workers.StarterQueue); n != 0 {
		t.Fatalf("the starter dead-lettered %d duplicates of a closed ticket, want them acknowledged", n)
	}
}

// assigneeSamples is how many tickets the assignment latency is measured on.
const assigneeSamples = 5

// dialTemporal returns a client of the test Temporal server, closed at
// cleanup.
func dialTemporal(t *testing.T) client.Client {
	t.Helper()
	tc, err := temporalx.Dial(context.Background(), testenv.TemporalAddress(), "default", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// countRunsWhere counts the runs, open or closed, that visibility finds
// for query.
func countRunsWhere(t *testing.T, tc client.Client, query string) int64 {
	t.Helper()
	res, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: query})
	if err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return res.GetCount()
}

// assertOneRun checks that wid's current run is still runID, in status, and
// that visibility knows exactly one run of wid (open or closed) once it
// shows runID in that status.
func assertOneRun(t *testing.T, tc client.Client, wid, runID string, status enumspb.WorkflowExecutionStatus) {
	t.Helper()
	desc, err := tc.DescribeWorkflowExecution(context.Background(), wid, "")
	if err != nil {
		t.Fatal(err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if got := info.GetExecution().GetRunId(); got != runID || info.GetStatus() != status {
		t.Fatalf("current run of %s = %s (%s), want %s (%s)", wid, got, info.GetStatus(), runID, status)
	}
	shown := fmt.Sprintf("WorkflowId = '%s' AND RunId = '%s' AND ExecutionStatus = '%s'", wid, runID, statusName(status))
	eventually(t, 30*time.Second, "visibility showing the run "+statusName(status), func() bool {
		return countRunsWhere(t, tc, shown) == 1
	})
	if n := countRunsWhere(t, tc, fmt.Sprintf("WorkflowId = '%s'", wid)); n != 1 {
		t.Fatalf("visibility has %d runs of %s, want 1", n, wid)
	}
}

// statusName is a status as visibility queries name it.
func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "Running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "Completed"
	}
	return s.String()
}

// waitForSearchAttributes waits until visibility finds the ticket's run
// by the search attributes the workflow upserts.
func waitForSearchAttributes(t *testing.T, tc client.Client, ticketID, assigneeID, status string) {
	t.Helper()
	q := fmt.Sprintf("TicketId = '%s' AND AssigneeId = '%s' AND TicketStatus = '%s' AND TicketPriority = 'normal'", ticketID, assigneeID, status)
	eventually(t, 30*time.Second, "visibility finding "+q, func() bool {
		return countRunsWhere(t, tc, q) == 1
	})
}

// awaitEvent returns the first event of deliveries whose subject is
// subject.
func awaitEvent(t *testing.T, deliveries <-chan amqp.Delivery, subject string) events.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-deliveries:
			e, err := events.Parse(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			if e.Subject == subject {
				return e
			}
		case <-deadline:
			t.Fatalf("no event about %s within 30s", subject)
		}
	}
}

// amqpVHost is the virtual host of an AMQP URL.
func amqpVHost(t *testing.T, amqpURL string) string {
	t.Helper()
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// queueMessages returns how many messages queue holds, ready or delivered
// and not yet acknowledged (rabbitmqctl: AMQP's passive declare counts
// only the ready ones).
func queueMessages(t *testing.T, amqpURL, queue string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "-q", "list_queues", "-p", amqpVHost(t, amqpURL), "name", "messages").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_queues: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == queue {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("rabbitmqctl list_queues: %q", line)
			}
			return n
		}
	}
	t.Fatalf("queue %s not listed:\n%s", queue, out)
	return 0
}

// waitForQueueEmpty waits until every message of queue has been settled.
func waitForQueueEmpty(t *testing.T, amqpURL, queue string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := queueMessages(t, amqpURL, queue)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s still holds %d messages after 60s", queue, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// deadLetters returns how many messages queue's dead-letter queue holds.
func deadLetters(t *testing.T, amqpURL, queue string) int {
	t.Helper()
	ch, closeCh := testenv.Channel(t, amqpURL)
	defer closeCh()
	q, err := ch.QueueDeclarePassive(queue+rabbitmq.DeadQueueSuffix, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("dead-letter queue of %s: %v", queue, err)
	}
	return q.Messages
}

func TestPipeline_RunSurvivesAWorkerRestart(t *testing.T) {
	amqpURL := devEnv(t)
	run(t, "migrate")
	base, stop := launchDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	id := d.open(t, emp, "Monitor flickers")
	d.waitForAssignee(t, emp, id)

	// The whole process, worker included, goes away mid-run...
	stop()
	// ...and a new one, with an empty workflow cache, takes over.
	base2, stop2 := launchDev(t)
	defer stop2()
	agent := &user{t: t, base: base2, token: d.agent.token, id: d.agent.id}
	var st stateView
	agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress"}, 200, &st)
	if st.Step != workflows.StepInProgress || st.AssigneeID == nil || *st.AssigneeID != d.agent.id {
		t.Fatalf("after the restart: %+v", st)
	}
	// A second ticket opened after the restart is assigned too.
	emp2 := &user{t: t, base: base2, token: emp.token, id: emp.id}
	id2 := d.open(t, emp2, "Keyboard sticky")
	d.waitForAssignee(t, emp2, id2)
}

// recordHistory writes the run's history under workers/testdata/histories
// when RECORD_HISTORIES is set, for the replay test.
func recordHistory(t *testing.T, ticketID string) {
	if os.Getenv("RECORD_HISTORIES") == "" {
		return
	}
	ctx := context.Background()
	tc, err := temporalx.Dial(ctx, testenv.TemporalAddress(), "default", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	path := filepath.Join("..", "..", "workers", "testdata", "histories", fmt.Sprintf("%s.json", t.Name()))
	if err := workers.RecordHistory(ctx, tc, workflows.TicketWorkflowID(ticketID), "", path); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s", path)
}

func TestPipeline_CommentsDriveTheWorkflow(t *testing.T) {
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	id := d.open(t, emp, "Mail bounces")
	d.waitForAssignee(t, emp, id)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress"}, 200, nil)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "waiting_on_requester"}, 200, nil)

	pub := rabbitmq.NewPublisher(amqpURL, "ticketflow.events", testenv.Logger(t))
	defer pub.Close()
	comment := func(author *user, role string) events.Event {
		e, err := events.New("/messaging", events.CommentCreated, id, map[string]any{
			"comment_id": testenv.Name("c"), "ticket_id": id, "author_id": author.id, "author_role": role,
			"internal": false, "body": "hello", "created_at": time.Now().UTC(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	type view struct {
		Step string `json:"step"`
		SLA  struct {
			FirstResponse struct {
				Met bool `json:"met"`
			} `json:"first_response"`
		} `json:"sla"`
		History []json.RawMessage `json:"history"`
	}
	if err := pub.Publish(context.Background(), comment(d.agent, "agent")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the agent's reply meeting the first response", func() bool {
		var v view
		d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &v)
		return v.SLA.FirstResponse.Met
	})

	reply := comment(emp, "employee")
	for range 2 { // a redelivered event counts once
		if err := pub.Publish(context.Background(), reply); err != nil {
			t.Fatal(err)
		}
	}
	var v view
	eventually(t, 30*time.Second, "the requester's reply moving the ticket back to work", func() bool {
		d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &v)
		return v.Step == workflows.StepInProgress
	})
	time.Sleep(500 * time.Millisecond)
	d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &v)
	// triage, in_progress, waiting_on_requester, back to in_progress: one reply, one move.
	if len(v.History) != 4 || v.Step != workflows.StepInProgress {
		t.Fatalf("history has %d transitions, step %s", len(v.History), v.Step)
	}
}
