package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// devEnv points the configuration at a fresh database, vhost, Redis
// prefix and Temporal task queue, and returns the AMQP URL.
func devEnv(t *testing.T) string {
	t.Helper()
	amqpURL := testenv.VHost(t)
	t.Setenv("DATABASE_URL", testenv.Database(t))
	t.Setenv("DATABASE_MAX_CONNS", "4")
	t.Setenv("AMQP_URL", amqpURL)
	t.Setenv("REDIS_URL", testenv.RedisURL())
	t.Setenv("REDIS_PREFIX", testenv.Name("t")+":")
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress())
	t.Setenv("TEMPORAL_TASK_QUEUE", testenv.Name("tq"))
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("LOG_LEVEL", "warn")
	// Files the services write go to the test's own folders.
	t.Setenv("MAIL_DIR", t.TempDir())
	t.Setenv("ATTACHMENTS_DIR", t.TempDir())
	return amqpURL
}

// startDev runs `ticketflow dev` in-process on a fresh environment (see
// devEnv), and returns its base URL and AMQP URL.
func startDev(t *testing.T) (string, string) {
	t.Helper()
	amqpURL := devEnv(t)
	// Migrate first, as `make run` does, through the command line.
	run(t, "migrate")
	base, stop := launchDev(t)
	t.Cleanup(stop)
	return base, amqpURL
}

// launchDev runs `ticketflow dev` with the current environment and returns
// its base URL and a function that stops it gracefully.
func launchDev(t *testing.T) (string, func()) {
	t.Helper()
	app, err := loadApp()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- app.RunDev(ctx, func(a net.Addr) { addrc <- a }) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("dev did not stop within 30s of its context ending")
		}
		app.Close()
	}
	select {
	case a := <-addrc:
		return "http://" + a.String(), stop
	case err := <-done:
		t.Fatalf("dev exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not start within 30s")
	}
	return "", stop
}

// run executes the ticketflow command line in-process.
func run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("ticketflow %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func postJSON(t *testing.T, url, token string, body any) (*http.Response, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doJSON(t, req)
}

func doJSON(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res, m
}

func TestDev_FirstAdminSignsInAndManagesUsers(t *testing.T) {
	base, amqpURL := startDev(t)

	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	if err := ch.ExchangeDeclare("ticketflow.events", "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, _ := ch.QueueDeclare("", false, true, true, false, nil)
	if err := ch.QueueBind(q.Name, "user.*", "ticketflow.events", false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	out := run(t, "admin", "create-user", "--email", "Admin@Example.com", "--password", "first admin password", "--name", "Admin", "--role", "admin")
	if !strings.Contains(out, "created admin admin@example.com") {
		t.Fatalf("create-user printed %q", out)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		res, body := doJSON(t, mustRequest(t, "GET", base+path))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, res.StatusCode, body)
		}
	}
	res, body := doJSON(t, mustRequest(t, "GET", base+"/helpdesk/nothing-here"))
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown route: %d %s %v", res.StatusCode, res.Header.Get("Content-Type"), body)
	}

	res, body = postJSON(t, base+"/auth/register", "", map[string]string{"email": "ana@example.com", "password": "ana's long password", "name": "Ana"})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %v", res.StatusCode, body)
	}
	anaID, _ := body["id"].(string)

	res, body = postJSON(t, base+"/auth/login", "", map[string]string{"email": "admin@example.com", "password": "first admin password"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %v", res.StatusCode, body)
	}
	token, _ := body["access_token"].(string)

	req := newRequest(t, "PATCH", base+"/auth/users/"+anaID, `{"role":"agent"}`)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if res, body := doJSON(t, req); res.StatusCode != http.StatusOK || body["role"] != "agent" {
		t.Fatalf("promote: %d %v", res.StatusCode, body)
	}

	// The relay of the dev process publishes user.created twice, then user.updated.
	var types []string
	deadline := time.After(15 * time.Second)
	for len(types) < 3 {
		select {
		case m := <-deliveries:
			types = append(types, m.RoutingKey)
		case <-deadline:
			t.Fatalf("events seen: %v, want 2 user.created and 1 user.updated", types)
		}
	}
	if types[2] != "user.updated" {
		t.Fatalf("events = %v", types)
	}
}

func TestCommandLine_RejectsBadConfiguration(t *testing.T) {
	t.Setenv("LOG_LEVEL", "loud")
	cmd := newRootCommand()
	cmd.SetArgs([]string{"migrate"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Fatalf("err = %v, want one naming LOG_LEVEL", err)
	}
}

func TestCommandLine_ServeRejectsUnknownService(t *testing.T) {
	cmd := newRootCommand()
	cmd.SetArgs([]string{"serve", "billing"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Fatal("serve billing succeeded")
	}
}

func mustRequest(t *testing.T, method, rawURL string) *http.Request {
	t.Helper()
	return newRequest(t, method, rawURL, "")
}

func newRequest(t *testing.T, method, rawURL, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCommandLine_SetupTemporalRegistersSearchAttributes(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress())
	t.Setenv("LOG_LEVEL", "warn")
	for range 2 { // idempotent
		if out := run(t, "setup", "temporal"); !strings.Contains(out, "search attributes registered") {
			t.Fatalf("setup temporal printed %q", out)
		}
	}
}

func TestMigrate_DeclaresEveryQueueBeforeAnyServiceRuns(t *testing.T) {
	amqpURL := devEnv(t)
	run(t, "migrate")
	// An event published now, before any consumer ran, waits in its queues.
	pub := rabbitmq.NewPublisher(amqpURL, "ticketflow.events", testenv.Logger(t))
	defer pub.Close()
	e, err := events.New("/auth", events.UserCreated, "u", map[string]string{"id": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	ch, closeCh := testenv.Channel(t, amqpURL)
	defer closeCh()
	for _, q := range []string{"helpdesk.users", "workflow.users", "messaging.users", "notification.events"} {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
		if err != nil {
			t.Fatalf("queue %s: %v", q, err)
		}
		if st.Messages != 1 {
			t.Fatalf("queue %s holds %d messages, want the early user.created", q, st.Messages)
		}
	}
}

// helpCommands returns the names cobra lists under "Available Commands:"
// in a help text.
func helpCommands(help string) []string {
	var names []string
	in := false
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(line, "Available Commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			return names
		case in:
			names = append(names, strings.Fields(line)[0])
		}
	}
	return names
}

func TestCommandLine_HelpListsEveryProcess(t *testing.T) {
	commands := helpCommands(run(t, "--help"))
	for _, want := range []string{"dev", "serve", "worker", "migrate", "admin", "setup"} {
		if !slices.Contains(commands, want) {
			t.Errorf("ticketflow --help lists %v, not %s", commands, want)
		}
	}
	admin := run(t, "admin", "--help")
	if !slices.Contains(helpCommands(admin), "create-user") {
		t.Errorf("ticketflow admin --help lists %v, not create-user", helpCommands(admin))
	}
	createUser := run(t, "admin", "create-user", "--help")
	for _, flag := range []string{"--email", "--password", "--name", "--role"} {
		if !strings.Contains(createUser, flag) {
			t.Errorf("ticketflow admin create-user --help has no %s:\n%s", flag, createUser)
		}
	}
	if !slices.Contains(helpCommands(run(t, "setup", "--help")), "temporal") {
		t.Error("ticketflow setup --help does not list temporal")
	}
}

// TestTemporalScript_RegistersTheCodesSearchAttributes keeps the dev
// server's --search-attribute flags in scripts/temporal.sh in step with
// temporalx.SearchAttributes: the same names with the same types, no more,
// no fewer.
func TestTemporalScript_RegistersTheCodesSearchAttributes(t *testing.T) {
	script, err := os.ReadFile("../../scripts/temporal.sh")
	if err != nil {
		t.Fatal(err)
	}
	inScript := map[string]string{}
	for _, m := range regexp.MustCompile(`--search-attribute[ =]+([A-Za-z0-9_]+)=([A-Za-z]+)`).FindAllStringSubmatch(string(script), -1) {
		if _, dup := inScript[m[1]]; dup {
			t.Errorf("scripts/temporal.sh registers %s twice", m[1])
		}
		inScript[m[1]] = strings.ToUpper(m[2])
	}
	inCode := map[string]string{}
	for _, key := range temporalx.SearchAttributes() {
		// The enum's names are the CLI's: Keyword, Bool, ...
		inCode[key.GetName()] = strings.ToUpper(key.GetValueType().String())
	}
	if len(inCode) == 0 {
		t.Fatal("temporalx.SearchAttributes is empty")
	}
	for name, typ := range inCode {
		if got, ok := inScript[name]; !ok {
			t.Errorf("scripts/temporal.sh does not register %s (%s)", name, typ)
		} else if got != typ {
			t.Errorf("scripts/temporal.sh registers %s as %s, the code as %s", name, got, typ)
		}
	}
	for name := range inScript {
		if _, ok := inCode[name]; !ok {
			t.Errorf("scripts/temporal.sh registers %s, which temporalx.SearchAttributes does not have", name)
		}
	}
}
