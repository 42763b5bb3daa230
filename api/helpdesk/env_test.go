package helpdesk_test

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

	"github.com/ticketflow/ticketflow/api/helpdesk"
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
	// serviceClient is the client ID of the workflow engine's service token.
	serviceClient = "workflow-engine"
)

// env is one helpdesk on a fresh schema, served over real HTTP.
type env struct {
	t       testing.TB
	pool    *pgxpool.Pool
	schema  string
	svc     *helpdesk.Service
	keys    *authntest.Signer
	srv     *httptest.Server
	service string // a service token (the workflow engine's)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	pool, schema := testenv.Schema(t, "helpdesk")
	return serve(t, pool, schema)
}

// serve runs the helpdesk on pool, whose schema it migrates.
func serve(t testing.TB, pool *pgxpool.Pool, schema string) *env {
	t.Helper()
	if err := helpdesk.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	log := testenv.Logger(t)
	keys := authntest.NewSigner(t)
	svc := helpdesk.NewService(pool, log)
	h := helpdesk.NewHandler(svc, authn.NewVerifier(keys, issuer, audience), cursor.New("test-cursor-secret"), log)
	router := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: maxBody, Timeout: 10 * time.Second})
	router.Mount(helpdesk.Prefix, h.Routes())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	e := &env{t: t, pool: pool, schema: schema, svc: svc, keys: keys, srv: srv}
	e.service = keys.Token(t, serviceClient, authn.RoleService)
	return e
}

// person is a user of the test, known to the helpdesk's user directory.
type person struct {
	id    string
	name  string
	role  authn.Role
	token string
}

// user adds a user with role to the directory, the way auth's user.created
// event does, and returns them with a token.
func (e *env) user(name string, role authn.Role) person {
	e.t.Helper()
	p := person{id: uuid.NewString(), name: name, role: role}
	e.applyUserEvent(events.UserCreated, p.id, name, role, true, time.Now())
	p.token = e.keys.Token(e.t, p.id, role)
	return p
}

// applyUserEvent hands one user event to the directory's handler and
// returns the event.
func (e *env) applyUserEvent(typ, id, name string, role authn.Role, active bool, at time.Time) events.Event {
	e.t.Helper()
	ev := userEvent(e.t, typ, id, name, role, active, at)
	if err := helpdesk.NewUserDirectoryHandler(e.pool, testenv.Logger(e.t))(context.Background(), ev); err != nil {
		e.t.Fatalf("user directory: %v", err)
	}
	return ev
}

// userEvent builds an event as auth publishes it, at the given time.
func userEvent(t testing.TB, typ, id, name string, role authn.Role, active bool, at time.Time) events.Event {
	t.Helper()
	ev, err := events.New("/auth", typ, id, map[string]any{
		"id": id, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com",
		"name": name, "role": role, "active": active,
	})
	if err != nil {
		t.Fatal(err)
	}
	ev.Time = at.UTC()
	return ev
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

// problem checks that r is a problem document with the given status and
// returns it.
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
	if p.Status != status || p.Title == "" {
		t.Fatalf("problem = %+v", p)
	}
	return p
}

// hasField reports whether the problem names field among its errors.
func hasField(p httpx.Problem, field string) bool {
	for _, f := range p.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

func (e *env) do(method, path, token string, body any) response {
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

// category creates an active category as an admin.
func (e *env) category(name string) helpdesk.Category {
	e.t.Helper()
	admin := e.keys.Token(e.t, uuid.NewString(), authn.RoleAdmin)
	var c helpdesk.Category
	e.do("POST", "/helpdesk/categories", admin, map[string]string{"name": name}).ok(e.t, http.StatusCreated, &c)
	return c
}

// ticket opens a ticket as p in category c.
func (e *env) ticket(p person, c helpdesk.Category, title string, fields ...string) helpdesk.Ticket {
	e.t.Helper()
	body := map[string]string{"title": title, "category_id": c.ID}
	for i := 0; i+1 < len(fields); i += 2 {
		body[fields[i]] = fields[i+1]
	}
	var t helpdesk.Ticket
	e.do("POST", "/helpdesk/tickets", p.token, body).ok(e.t, http.StatusCreated, &t)
	return t
}

// setState records a state change as the workflow engine.
func (e *env) setState(ticketID string, change map[string]any) helpdesk.Ticket {
	e.t.Helper()
	var t helpdesk.Ticket
	e.do("PUT", "/helpdesk/internal/tickets/"+ticketID+"/state", e.service, change).ok(e.t, http.StatusOK, &t)
	return t
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

// rows counts what the helpdesk has written: tickets, history entries,
// outbox events, applied state changes and categories.
type rows struct{ tickets, history, outbox, changes, categories int }

func (e *env) rows() rows {
	e.t.Helper()
	return rows{
		tickets:    e.count(`SELECT count(*) FROM tickets`),
		history:    e.count(`SELECT count(*) FROM ticket_history`),
		outbox:     e.count(`SELECT count(*) FROM outbox`),
		changes:    e.count(`SELECT count(*) FROM applied_changes`),
		categories: e.count(`SELECT count(*) FROM categories`),
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
