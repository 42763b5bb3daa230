package messaging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/authn/authntest"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

const (
	issuer   = authntest.Issuer
	audience = authntest.Audience
	// maxBody is the production default of MAX_BODY_BYTES.
	maxBody = 1 << 20
	// origin is the web app's origin the tests allow.
	origin = "http://desk.example.test"
)

// staticTokens is messaging's service token source: one token, signed once.
type staticTokens string

func (s staticTokens) Token(context.Context) (string, error) { return string(s), nil }

// env is a real helpdesk and messaging, each on a fresh schema, sharing a
// Redis prefix; messaging may run as several replicas.
type env struct {
	t        testing.TB
	keys     *authntest.Signer
	helpdesk *httptest.Server
	hdPool   *pgxpool.Pool // the helpdesk's schema
	pool     *pgxpool.Pool // messaging's schema
	schema   string
	rdb      *redis.Client
	prefix   string
	cfg      messaging.Config
	// replicas[0] is the one tests talk to unless they choose.
	replicas []*replica
	category string
}

// replica is one messaging process: its service and HTTP server.
type replica struct {
	svc *messaging.Service
	srv *httptest.Server
	// stop ends the replica's hub, closing its sockets, and waits for it.
	stop func()
}

// newEnv starts a helpdesk and one messaging replica; tune adjusts the
// messaging configuration first.
func newEnv(t testing.TB, tune ...func(*messaging.Config)) *env {
	t.Helper()
	e := &env{t: t, keys: authntest.NewSigner(t)}
	e.startHelpdesk()
	e.pool, e.schema = testenv.Schema(t, "messaging")
	if err := messaging.Migrate(context.Background(), e.pool); err != nil {
		t.Fatal(err)
	}
	e.rdb, e.prefix = testenv.Redis(t)
	e.cfg = messaging.Config{
		HelpdeskURL:        e.helpdesk.URL,
		RedisPrefix:        e.prefix,
		AttachmentsDir:     t.TempDir(),
		MaxAttachmentBytes: 256 << 10,
		AllowedOrigins:     []string{origin},
		WebSocket:          messaging.WebSocketOptions{PresenceTTL: 3 * time.Second},
	}
	for _, f := range tune {
		f(&e.cfg)
	}
	e.addReplica()
	return e
}

// startHelpdesk serves the real helpdesk on its own schema, trusting the
// test's signing key, with one category.
func (e *env) startHelpdesk() {
	pool, _ := testenv.Schema(e.t, "helpdesk")
	e.hdPool = pool
	if err := helpdesk.Migrate(context.Background(), pool); err != nil {
		e.t.Fatal(err)
	}
	log := testenv.Logger(e.t)
	h := helpdesk.NewHandler(helpdesk.NewService(pool, log), e.keys.Verifier(), cursor.New("test"), log)
	router := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: maxBody, Timeout: 10 * time.Second})
	router.Mount(helpdesk.Prefix, h.Routes())
	e.helpdesk = httptest.NewServer(router)
	e.t.Cleanup(e.helpdesk.Close)
	admin := e.keys.Token(e.t, uuid.NewString(), authn.RoleAdmin)
	var c helpdesk.Category
	e.call(e.helpdesk.URL, "POST", "/helpdesk/categories", admin, map[string]string{"name": "Hardware"}).ok(e.t, http.StatusCreated, &c)
	e.category = c.ID
}

// addReplica starts another messaging process on the same schema and
// Redis prefix, with its hub running until the test ends.
func (e *env) addReplica() *replica {
	e.t.Helper()
	log := testenv.Logger(e.t)
	svc := messaging.NewService(e.pool, e.rdb, staticTokens(e.keys.Token(e.t, "messaging", authn.RoleService)), e.cfg, log)
	h := messaging.NewHandler(svc, e.keys.Verifier(), cursor.New("test"), log)
	router := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: maxBody, Timeout: 10 * time.Second})
	router.Mount(messaging.Prefix, h.Routes())
	r := &replica{svc: svc, srv: httptest.NewServer(router)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.RunHub(ctx) }()
	r.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("hub: %v", err)
		}
	})
	e.t.Cleanup(func() {
		r.stop()
		r.srv.Close()
	})
	e.replicas = append(e.replicas, r)
	return r
}

// url is the base URL of replica 0.
func (e *env) url() string { return e.replicas[0].srv.URL }

// person is a user of the test.
type person struct {
	id, name string
	role     authn.Role
	token    string
}

// user makes a user with a token, known to messaging's user directory the
// way auth's user.created makes them known.
func (e *env) user(name string, role authn.Role) person {
	e.t.Helper()
	p := person{id: uuid.NewString(), name: name, role: role}
	p.token = e.keys.Token(e.t, p.id, role)
	ev, err := events.New("/auth", events.UserCreated, p.id, map[string]any{
		"id": p.id, "email": strings.ToLower(name) + "@example.com", "name": name, "role": role, "active": true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.replicas[0].svc.UserDirectoryHandler()(context.Background(), ev); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// ticket opens a ticket in the helpdesk as p.
func (e *env) ticket(p person) helpdesk.Ticket {
	e.t.Helper()
	var tk helpdesk.Ticket
	e.call(e.helpdesk.URL, "POST", "/helpdesk/tickets", p.token,
		map[string]string{"title": "Laptop does not boot", "category_id": e.category}).ok(e.t, http.StatusCreated, &tk)
	return tk
}

// assign records an assignee in the helpdesk, as the workflow engine does.
func (e *env) assign(ticketID, agentID string) {
	e.t.Helper()
	service := e.keys.Token(e.t, "workflow-engine", authn.RoleService)
	e.call(e.helpdesk.URL, "PUT", "/helpdesk/internal/tickets/"+ticketID+"/state", service, map[string]any{
		"change_id": uuid.NewString(), "step": "triage", "status": "open", "assignee_id": agentID,
	}).ok(e.t, http.StatusOK, nil)
}

// comment writes a comment through replica 0's API.
func (e *env) comment(p person, ticketID, body string, internal bool) messaging.Comment {
	e.t.Helper()
	var c messaging.Comment
	e.do("POST", "/messaging/tickets/"+ticketID+"/comments", p.token,
		map[string]any{"body": body, "internal": internal}).ok(e.t, http.StatusCreated, &c)
	return c
}

// response is an HTTP answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// ok checks that r has the given status and decodes its body into v.
func (r response) ok(t testing.TB, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if v != nil {
		r.decode(t, v)
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
	r.decode(t, &p)
	return p
}

// do calls replica 0.
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	return e.call(e.url(), method, path, token, body)
}

// call sends a request with a JSON body (or a string or bytes as they are).
func (e *env) call(base, method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.send(req, token)
}

// send sends req with token and reads the answer.
func (e *env) send(req *http.Request, token string) response {
	e.t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// count returns what a counting query on messaging's schema returns.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// rows counts what messaging has written.
type rows struct{ comments, revisions, attachments, outbox int }

func (e *env) rows() rows {
	e.t.Helper()
	return rows{
		comments:    e.count(`SELECT count(*) FROM comments`),
		revisions:   e.count(`SELECT count(*) FROM comment_revisions`),
		attachments: e.count(`SELECT count(*) FROM attachments`),
		outbox:      e.count(`SELECT count(*) FROM outbox`),
	}
}

// unchanged fails the test when anything was written since before.
func (e *env) unchanged(before rows) {
	e.t.Helper()
	if after := e.rows(); after != before {
		e.t.Fatalf("rows written: before %+v, after %+v", before, after)
	}
}

// outboxEvents returns the events of type typ in the outbox, oldest first.
func (e *env) outboxEvents(typ string) []events.Event {
	e.t.Helper()
	return testenv.OutboxEvents(e.t, e.pool, typ)
}
