package notification_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/authn/authntest"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

const (
	issuer   = authntest.Issuer
	audience = authntest.Audience
	// publicURL is the web app's address in the tests; e-mails link into
	// it and their Message-IDs end in its host.
	publicURL = "https://desk.example.com"
	mailHost  = "desk.example.com"
	mailFrom  = "Ticketflow Desk <desk@example.com>"
)

// fastSender shortens the sender loop's delays for tests.
func fastSender() notification.SenderOptions {
	return notification.SenderOptions{
		PollInterval: 50 * time.Millisecond,
		MinBackoff:   50 * time.Millisecond,
		MaxBackoff:   200 * time.Millisecond,
		MaxAttempts:  3,
		SendTimeout:  5 * time.Second,
	}
}

// env is one notification service on a fresh schema and Redis prefix,
// with its API served over real HTTP.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	svc    *notification.Service
	keys   *authntest.Signer
	srv    *httptest.Server
	rdb    *redis.Client
	prefix string
}

// newEnv builds the service around mailer. Its sender loop does not run
// until runSender.
func newEnv(t *testing.T, mailer notification.Mailer) *env {
	t.Helper()
	return newEnvWith(t, mailer, fastSender())
}

// newEnvWith is newEnv with the sender loop tuned by sender.
func newEnvWith(t *testing.T, mailer notification.Mailer, sender notification.SenderOptions) *env {
	t.Helper()
	pool, _ := testenv.Schema(t, "notification")
	if err := notification.Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	rdb, prefix := testenv.Redis(t)
	log := testenv.Logger(t)
	svc, err := notification.NewService(pool, rdb, mailer, notification.Config{
		PublicURL: publicURL, From: mailFrom, RedisPrefix: prefix, Sender: sender,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	keys := authntest.NewSigner(t)
	h := notification.NewHandler(svc, authn.NewVerifier(keys, issuer, audience), cursor.New("test-cursor-secret"), log)
	router := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: 1 << 20, Timeout: 10 * time.Second})
	router.Mount(notification.Prefix, h.Routes())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return &env{t: t, pool: pool, svc: svc, keys: keys, srv: srv, rdb: rdb, prefix: prefix}
}

// runSender runs the e-mail sender loop until the test ends.
func (e *env) runSender() { testenv.RunLoop(e.t, e.svc.RunSender) }

// handle hands ev to the consumer's handler, as RabbitMQ would.
func (e *env) handle(ev events.Event) {
	e.t.Helper()
	if err := e.svc.HandleEvent(context.Background(), ev); err != nil {
		e.t.Fatalf("handle %s: %v", ev.Type, err)
	}
}

// person is a user known to the service's directory.
type person struct {
	id    string
	name  string
	email string
	role  authn.Role
	token string
}

// person adds a user with role to the directory, the way auth's
// user.created event does, and returns them with a token.
func (e *env) person(name string, role authn.Role) person {
	e.t.Helper()
	p := newPerson(e.t, e.keys, name, role)
	e.handle(userEvent(e.t, events.UserCreated, p, true, time.Now()))
	return p
}

func newPerson(t testing.TB, keys *authntest.Signer, name string, role authn.Role) person {
	id := uuid.NewString()
	p := person{id: id, name: name, role: role, email: strings.ToLower(strings.Fields(name)[0]) + "." + id[:8] + "@example.com"}
	p.token = keys.Token(t, id, role)
	return p
}

// newEvent builds an event as a publisher does.
func newEvent(t testing.TB, source, typ, subject string, data any) events.Event {
	t.Helper()
	ev, err := events.New(source, typ, subject, data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// userEvent is auth's user.created or user.updated about p, at the given time.
func userEvent(t testing.TB, typ string, p person, active bool, at time.Time) events.Event {
	ev := newEvent(t, auth.EventSource, typ, p.id, auth.UserEvent{ID: p.id, Email: p.email, Name: p.name, Role: p.role, Active: active})
	ev.Time = at.UTC()
	return ev
}

// ticket is the helpdesk's ticket as its events carry it.
func ticket(title string, requester person, assignee *person) helpdesk.Ticket {
	now := time.Now().UTC()
	t := helpdesk.Ticket{
		ID: uuid.NewString(), Title: title, Status: helpdesk.StatusNew, Priority: helpdesk.PriorityNormal,
		CategoryID: uuid.NewString(), RequesterID: requester.id, Step: helpdesk.StepNew, CreatedAt: now, UpdatedAt: now,
	}
	if assignee != nil {
		t.AssigneeID = &assignee.id
	}
	return t
}

func ticketCreated(t testing.TB, tk helpdesk.Ticket) events.Event {
	return newEvent(t, helpdesk.EventSource, events.TicketCreated, tk.ID, tk)
}

func ticketUpdated(t testing.TB, tk helpdesk.Ticket, actor string, at time.Time) events.Event {
	ev := newEvent(t, helpdesk.EventSource, events.TicketUpdated, tk.ID, helpdesk.TicketUpdated{Ticket: tk, ActorID: actor})
	ev.Time = at.UTC()
	return ev
}

// assigned is the workflow's ticket.assigned of tk to assignee, by actor
// ("" for the workflow itself).
func assigned(t testing.TB, tk helpdesk.Ticket, assignee person, actor string) events.Event {
	return newEvent(t, "/workflow", events.TicketAssigned, tk.ID, workflows.AssignedEvent{
		TicketID: tk.ID, Title: tk.Title, RequesterID: tk.RequesterID, AssigneeID: assignee.id,
		Priority: string(tk.Priority), ActorID: actor, Reason: "round robin",
	})
}

// statusChanged is the workflow's ticket.status_changed of tk, by actor.
func statusChanged(t testing.TB, tk helpdesk.Ticket, to, status, actor string) events.Event {
	assignee := ""
	if tk.AssigneeID != nil {
		assignee = *tk.AssigneeID
	}
	return newEvent(t, "/workflow", events.TicketStatusChanged, tk.ID, workflows.StatusChangedEvent{
		TicketID: tk.ID, Title: tk.Title, RequesterID: tk.RequesterID, AssigneeID: assignee,
		From: tk.Step, To: to, Status: status, ActorID: actor,
	})
}

// slaAlert is the workflow's sla.warning or sla.breached of tk.
func slaAlert(t testing.TB, typ string, tk helpdesk.Ticket) events.Event {
	assignee := ""
	if tk.AssigneeID != nil {
		assignee = *tk.AssigneeID
	}
	return newEvent(t, "/workflow", typ, tk.ID, workflows.SLAEvent{
		TicketID: tk.ID, Title: tk.Title, RequesterID: tk.RequesterID, AssigneeID: assignee,
		Priority: string(tk.Priority), Kind: "resolution", Due: time.Now().UTC().Truncate(time.Minute),
	})
}

// commented is messaging's comment.created on tk by author.
func commented(t testing.TB, tk helpdesk.Ticket, author person, internal bool, body string) events.Event {
	var assignee any
	if tk.AssigneeID != nil {
		assignee = *tk.AssigneeID
	}
	return newEvent(t, "/messaging", events.CommentCreated, tk.ID, map[string]any{
		"comment_id": uuid.NewString(), "ticket_id": tk.ID, "author_id": author.id, "author_role": author.role,
		"internal": internal, "body": body, "created_at": time.Now().UTC(),
		"requester_id": tk.RequesterID, "assignee_id": assignee,
	})
}

// count returns the number a counting query returns.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// stored is a notification row as the tests look at it.
type stored struct {
	kind  string
	title string
	body  string
}

// notificationsOf returns p's notifications, oldest first.
func (e *env) notificationsOf(p person) []stored {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT kind, title, body FROM notifications WHERE user_id = $1 ORDER BY created_at, id`, p.id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var s stored
		if err := rows.Scan(&s.kind, &s.title, &s.body); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// deliveryRow is an e-mail delivery with its log.
type deliveryRow struct {
	status   string
	attempts int
	outcomes string // the logged outcomes, in order, comma-separated
}

// deliveriesTo returns the e-mail deliveries to p, oldest first.
func (e *env) deliveriesTo(p person) []deliveryRow {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT d.status, d.attempts, coalesce(string_agg(a.outcome, ',' ORDER BY a.id), '')
		FROM email_deliveries d LEFT JOIN email_attempts a ON a.delivery_id = d.id
		WHERE d.user_id = $1 GROUP BY d.id ORDER BY d.created_at, d.id`, p.id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []deliveryRow
	for rows.Next() {
		var d deliveryRow
		if err := rows.Scan(&d.status, &d.attempts, &d.outcomes); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// subscribe subscribes to p's live notifications on Redis and returns them.
func (e *env) subscribe(p person) <-chan *redis.Message {
	e.t.Helper()
	sub := e.rdb.Subscribe(context.Background(), notification.UserChannel(e.prefix, p.id))
	if _, err := sub.Receive(context.Background()); err != nil { // the subscription's confirmation
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Close() })
	return sub.Channel()
}

// liveNotification waits for the next notification on a subscription.
func liveNotification(t *testing.T, ch <-chan *redis.Message) notification.Notification {
	t.Helper()
	select {
	case m := <-ch:
		var n notification.Notification
		if err := json.Unmarshal([]byte(m.Payload), &n); err != nil {
			t.Fatalf("live notification %s: %v", m.Payload, err)
		}
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no live notification within 5s")
	}
	return notification.Notification{}
}

// noMore fails the test when ch delivers within wait.
func noMore(t *testing.T, ch <-chan *redis.Message, wait time.Duration) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("unexpected live notification: %s", m.Payload)
	case <-time.After(wait):
	}
}

// eventually polls cond every 20ms until it holds, or fails after wait.
func eventually(t *testing.T, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// response is an HTTP answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// ok checks that r has the given status and decodes its body into v.
func (r response) ok(t testing.TB, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

// problem checks that r is a problem document with the given status.
func (r response) problem(t testing.TB, status int) httpx.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p httpx.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}
