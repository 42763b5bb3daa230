package workflow_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

const (
	testIssuer   = "ticketflow-test"
	testAudience = "ticketflow-test"
	testKeyID    = "workflow-test-key"
	testMaxBody  = 64 << 10
)

// staticKeys is a KeySource serving one test key.
type staticKeys struct{ set authn.JWKS }

func (k staticKeys) JWKS(context.Context) (authn.JWKS, error) { return k.set, nil }

// signalRecorder stands in for the Temporal client: it records the
// signals sent and has no other method (the admin API needs none).
type signalRecorder struct {
	client.Client

	mu      sync.Mutex
	signals []string // "<workflow id> <signal name>"
}

func (c *signalRecorder) SignalWorkflow(_ context.Context, workflowID, _, signalName string, _ any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.signals = append(c.signals, workflowID+" "+signalName)
	return nil
}

// sent returns the signals recorded so far and forgets them.
func (c *signalRecorder) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.signals
	c.signals = nil
	return s
}

// adminEnv is the workflow store and API on a fresh schema, served over
// real HTTP with tokens signed by a key of the test's own. Temporal is
// replaced by a recorder of signals: the admin API and the store do not
// talk to it otherwise.
type adminEnv struct {
	t         *testing.T
	pool      *pgxpool.Pool
	schema    string
	store     *workflow.Store
	directory rabbitmq.Handler
	temporal  *signalRecorder
	srv       *httptest.Server
	priv      ed25519.PrivateKey
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	temporal := &signalRecorder{}
	e := serveWorkflowAPI(t, temporal, "", 10*time.Second)
	e.temporal = temporal
	return e
}

// serveWorkflowAPI migrates a fresh schema and serves the workflow API on
// it with temporal as its Temporal client (in namespace) and the given
// request timeout.
func serveWorkflowAPI(t *testing.T, temporal client.Client, namespace string, timeout time.Duration) *adminEnv {
	t.Helper()
	pool, schema := testenv.Schema(t, "workflow")
	if err := workflow.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	log := testenv.Logger(t)
	store := workflow.NewStore(pool)
	verifier := authn.NewVerifier(staticKeys{authn.JWKS{Keys: []authn.JWK{authn.PublicJWK(testKeyID, pub)}}}, testIssuer, testAudience)
	h := workflow.NewHandler(store, temporal, verifier, log, "", namespace)
	router := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: testMaxBody, Timeout: timeout})
	router.Mount(workflow.Prefix, h.Routes())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return &adminEnv{
		t: t, pool: pool, schema: schema, store: store, srv: srv, priv: priv,
		directory: workflow.NewAgentDirectory(store, log),
	}
}

// token returns an access token of the user with the given role.
func (e *adminEnv) token(userID string, role authn.Role) string {
	e.t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   userID,
			Issuer:    testIssuer,
			Audience:  jwt.ClaimStrings{testAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
			ID:        uuid.NewString(),
		},
		Role: role,
	})
	tok.Header["kid"] = testKeyID
	signed, err := tok.SignedString(e.priv)
	if err != nil {
		e.t.Fatal(err)
	}
	return signed
}

// userEvent builds a user.created or user.updated event as auth
// publishes it.
func userEvent(t *testing.T, typ, id, name string, role authn.Role, active bool, at time.Time) events.Event {
	t.Helper()
	ev, err := events.New("/auth", typ, id, map[string]any{
		"id": id, "email": strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@example.com", "name": name, "role": role, "active": active,
	})
	if err != nil {
		t.Fatal(err)
	}
	ev.Time = at
	return ev
}

// deliver hands events to the user directory as the consumer would.
func (e *adminEnv) deliver(evs ...events.Event) {
	e.t.Helper()
	for _, ev := range evs {
		if err := e.directory(context.Background(), ev); err != nil {
			e.t.Fatalf("directory rejected %s %s: %v", ev.Type, ev.ID, err)
		}
	}
}

// user puts a user into the directory and returns their ID.
func (e *adminEnv) user(name string, role authn.Role) string {
	e.t.Helper()
	id := uuid.NewString()
	e.deliver(userEvent(e.t, events.UserCreated, id, name, role, true, time.Now()))
	return id
}

// changeUser sends a newer user.updated for an existing user.
func (e *adminEnv) changeUser(id, name string, role authn.Role, active bool) {
	e.t.Helper()
	e.deliver(userEvent(e.t, events.UserUpdated, id, name, role, active, time.Now()))
}

// team creates a team through the store and returns its ID.
func (e *adminEnv) team(name string) string {
	e.t.Helper()
	t, err := e.store.CreateTeam(context.Background(), name, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return t.ID
}

// member makes the user a member of the team through the store.
func (e *adminEnv) member(teamID, userID string, available bool) {
	e.t.Helper()
	if _, err := e.store.AddOrUpdateMember(context.Background(), teamID, userID, available); err != nil {
		e.t.Fatal(err)
	}
}

// count returns the number a counting query returns.
func (e *adminEnv) count(sql string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// apiResponse is an HTTP answer with its body read.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// want fails unless the answer has the given status, then decodes the
// body into v (when not nil).
func (r apiResponse) want(t *testing.T, status int, v any) {
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

// problem fails unless the answer is a problem document with the given
// status naming field (when field is not ""), and returns it.
func (r apiResponse) problem(t *testing.T, status int, field string) httpx.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	var p httpx.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	if field == "" {
		return p
	}
	for _, f := range p.Errors {
		if f.Field == field {
			return p
		}
	}
	t.Fatalf("problem does not name field %q: %s", field, r.body)
	return p
}

// do sends a request to the API. body may be nil, a string (sent as is)
// or a value encoded as JSON.
func (e *adminEnv) do(method, path, token string, body any) apiResponse {
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
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return apiResponse{status: res.StatusCode, header: res.Header, body: b}
}

// staff returns tokens of a fresh admin, agent and employee, all in the
// directory.
func (e *adminEnv) staff() (admin, agent, employee string) {
	e.t.Helper()
	return e.token(e.user("Ada Admin", authn.RoleAdmin), authn.RoleAdmin),
		e.token(e.user("Alan Agent", authn.RoleAgent), authn.RoleAgent),
		e.token(e.user("Emma Employee", authn.RoleEmployee), authn.RoleEmployee)
}
