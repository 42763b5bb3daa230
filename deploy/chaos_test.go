//go:build chaos

package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	tclient "go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workers"
	"github.com/ticketflow/ticketflow/workflows"
)

// TestChaos is `make chaos`: the whole system — two replicas of each HTTP
// service behind nginx, one worker, a PostgreSQL, a RabbitMQ and a Temporal
// dev server (SQLite file) of the test's own — under a load of ticket
// openings, comments and transitions, while it kills and restarts the
// worker, restarts RabbitMQ, PostgreSQL and the Temporal dev server, and
// kills one replica of every HTTP service. Afterwards it checks with
// queries, not logs, that nothing the API accepted was lost or done twice,
// and reports the counts and how long each fault took to recover from.
//
// Settings: CHAOS_TICKETS (default 2000) tickets at CHAOS_RATE (default 6)
// a second; CHAOS_REPORT, a file for the report in Markdown.
func TestChaos(t *testing.T) {
	nginx := nginxBinary(t)
	root := repoRoot(t)
	dir := sharedTempDir(t)
	keepLogs(t, dir, os.Getenv("CHAOS_LOGS"))
	tickets := envInt(t, "CHAOS_TICKETS", 2000)
	rate := float64(envInt(t, "CHAOS_RATE", 6))
	began := time.Now()

	bin := buildTicketflow(t, root, dir)
	pg := startPostgres(t, dir)
	rmq := startRabbit(t, dir)
	tmp := startTemporal(t, root, dir)
	t.Logf("private PostgreSQL :%d, RabbitMQ :%d, Temporal :%d ready after %s",
		pg.port, rmq.port, tmp.port, time.Since(began).Round(time.Millisecond))
	run(t, os.Environ(), "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port), "-U", "postgres", "-qc", "CREATE DATABASE ticketflow")

	ports := map[string][]int{}
	upstreams := map[string][]string{}
	for _, name := range httpServices {
		ports[name] = []int{freePort(t), freePort(t)}
		for _, p := range ports[name] {
			upstreams[name] = append(upstreams[name], fmt.Sprintf("127.0.0.1:%d", p))
		}
	}
	g := startGateway(t, root, dir, nginx, gatewayConfig{upstreams: upstreams, temporalUI: "127.0.0.1:9", webRoot: webApp(t, dir)})
	g.client.Timeout = 30 * time.Second
	g.client.Transport.(*http.Transport).MaxIdleConnsPerHost = 200

	env := chaosEnv(t, dir, g, pg, rmq, tmp)
	runCLI(t, dir, env, bin, "migrate")
	creds := runCLI(t, dir, env, bin, "admin", "service-account", "chaos")
	env = append(env, strings.Split(strings.TrimSpace(creds), "\n")...)

	sys := &system{t: t, dir: dir, bin: bin, env: env, ports: ports, procs: map[string][]*proc{}}
	for _, name := range httpServices {
		for i := range ports[name] {
			sys.startReplica(name, i)
		}
	}
	sys.workerPort = freePort(t)
	sys.startWorker()
	for _, name := range httpServices {
		for i, p := range sys.procs[name] {
			p.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[name][i]), 60*time.Second)
		}
	}
	sys.procs["worker"][0].waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", sys.workerPort), 60*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			for _, ps := range sys.procs {
				for _, p := range ps {
					t.Logf("--- %s:\n%s", p.name, p.tail())
				}
			}
		}
	})
	queues := []string{helpdesk.UsersQueue, "workflow.users", workers.StarterQueue, workers.CommentQueue,
		workers.PriorityQueue, workflow.WebhooksQueue, messaging.TicketEventsQueue, messaging.UsersQueue,
		notification.EventsQueue}
	waitForQueues(t, rmq.url(), queues...)

	// The desk: an admin, four agents in one team handling one category,
	// twenty employees, and one more who only opens probe tickets.
	runCLI(t, dir, env, bin, "admin", "create-user", "--email", "admin@example.com", "--password", "admin password 123", "--name", "Admin", "--role", "admin")
	var agents []*client
	for i := range 4 {
		email := fmt.Sprintf("agent%d@example.com", i)
		runCLI(t, dir, env, bin, "admin", "create-user", "--email", email, "--password", "agent password 123", "--name", fmt.Sprintf("Agent %d", i), "--role", "agent")
		agents = append(agents, signIn(t, g, email, "agent password 123"))
	}
	admin := signIn(t, g, "admin@example.com", "admin password 123")
	category := setUpTeam(t, admin, agents)
	anon := &client{t: t, g: g}
	var emps []*client
	for i := range 21 {
		email := fmt.Sprintf("emp%d@example.com", i)
		anon.call("POST", "/auth/register", map[string]string{"email": email, "password": "employee password 123", "name": fmt.Sprintf("Employee %d", i)}, 201, nil)
		emps = append(emps, signIn(t, g, email, "employee password 123"))
	}
	prober := &prober{g: g, emp: emps[20], category: category}
	emps = emps[:20]

	// Deliberate poison: events that no consumer can read. They, and
	// nothing else, must end up dead-lettered.
	poisoned := poison(t, rmq.url(), 3)
	deadBefore := eventually2(t, 30*time.Second, "the poison dead-lettered", func() (map[string]int, bool) {
		d := deadCounts(t, rmq.url(), queues)
		// Every queue bound to ticket.created dead-letters its copy.
		return d, d[workers.StarterQueue+".dead"] == poisoned && d[notification.EventsQueue+".dead"] == poisoned &&
			d[workflow.WebhooksQueue+".dead"] == poisoned
	})

	// The load, open-loop, and the faults beside it.
	l := &ledger{tickets: map[string]bool{}, comments: map[string]string{}, transitions: map[string]bool{}, replies: map[string]bool{}, errors: map[string]int{}}
	load := &loadRun{g: g, emps: emps, agents: agents, category: category, l: l}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loadDone := make(chan struct{})
	loadDuration := time.Duration(float64(tickets) / rate * float64(time.Second))
	t.Logf("load: %d tickets at %.0f/s over %s", tickets, rate, loadDuration)
	load.started = time.Now()
	l.started = load.started
	go func() {
		defer close(loadDone)
		load.run(ctx, tickets, rate)
	}()

	gap := loadDuration / 7
	faults := []fault{
		{name: "kill -9 the worker, restart it 5 s later", do: func() time.Time {
			sys.procs["worker"][0].stop(syscall.SIGKILL)
			time.Sleep(5 * time.Second)
			sys.startWorker()
			return time.Now()
		}},
		{name: "restart RabbitMQ (down 5 s)", do: func() time.Time {
			if err := rmq.stop(); err != nil {
				t.Error(err)
			}
			time.Sleep(5 * time.Second)
			if err := rmq.start(); err != nil {
				t.Fatal(err)
			}
			return time.Now()
		}},
		{name: "restart PostgreSQL (crash stop, down 5 s)", do: func() time.Time {
			if err := pg.stop("immediate"); err != nil {
				t.Error(err)
			}
			time.Sleep(5 * time.Second)
			if err := pg.start(); err != nil {
				t.Fatal(err)
			}
			return time.Now()
		}},
		{name: "restart the Temporal dev server (SIGTERM, down 5 s, same SQLite file)", do: func() time.Time {
			tmp.stop()
			time.Sleep(5 * time.Second)
			if err := tmp.start(); err != nil {
				t.Fatal(err)
			}
			return time.Now()
		}},
		{name: "kill -9 one replica of each HTTP service", do: func() time.Time {
			for _, name := range httpServices {
				sys.procs[name][0].stop(syscall.SIGKILL)
			}
			return time.Now()
		}},
	}
	var outcomes []faultOutcome
	for _, f := range faults {
		select {
		case <-time.After(gap):
		case <-loadDone:
		}
		before := l.errorCount()
		o := faultOutcome{name: f.name, at: time.Since(load.started)}
		start := time.Now()
		back := f.do()
		o.down = back.Sub(start)
		o.recovery, o.probeErr = prober.firstSuccess(back, 3*time.Minute)
		o.errors = l.errorCount() - before
		outcomes = append(outcomes, o)
		t.Logf("fault %q at %s: down %s, recovered %s after, %d request errors meanwhile %v",
			f.name, o.at.Round(time.Second), o.down.Round(time.Millisecond), o.recovery.Round(time.Millisecond), o.errors, o.probeErr)
	}
	<-loadDone
	loadEnded := time.Since(began)

	// Everything accepted must reach its end: every ticket assigned, every
	// accepted transition recorded, nothing waiting in an outbox or a queue.
	db, err := pgx.Connect(context.Background(), pg.url("ticketflow"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	drainStart := time.Now()
	var pending drainState
	drained := waitUntil(5*time.Minute, func() bool {
		pending = drainCheck(t, db, rmq.url(), queues, l)
		return pending.done()
	})
	drainTime := time.Since(drainStart)
	if !drained {
		t.Errorf("not drained within 5 minutes: %+v", pending)
	}

	rep := verify(t, db, tmp, rmq.url(), queues, l, deadBefore, filepath.Join(dir, "mail"))
	rep.tickets, rep.rate, rep.loadDuration, rep.drain, rep.faults = tickets, rate, loadDuration, drainTime, outcomes
	rep.probes = prober.count()
	text := rep.markdown()
	t.Logf("chaos report (load ended %s after the start):\n%s", loadEnded.Round(time.Second), text)
	if path := os.Getenv("CHAOS_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Error(err)
		}
	}
	if rep.lost() > 0 || rep.duplicated() > 0 {
		t.Errorf("lost %d, duplicated %d", rep.lost(), rep.duplicated())
	}
	for _, o := range outcomes {
		if o.probeErr != nil {
			t.Errorf("%s: no recovery: %v", o.name, o.probeErr)
		}
	}
}

// keepLogs copies the logs of every process of the run (ticketflow,
// nginx, the private servers) into to, when set, at the end of the test.
func keepLogs(t *testing.T, dir, to string) {
	t.Helper()
	if to == "" {
		return
	}
	t.Cleanup(func() {
		_ = os.RemoveAll(to)
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".log") || strings.HasSuffix(path, ".out")) {
				return nil
			}
			rel, _ := filepath.Rel(dir, path)
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			target := filepath.Join(to, strings.ReplaceAll(rel, string(filepath.Separator), "_"))
			if err := os.MkdirAll(to, 0o755); err == nil {
				_ = os.WriteFile(target, b, 0o644)
			}
			return nil
		})
		t.Logf("logs kept in %s", to)
	})
}

func envInt(t *testing.T, key string, def int) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}

// chaosEnv is the environment of every ticketflow process: the private
// servers, a Redis prefix of the run's own, and the service URLs of the
// gateway's loopback listener, as in production.
func chaosEnv(t *testing.T, dir string, g *gateway, pg *pgServer, rmq *rabbitNode, tmp *temporalServer) []string {
	t.Helper()
	_, prefix := testenv.Redis(t)
	for _, d := range []string{"attachments", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	internal := "http://" + g.internal
	public := "https://" + g.https
	return append(os.Environ(),
		"TICKETFLOW_ENV=production",
		"LOG_FORMAT=text",
		// Info: the logs (kept with CHAOS_LOGS) show every reconnection.
		"LOG_LEVEL=info",
		"DATABASE_URL="+pg.url("ticketflow"),
		"DATABASE_MAX_CONNS=4",
		"AMQP_URL="+rmq.url(),
		"REDIS_URL="+testenv.RedisURL(),
		"REDIS_PREFIX="+prefix,
		"TEMPORAL_ADDRESS="+tmp.addr(),
		"TEMPORAL_TASK_QUEUE=chaos",
		"CURSOR_SECRET="+testenv.Name("cursor"),
		"SURVEY_SECRET="+testenv.Name("survey"),
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
}

// system is the ticketflow processes of the run.
type system struct {
	t          *testing.T
	dir, bin   string
	env        []string
	ports      map[string][]int
	workerPort int
	procs      map[string][]*proc
	mu         sync.Mutex
}

func (s *system) startReplica(name string, i int) {
	penv := append(slices.Clone(s.env), fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", s.ports[name][i]))
	p := start(s.t, s.dir, fmt.Sprintf("%s-%d", name, i), penv, s.bin, "serve", name)
	s.mu.Lock()
	s.procs[name] = append(s.procs[name], p)
	s.mu.Unlock()
}

// startWorker starts the (only) worker, replacing a dead one.
func (s *system) startWorker() {
	penv := append(slices.Clone(s.env), fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", s.workerPort))
	s.mu.Lock()
	n := len(s.procs["worker"])
	s.mu.Unlock()
	p := start(s.t, s.dir, fmt.Sprintf("worker-%d", n), penv, s.bin, "worker")
	s.mu.Lock()
	s.procs["worker"] = append([]*proc{p}, s.procs["worker"]...)
	s.mu.Unlock()
}

// setUpTeam makes a team of the agents, available, and a category it
// handles with the default process.
func setUpTeam(t *testing.T, admin *client, agents []*client) string {
	t.Helper()
	var cat, tm struct {
		ID string `json:"id"`
	}
	admin.call("POST", "/helpdesk/categories", map[string]string{"name": "Hardware", "description": "Laptops, printers"}, 201, &cat)
	admin.call("POST", "/workflow/teams", map[string]string{"name": "Desk"}, 201, &tm)
	for _, a := range agents {
		eventually(t, 20*time.Second, "the agent in the workflow directory", func() bool {
			status, raw := admin.try("GET", "/workflow/agents", nil, nil)
			return status == 200 && strings.Contains(string(raw), a.id)
		})
		admin.call("PUT", "/workflow/teams/"+tm.ID+"/members/"+a.id, map[string]bool{"available": true}, 201, nil)
	}
	var def map[string]any
	admin.call("GET", "/workflow/definitions/"+cat.ID, nil, 200, &def)
	def["team_id"] = tm.ID
	admin.call("PUT", "/workflow/definitions/"+cat.ID, def, 200, nil)
	return cat.ID
}

// poison publishes n messages that are not events, with the routing key
// of ticket.created, and returns n.
func poison(t *testing.T, url string, n int) int {
	t.Helper()
	ch, closeCh := testenv.Channel(t, url)
	defer closeCh()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		conf, err := ch.PublishWithDeferredConfirm("ticketflow.events", "ticket.created", true, false, amqp.Publishing{
			ContentType: "application/json",
			MessageId:   fmt.Sprintf("chaos-poison-%d", i),
			Headers:     amqp.Table{"x-chaos-poison": true},
			Body:        []byte(`{"chaos":"poison, not a CloudEvent"`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !conf.Wait() {
			t.Fatal("poison message not confirmed")
		}
	}
	return n
}

// deadCounts returns how many messages each queue's dead-letter queue holds.
func deadCounts(t *testing.T, url string, queues []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for q, n := range queueDepths(t, url, queues, ".dead") {
		out[q] = n
	}
	return out
}

// queueDepths returns the ready messages of each queue+suffix; a queue that
// does not exist counts as -1.
func queueDepths(t *testing.T, url string, queues []string, suffix string) map[string]int {
	t.Helper()
	out := map[string]int{}
	conn, err := amqp.Dial(url)
	if err != nil {
		for _, q := range queues {
			out[q+suffix] = -1
		}
		return out
	}
	defer conn.Close()
	for _, q := range queues {
		ch, err := conn.Channel()
		if err != nil {
			out[q+suffix] = -1
			continue
		}
		info, err := ch.QueueDeclarePassive(q+suffix, true, false, false, false, nil)
		if err != nil {
			out[q+suffix] = -1
			continue
		}
		out[q+suffix] = info.Messages
		_ = ch.Close()
	}
	return out
}

// eventually2 retries check until it reports true and returns its value.
func eventually2[T any](t *testing.T, wait time.Duration, what string, check func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		v, ok := check()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last %v)", what, wait, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitUntil(wait time.Duration, check func() bool) bool {
	deadline := time.Now().Add(wait)
	for !check() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Second)
	}
	return true
}

// ledger is what the API accepted during the load.
type ledger struct {
	mu          sync.Mutex
	tickets     map[string]bool   // ticket id → accepted (201)
	comments    map[string]string // comment id → ticket id (201)
	transitions map[string]bool   // ticket id → moved to in_progress (200)
	replies     map[string]bool   // ticket id → its agent's public reply accepted (201)
	errors      map[string]int    // refused or failed requests by kind
	nErrors     atomic.Int64
	started     time.Time
	timeline    map[int]int // errors by 10-second window of the load
}

func (l *ledger) fail(kind string) {
	l.mu.Lock()
	l.errors[kind]++
	if l.timeline == nil {
		l.timeline = map[int]int{}
	}
	l.timeline[int(time.Since(l.started)/(10*time.Second))]++
	l.mu.Unlock()
	l.nErrors.Add(1)
}

func (l *ledger) errorCount() int64 { return l.nErrors.Load() }

// loadRun opens tickets at a rate; after each opening the requester adds
// a comment, and for every third ticket an agent, once the ticket is
// assigned, moves it to in_progress and replies.
type loadRun struct {
	g        *gateway
	emps     []*client
	agents   []*client
	category string
	l        *ledger
	started  time.Time
	wg       sync.WaitGroup
}

// run schedules n arrivals at rate from r.started on.
func (r *loadRun) run(ctx context.Context, n int, rate float64) {
	for i := range n {
		due := r.started.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.one(ctx, i)
		}()
	}
	r.wg.Wait()
}

func (r *loadRun) one(ctx context.Context, i int) {
	emp := r.emps[i%len(r.emps)]
	var tk struct {
		ID string `json:"id"`
	}
	if !r.do(emp, "open", "POST", "/helpdesk/tickets", map[string]string{
		"title": fmt.Sprintf("Chaos ticket %d", i), "description": "Opened under faults.", "category_id": r.category, "priority": "normal",
	}, 201, &tk) {
		return
	}
	r.l.mu.Lock()
	r.l.tickets[tk.ID] = true
	r.l.mu.Unlock()
	r.comment(emp, "comment", tk.ID, fmt.Sprintf("More details on ticket %d.", i))
	if i%3 != 0 {
		return
	}
	// An agent takes it up once it is assigned.
	var assignee string
	deadline := time.Now().Add(3 * time.Minute)
	for assignee == "" && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Second)
		var got struct {
			AssigneeID *string `json:"assignee_id"`
		}
		if status, _ := tryQuiet(emp, "GET", "/helpdesk/tickets/"+tk.ID, nil, &got); status == 200 && got.AssigneeID != nil {
			assignee = *got.AssigneeID
		}
	}
	if assignee == "" {
		r.l.fail("not assigned within 3 min (load)")
		return
	}
	agent := r.agents[0]
	for _, a := range r.agents {
		if a.id == assignee {
			agent = a
		}
	}
	if r.do(agent, "transition", "POST", "/workflow/tickets/"+tk.ID+"/transitions", map[string]string{"to": "in_progress"}, 200, nil) {
		r.l.mu.Lock()
		r.l.transitions[tk.ID] = true
		r.l.mu.Unlock()
	}
	if r.comment(agent, "reply", tk.ID, fmt.Sprintf("On it (ticket %d).", i)) {
		r.l.mu.Lock()
		r.l.replies[tk.ID] = true
		r.l.mu.Unlock()
	}
}

func (r *loadRun) comment(c *client, kind, ticket, body string) bool {
	var cm struct {
		ID string `json:"id"`
	}
	if !r.do(c, kind, "POST", "/messaging/tickets/"+ticket+"/comments", map[string]any{"body": body, "internal": false}, 201, &cm) {
		return false
	}
	r.l.mu.Lock()
	r.l.comments[cm.ID] = ticket
	r.l.mu.Unlock()
	return true
}

// do sends one request; anything but want counts as an error of kind.
func (r *loadRun) do(c *client, kind, method, path string, body any, want int, out any) bool {
	status, err := tryQuiet(c, method, path, body, out)
	if err != nil {
		r.l.fail(kind + ": " + errKind(err))
		return false
	}
	if status != want {
		r.l.fail(fmt.Sprintf("%s: %d", kind, status))
		return false
	}
	return true
}

func errKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout"
	case strings.Contains(err.Error(), "EOF"), strings.Contains(err.Error(), "reset"):
		return "connection lost"
	default:
		return "transport"
	}
}

// tryQuiet is client.try without failing the test on transport errors,
// which faults cause.
func tryQuiet(c *client, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.g.url(path), rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.g.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, err
		}
	}
	return res.StatusCode, nil
}

// prober measures recovery: how long after a fault a ticket opened through
// the API reaches its agent again.
type prober struct {
	g        *gateway
	emp      *client
	category string
	n        atomic.Int64
	mu       sync.Mutex
	ids      []string
}

func (p *prober) count() int { return int(p.n.Load()) }

// firstSuccess opens probe tickets from since on, one at a time, and
// returns how long after since the first one was assigned.
func (p *prober) firstSuccess(since time.Time, wait time.Duration) (time.Duration, error) {
	deadline := since.Add(wait)
	var last error
	for time.Now().Before(deadline) {
		if err := p.once(deadline); err != nil {
			last = err
			time.Sleep(250 * time.Millisecond)
			continue
		}
		return time.Since(since), nil
	}
	return time.Since(since), fmt.Errorf("no probe ticket reached an agent within %s: %v", wait, last)
}

func (p *prober) once(deadline time.Time) error {
	var tk struct {
		ID string `json:"id"`
	}
	status, err := tryQuiet(p.emp, "POST", "/helpdesk/tickets", map[string]string{
		"title": "Probe", "description": "Is it back?", "category_id": p.category, "priority": "normal",
	}, &tk)
	if err != nil {
		return err
	}
	if status != 201 {
		return fmt.Errorf("open: %d", status)
	}
	p.n.Add(1)
	p.mu.Lock()
	p.ids = append(p.ids, tk.ID)
	p.mu.Unlock()
	for time.Now().Before(deadline) {
		var got struct {
			AssigneeID *string `json:"assignee_id"`
		}
		if status, _ := tryQuiet(p.emp, "GET", "/helpdesk/tickets/"+tk.ID, nil, &got); status == 200 && got.AssigneeID != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("probe %s not assigned", tk.ID)
}

type fault struct {
	name string
	do   func() time.Time // injects the fault; returns when the part is back
}

type faultOutcome struct {
	name     string
	at       time.Duration // into the load
	down     time.Duration // from the fault to the part being back
	recovery time.Duration // from the part being back to a new ticket assigned
	errors   int64         // request errors of the load meanwhile
	probeErr error
}

// drainState is what still waits for processing.
type drainState struct {
	unassigned, transitionsPending int
	outbox                         map[string]int
	queued                         map[string]int
	mailQueued                     int
}

func (d drainState) done() bool {
	if d.unassigned != 0 || d.transitionsPending != 0 || d.mailQueued != 0 {
		return false
	}
	for _, n := range d.outbox {
		if n != 0 {
			return false
		}
	}
	for _, n := range d.queued {
		if n != 0 {
			return false
		}
	}
	return true
}

var schemas = []string{"auth", "helpdesk", "workflow", "messaging", "notification"}

func drainCheck(t *testing.T, db *pgx.Conn, amqpURL string, queues []string, l *ledger) drainState {
	t.Helper()
	ctx := context.Background()
	d := drainState{outbox: map[string]int{}, queued: queueDepths(t, amqpURL, queues, "")}
	_ = db.QueryRow(ctx, `SELECT count(*) FROM helpdesk.tickets WHERE assignee_id IS NULL`).Scan(&d.unassigned)
	l.mu.Lock()
	moved := make([]string, 0, len(l.transitions))
	for id := range l.transitions {
		moved = append(moved, id)
	}
	l.mu.Unlock()
	_ = db.QueryRow(ctx, `SELECT count(*) FROM helpdesk.tickets WHERE id = ANY($1::uuid[]) AND step <> 'in_progress'`, moved).Scan(&d.transitionsPending)
	for _, s := range schemas {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM `+s+`.outbox WHERE published_at IS NULL`).Scan(&n); err == nil {
			d.outbox[s] = n
		}
	}
	_ = db.QueryRow(ctx, `SELECT count(*) FROM notification.email_deliveries WHERE status = 'queued'`).Scan(&d.mailQueued)
	return d
}

// chaosReport is the outcome of the run, from queries.
type chaosReport struct {
	tickets      int
	rate         float64
	loadDuration time.Duration
	drain        time.Duration
	faults       []faultOutcome
	probes       int

	accepted, acceptedComments, acceptedTransitions int
	errors                                          map[string]int
	timeline                                        map[int]int
	ticketRows                                      int
	lostTickets, lostComments, lostTransitions      int
	acceptedReplies, repliesUnseen                  int
	noWorkflow, duplicateRuns, unassigned           int
	runs                                            int
	notifications, duplicateNotifications           int
	noticesMissing, noticesExtra                    int
	mails, duplicateMails, mailsSentTwice           int
	unpublished, undelivered                        int
	dead                                            map[string]int
	deadBefore                                      map[string]int
	deadUnexpected                                  int
}

func (r *chaosReport) lost() int {
	return r.lostTickets + r.lostComments + r.lostTransitions + r.repliesUnseen + r.noWorkflow + r.unassigned + r.unpublished + r.undelivered + r.deadUnexpected + r.noticesMissing
}

func (r *chaosReport) duplicated() int {
	return r.duplicateRuns + r.duplicateNotifications + r.duplicateMails + r.mailsSentTwice + r.noticesExtra
}

func verify(t *testing.T, db *pgx.Conn, tmp *temporalServer, amqpURL string, queues []string, l *ledger, deadBefore map[string]int, mailDir string) *chaosReport {
	t.Helper()
	ctx := context.Background()
	// The load is over: nothing writes the ledger any more. (drainCheck,
	// called below, takes its lock itself.)
	r := &chaosReport{errors: l.errors, timeline: l.timeline, deadBefore: deadBefore}
	r.accepted, r.acceptedComments, r.acceptedTransitions = len(l.tickets), len(l.comments), len(l.transitions)

	// Tickets: every accepted one is in the helpdesk, assigned.
	rows := map[string]bool{}
	res, err := db.Query(ctx, `SELECT id::text, assignee_id IS NOT NULL, step FROM helpdesk.tickets`)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]string{}
	for res.Next() {
		var id, step string
		var assigned bool
		if err := res.Scan(&id, &assigned, &step); err != nil {
			t.Fatal(err)
		}
		rows[id] = true
		steps[id] = step
		if !assigned {
			r.unassigned++
		}
	}
	res.Close()
	r.ticketRows = len(rows)
	for id := range l.tickets {
		if !rows[id] {
			r.lostTickets++
		}
	}
	for id := range l.transitions {
		if steps[id] != "in_progress" {
			r.lostTransitions++
		}
	}

	// Comments: every accepted one is stored, once.
	stored := map[string]bool{}
	res, err = db.Query(ctx, `SELECT id::text FROM messaging.comments`)
	if err != nil {
		t.Fatal(err)
	}
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	res.Close()
	for id := range l.comments {
		if !stored[id] {
			r.lostComments++
		}
	}

	// Workflow runs: exactly one (chain of) run per ticket row.
	c, err := tclient.Dial(tclient.Options{HostPort: tmp.addr(), Namespace: "default", Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	perTicket := map[string]int{}
	var token []byte
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", PageSize: 1000, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Executions {
			r.runs++
			id, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), "ticket-")
			if !ok || e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				continue
			}
			perTicket[id]++
		}
		token = page.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	// Comments reached the workflows: an agent's public reply meets the
	// first-response SLA, which only its comment.created signal can do.
	for id := range l.replies {
		r.acceptedReplies++
		v, err := c.QueryWorkflow(ctx, "ticket-"+id, "", workflows.QueryState, workflows.StateQuery{Actor: workflows.Actor{Role: "admin"}})
		var st workflows.TicketState
		if err == nil {
			err = v.Get(&st)
		}
		if err != nil || !st.FirstResponse.Met {
			r.repliesUnseen++
		}
	}
	for id := range rows {
		switch n := perTicket[id]; {
		case n == 0:
			r.noWorkflow++
		case n > 1:
			r.duplicateRuns += n - 1
		}
	}

	// Notifications: none twice in the app, no e-mail sent twice.
	_ = db.QueryRow(ctx, `SELECT count(*) FROM notification.notifications`).Scan(&r.notifications)
	_ = db.QueryRow(ctx, `SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM notification.notifications GROUP BY event_id, user_id HAVING count(*) > 1) d`).Scan(&r.duplicateNotifications)
	_ = db.QueryRow(ctx, `SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM notification.email_attempts WHERE outcome = 'sent' GROUP BY delivery_id HAVING count(*) > 1) d`).Scan(&r.mailsSentTwice)
	r.mails, r.duplicateMails = countMails(t, mailDir)
	r.noticesMissing, r.noticesExtra = checkTicketNotices(t, db, l)

	// Nothing unprocessed: outboxes published, queues empty, mail sent.
	d := drainCheck(t, db, amqpURL, queues, l)
	for _, n := range d.outbox {
		r.unpublished += n
	}
	for _, n := range d.queued {
		if n > 0 {
			r.undelivered += n
		}
	}
	r.undelivered += d.mailQueued

	// Dead letters: only the poison.
	r.dead = deadCounts(t, amqpURL, queues)
	for q, n := range r.dead {
		if n > deadBefore[q] {
			r.deadUnexpected += n - deadBefore[q]
		}
	}
	return r
}

// checkTicketNotices checks, for every accepted ticket, the in-app
// notifications its opening and its assignment call for (see
// api/notification/events.go): the requester gets exactly one
// ticket.created, and the ticket's assignee exactly one ticket.assigned
// (the load never reassigns; an escalation would give the new assignee
// their own), wherever the notification service's user directory knows
// that recipient as active — it notifies nobody else. It returns the
// notifications missing and those beyond one.
func checkTicketNotices(t *testing.T, db *pgx.Conn, l *ledger) (missing, extra int) {
	t.Helper()
	ids := make([]string, 0, len(l.tickets))
	for id := range l.tickets {
		ids = append(ids, id)
	}
	rows, err := db.Query(context.Background(), `
		SELECT t.id::text,
		       (SELECT count(*) FROM notification.notifications n
		         WHERE n.ticket_id = t.id AND n.kind = 'ticket.created' AND n.user_id = t.requester_id),
		       EXISTS (SELECT 1 FROM notification.users u WHERE u.id = t.requester_id AND u.active),
		       (SELECT count(*) FROM notification.notifications n
		         WHERE n.ticket_id = t.id AND n.kind = 'ticket.assigned' AND n.user_id = t.assignee_id),
		       EXISTS (SELECT 1 FROM notification.users u WHERE u.id = t.assignee_id AND u.active)
		FROM helpdesk.tickets t WHERE t.id = ANY($1::uuid[])`, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	check := func(n int, expected bool) {
		switch {
		case expected && n == 0:
			missing++
		case n > 1:
			extra += n - 1
		case !expected && n > 0:
			extra += n
		}
	}
	for rows.Next() {
		var (
			id                            string
			created, assigned             int
			requesterKnown, assigneeKnown bool
		)
		if err := rows.Scan(&id, &created, &requesterKnown, &assigned, &assigneeKnown); err != nil {
			t.Fatal(err)
		}
		check(created, requesterKnown)
		check(assigned, assigneeKnown)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return missing, extra
}

// countMails counts the .eml files in dir and those whose Message-ID
// another file has already.
func countMails(t *testing.T, dir string) (total, dup int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id := m.Header.Get("Message-ID")
		if seen[id] {
			dup++
		}
		seen[id] = true
	}
	return len(files), dup
}

func (r *chaosReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Load: %d tickets offered at %.0f/s over %s (each with a requester comment; every third also moved to in_progress and answered by its agent), plus %d probe tickets; drained %s after the load ended.\n\n",
		r.tickets, r.rate, r.loadDuration.Round(time.Second), r.probes, r.drain.Round(time.Second))
	b.WriteString("| fault | at | down | recovery (back → new ticket assigned) | request errors meanwhile |\n| --- | --- | --- | --- | --- |\n")
	for _, f := range r.faults {
		rec := f.recovery.Round(10 * time.Millisecond).String()
		if f.probeErr != nil {
			rec = "none: " + f.probeErr.Error()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", f.name, f.at.Round(time.Second), f.down.Round(10*time.Millisecond), rec, f.errors)
	}
	b.WriteString("\n| count | value |\n| --- | --- |\n")
	rows := []struct {
		k string
		v int
	}{
		{"tickets accepted (201)", r.accepted},
		{"ticket rows in the helpdesk (accepted + probes + answers lost in a fault)", r.ticketRows},
		{"comments accepted", r.acceptedComments},
		{"transitions accepted", r.acceptedTransitions},
		{"workflow executions in Temporal", r.runs},
		{"in-app notifications", r.notifications},
		{"e-mails written", r.mails},
		{"**lost** tickets", r.lostTickets},
		{"**lost** comments", r.lostComments},
		{"**lost** transitions (step not in_progress)", r.lostTransitions},
		{"agent replies accepted", r.acceptedReplies},
		{"**lost** replies (first response not met in the workflow)", r.repliesUnseen},
		{"tickets without a workflow run", r.noWorkflow},
		{"tickets without an assignee", r.unassigned},
		{"**duplicated** workflow runs", r.duplicateRuns},
		{"**duplicated** in-app notifications", r.duplicateNotifications},
		{"**missing** ticket.created / ticket.assigned notifications (one each per accepted ticket)", r.noticesMissing},
		{"ticket.created / ticket.assigned notifications beyond one per accepted ticket", r.noticesExtra},
		{"**duplicated** e-mails (same Message-ID twice)", r.duplicateMails},
		{"e-mail deliveries sent more than once", r.mailsSentTwice},
		{"events unpublished in an outbox", r.unpublished},
		{"messages waiting in a queue or e-mails queued", r.undelivered},
		{"dead letters beyond the deliberate poison", r.deadUnexpected},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %d |\n", row.k, row.v)
	}
	var deadQ []string
	for q, n := range r.dead {
		if n > 0 {
			deadQ = append(deadQ, fmt.Sprintf("%s %d (poison %d)", q, n, r.deadBefore[q]))
		}
	}
	sort.Strings(deadQ)
	fmt.Fprintf(&b, "\nDead-letter queues: %s.\n", strings.Join(deadQ, ", "))
	var errs []string
	for k, n := range r.errors {
		errs = append(errs, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(errs)
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	fmt.Fprintf(&b, "Requests refused or failed during the load (not accepted, so not counted as lost): %s.\n", strings.Join(errs, ", "))
	var windows []int
	for w := range r.timeline {
		windows = append(windows, w)
	}
	sort.Ints(windows)
	var tl []string
	for _, w := range windows {
		tl = append(tl, fmt.Sprintf("%ds–%ds: %d", w*10, w*10+10, r.timeline[w]))
	}
	if len(tl) > 0 {
		fmt.Fprintf(&b, "When (seconds into the load): %s.\n", strings.Join(tl, "; "))
	}
	fmt.Fprintf(&b, "\nLost: %d. Duplicated: %d.\n", r.lost(), r.duplicated())
	return b.String()
}
