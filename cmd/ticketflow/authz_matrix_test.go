package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/httpx"
)

// caller is one of the identities the authorization matrix tries.
type caller int

const (
	anonymous caller = iota
	owner            // the employee who opened the ticket
	stranger         // an employee who did not
	agentCaller
	adminCaller
	serviceCaller
	numCallers
)

func (c caller) String() string {
	return [...]string{"anonymous", "owner", "other employee", "agent", "admin", "service"}[c]
}

// What a caller must get. ok is any 2xx, or a 4xx that judges the
// request rather than the caller (400, 409, 422): the caller got through.
// any is a public route whose answer depends on its body only: anything
// but a 5xx.
const (
	ok   = "ok"
	any_ = "any"
	s401 = "401"
	s403 = "403"
	s404 = "404"
)

// rule is the expected answer of a route for each caller, in the order
// anonymous, owner, other employee, agent, admin, service.
type rule [numCallers]string

func r6(anon, own, other, agent, admin, service string) rule {
	return rule{anon, own, other, agent, admin, service}
}

var (
	publicRoute = r6(any_, any_, any_, any_, any_, any_)
	// userRoute: every signed-in person; services have no business there.
	userRoute = r6(s401, ok, ok, ok, ok, s403)
	// ticketRoute: the ticket's requester, agents and admins; another
	// employee is told the ticket does not exist.
	ticketRoute = r6(s401, ok, s404, ok, ok, s403)
	staffRoute  = r6(s401, s403, s403, ok, ok, s403)
	adminRoute  = r6(s401, s403, s403, s403, ok, s403)
	// internalRoute: service tokens only.
	internalRoute = r6(s401, s403, s403, s403, s403, ok)
	signedIn      = r6(s401, ok, ok, ok, ok, ok)
)

// authzRules is the matrix: every route of `ticketflow dev`, as chi.Walk
// names it. A route missing here fails TestAuthz_EveryRouteEveryCaller.
var authzRules = map[string]rule{
	"GET /healthz": publicRoute,
	"GET /readyz":  publicRoute,
	// The web app: pages and assets for anyone, other methods refused.
	"GET /*":  publicRoute,
	"HEAD /*": publicRoute,

	"POST /auth/register":             publicRoute,
	"POST /auth/login":                publicRoute,
	"POST /auth/refresh":              publicRoute,
	"POST /auth/logout":               publicRoute,
	"POST /auth/token":                publicRoute,
	"GET /auth/.well-known/jwks.json": publicRoute,
	"GET /auth/verify-admin":          r6(s401, s403, s403, s403, ok, s403),
	"GET /auth/me":                    r6(s401, ok, ok, ok, ok, s404), // a service has no profile
	"GET /auth/users":                 adminRoute,
	"GET /auth/users/{id}":            adminRoute,
	"PATCH /auth/users/{id}":          adminRoute,
	"POST /auth/temporal-session":     adminRoute,
	// Mail-in asks for the account of an e-mail's sender.
	"POST /auth/internal/mail-senders": internalRoute,
	// Password reset: anyone may ask (202 alike for every e-mail), and
	// the mailed token, not a caller, authorizes the new password.
	"POST /auth/password-reset":         publicRoute,
	"POST /auth/password-reset/confirm": publicRoute,
	// The catalog is for anyone signed in, services included (documented
	// in api/helpdesk/routes.go).
	"GET /helpdesk/categories":           signedIn,
	"GET /helpdesk/categories/{id}":      signedIn,
	"POST /helpdesk/categories":          adminRoute,
	"PATCH /helpdesk/categories/{id}":    adminRoute,
	"DELETE /helpdesk/categories/{id}":   adminRoute,
	"GET /helpdesk/tickets":              r6(s401, ok, ok, ok, ok, ok),
	"GET /helpdesk/tickets/{id}":         r6(s401, ok, s404, ok, ok, ok),
	"GET /helpdesk/tickets/{id}/history": r6(s401, ok, s404, ok, ok, ok),
	"POST /helpdesk/tickets":             userRoute,
	// The requester may change title and description only while the
	// ticket is new; this one is being worked on, so theirs is a 403 too.
	// Staff change priority and category.
	"PATCH /helpdesk/tickets/{id}": r6(s401, s403, s404, ok, ok, s403),

	"GET /helpdesk/internal/tickets/{id}":        internalRoute,
	"GET /helpdesk/internal/tickets/{id}/access": internalRoute,
	"PUT /helpdesk/internal/tickets/{id}/state":  internalRoute,
	"POST /helpdesk/internal/mail-tickets":       internalRoute,
	// Satisfaction surveys: the workflow asks, the requester alone rates
	// (anyone else is told the ticket does not exist; the matrix's ticket
	// is not resolved, so the requester's rating is a 409), admins read
	// the report, and a link rates without a session.
	"POST /helpdesk/internal/tickets/{id}/survey": internalRoute,
	"GET /helpdesk/tickets/{id}/survey":           ticketRoute,
	"POST /helpdesk/tickets/{id}/survey":          r6(s401, ok, s404, s404, s404, s403),
	"GET /helpdesk/surveys/report":                adminRoute,
	"POST /helpdesk/surveys/rate":                 publicRoute,

	// A service is no party to a ticket: told it does not exist.
	"GET /workflow/tickets/{id}":                    r6(s401, ok, s404, ok, ok, s404),
	"POST /workflow/tickets/{id}/transitions":       r6(s401, ok, s404, ok, ok, s404),
	"POST /workflow/tickets/{id}/assignee":          staffRoute,
	"GET /workflow/board":                           staffRoute,
	"GET /workflow/teams":                           staffRoute,
	"GET /workflow/teams/{id}":                      staffRoute,
	"POST /workflow/teams":                          adminRoute,
	"PATCH /workflow/teams/{id}":                    adminRoute,
	"DELETE /workflow/teams/{id}":                   adminRoute,
	"PUT /workflow/teams/{id}/members/{user_id}":    staffRoute, // the agent sets their own availability
	"DELETE /workflow/teams/{id}/members/{user_id}": adminRoute,
	"GET /workflow/definitions/{category_id}":       staffRoute,
	"PUT /workflow/definitions/{category_id}":       adminRoute,
	"GET /workflow/sla-policies":                    staffRoute,
	"GET /workflow/sla-policies/{priority}":         staffRoute,
	"PUT /workflow/sla-policies/{priority}":         adminRoute,
	"GET /workflow/agents":                          staffRoute,
	// Webhooks out: admins only.
	"GET /workflow/webhooks":                 adminRoute,
	"POST /workflow/webhooks":                adminRoute,
	"GET /workflow/webhooks/{id}":            adminRoute,
	"PATCH /workflow/webhooks/{id}":          adminRoute,
	"DELETE /workflow/webhooks/{id}":         adminRoute,
	"GET /workflow/webhooks/{id}/deliveries": adminRoute,
	// Canned replies and macros: admins keep them; agents read their
	// teams' (the matrix's agent is in the macro's team) and apply them.
	"GET /workflow/macros":                                staffRoute,
	"POST /workflow/macros":                               adminRoute,
	"GET /workflow/macros/{id}":                           staffRoute,
	"PATCH /workflow/macros/{id}":                         adminRoute,
	"DELETE /workflow/macros/{id}":                        adminRoute,
	"GET /workflow/tickets/{id}/macros":                   staffRoute,
	"POST /workflow/tickets/{id}/macros/{macro_id}/apply": staffRoute,

	"GET /messaging/tickets/{id}/comments":     ticketRoute,
	"POST /messaging/tickets/{id}/comments":    ticketRoute,
	"PATCH /messaging/comments/{id}":           r6(s401, ok, s404, s403, s403, s403), // authors edit their own
	"DELETE /messaging/comments/{id}":          r6(s401, ok, s404, s403, s403, s403),
	"POST /messaging/tickets/{id}/attachments": ticketRoute,
	"GET /messaging/tickets/{id}/attachments":  ticketRoute,
	"GET /messaging/attachments/{id}":          ticketRoute,
	"POST /messaging/ws-tickets":               userRoute,
	// The WebSocket authenticates with a single-use ticket, not a bearer:
	// without one, everyone is refused.
	"GET /messaging/ws": r6(s401, s401, s401, s401, s401, s401),
	// Mail-in adds replies and files for their senders.
	"POST /messaging/internal/tickets/{id}/comments":    internalRoute,
	"POST /messaging/internal/tickets/{id}/attachments": internalRoute,

	"GET /notifications/":            userRoute,
	"POST /notifications/read-all":   userRoute,
	"POST /notifications/{id}/read":  r6(s401, ok, s404, s404, s404, s403),
	"GET /notifications/preferences": userRoute,
	"PUT /notifications/preferences": userRoute,
	// Inbound Parse takes a shared secret, not a token; it is off in the
	// matrix's desk (MAIL_IN_SENDGRID_SECRET unset): 404 for everyone.
	// TestMailIn_MailboxAndInboundParseBecomeTicketsAndComments checks the
	// 401 of a post without the secret when it is on.
	"POST /notifications/inbound/sendgrid":              r6(s404, s404, s404, s404, s404, s404),
	"GET /notifications/inbound/addresses":              adminRoute,
	"PUT /notifications/inbound/addresses/{address}":    adminRoute,
	"DELETE /notifications/inbound/addresses/{address}": adminRoute,
}

// mountedRoutes lists every method and pattern of the router `ticketflow
// dev` serves, built from the components as runComponents builds it.
func mountedRoutes(t *testing.T, base string) []string {
	t.Helper()
	ctx := context.Background()
	app, err := loadApp()
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	// A service account of its own, so that building the components does
	// not rotate the running process's development account.
	authSvc, _, err := app.AuthService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := authSvc.SetServiceAccount(ctx, "authz-walk", "")
	if err != nil {
		t.Fatal(err)
	}
	app.Config.ServiceClientID, app.Config.ServiceClientSecret = "authz-walk", secret
	app.devURL = base
	router := httpx.NewRouter(app.Log, httpx.RouterOptions{})
	for _, name := range serviceNames {
		c, err := app.component(ctx, name)
		if err == errNotBuilt {
			continue
		}
		if err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		router.Mount(c.prefix, c.handler)
	}
	web := app.webComponent()
	router.Mount(web.prefix, web.handler)
	var routes []string
	err = chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(routes)
	return slices.Compact(routes)
}

// serviceToken provisions a service account and returns an access token
// for it, as a service would get one.
func serviceToken(t *testing.T, base string) (token, clientID, secret string) {
	t.Helper()
	ctx := context.Background()
	app, err := loadApp()
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	authSvc, _, err := app.AuthService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clientID = "authz-matrix"
	if secret, err = authSvc.SetServiceAccount(ctx, clientID, ""); err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c := &user{t: t, base: base}
	c.call("POST", "/auth/token", map[string]string{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret}, 200, &tok)
	return tok.AccessToken, clientID, secret
}

// fixture is what the matrix's requests name: real IDs of a desk with one
// employee's ticket, a comment and an attachment on it.
type fixture struct {
	d                  desk
	owner, other       *user
	callers            [numCallers]*user
	ticket, attachment string
	notification       string
	service            struct{ id, secret string }
	seq                int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	f := &fixture{d: d}
	f.owner = register(t, base, "owner@example.com")
	f.other = register(t, base, "other@example.com")
	f.ticket = d.open(t, f.owner, "The owner's ticket")
	d.waitForAssignee(t, f.owner, f.ticket)
	f.attachment = upload(t, f.owner, f.ticket, "note.txt", []byte("hello"), 201)
	svcToken, id, secret := serviceToken(t, base)
	f.service.id, f.service.secret = id, secret
	f.callers = [numCallers]*user{
		{t: t, base: base}, f.owner, f.other, d.agent, d.admin,
		{t: t, base: base, token: svcToken, id: id},
	}
	// The agent's public reply is notified to the owner: that notification
	// is the one the matrix marks read (a ticket opened in the app is not
	// confirmed to its own requester).
	d.agent.call("POST", "/messaging/tickets/"+f.ticket+"/comments", map[string]any{"body": "We are on it."}, 201, nil)
	eventually(t, 30*time.Second, "a notification for the owner", func() bool {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if status, _ := f.owner.try("GET", "/notifications/", nil, &page); status == 200 && len(page.Items) > 0 {
			f.notification = page.Items[0].ID
			return true
		}
		return false
	})
	return f
}

// comment posts a comment on the owner's ticket as the owner.
func (f *fixture) comment(t *testing.T) string {
	t.Helper()
	var c struct {
		ID string `json:"id"`
	}
	f.owner.call("POST", "/messaging/tickets/"+f.ticket+"/comments", map[string]any{"body": "a comment"}, 201, &c)
	return c.ID
}

// webhook registers a webhook as the admin (turned off, so it is never
// delivered to) and returns its ID.
func (f *fixture) webhook(t *testing.T) string {
	t.Helper()
	var w struct {
		ID string `json:"id"`
	}
	f.d.admin.call("POST", "/workflow/webhooks", webhookMatrixBody, 201, &w)
	return w.ID
}

// macro creates a canned reply of the desk's team as the admin and returns
// its ID: a fresh one per request, since the admin's DELETE removes it.
func (f *fixture) macro(t *testing.T) string {
	t.Helper()
	var m struct {
		ID string `json:"id"`
	}
	// The agent may have been removed from the team by the matrix's DELETE
	// of a member; the rule says an agent of the macro's team.
	if status, raw := f.d.admin.try("PUT", "/workflow/teams/"+f.d.team+"/members/"+f.d.agent.id, map[string]bool{"available": true}, nil); status >= 300 {
		t.Fatalf("re-add the agent: %d %s", status, raw)
	}
	f.d.admin.call("POST", "/workflow/macros", map[string]any{
		"team_id": f.d.team, "name": fmt.Sprintf("Matrix %d", f.seq), "body": "A canned reply for {{requester.name}}",
	}, 201, &m)
	return m.ID
}

// webhookMatrixBody registers a webhook at a public address literal, which
// the production URL guard accepts without DNS.
var webhookMatrixBody = map[string]any{"url": "https://93.184.215.14/matrix", "event_types": []string{"sla.breached"}, "active": false}

// upload posts a file to a ticket's attachments and returns its ID.
func upload(t *testing.T, c *user, ticket, name string, content []byte, want int) string {
	t.Helper()
	status, raw := uploadRaw(t, c, ticket, name, content)
	if status != want {
		t.Fatalf("upload %q: %d, want %d: %s", name, status, want, raw)
	}
	var a struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &a)
	return a.ID
}

func uploadRaw(t *testing.T, c *user, ticket, name string, content []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, _ := mw.CreateFormFile("file", name)
	_, _ = part.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.base+"/messaging/tickets/"+ticket+"/attachments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// request builds the request a caller makes to a route: the pattern's
// parameters replaced with real IDs, and a body that is valid enough to
// get past decoding.
func (f *fixture) request(t *testing.T, route string, who caller) *http.Request {
	t.Helper()
	method, pattern, _ := strings.Cut(route, " ")
	f.seq++
	ids := map[string]string{
		"{category_id}": f.d.category,
		"{user_id}":     f.d.agent.id,
		"{priority}":    "low",
	}
	id := ""
	var body any
	switch {
	case strings.HasPrefix(pattern, "/auth/users/"):
		id = f.other.id
		body = map[string]any{"active": true}
	case strings.HasPrefix(pattern, "/helpdesk/categories/"):
		id = f.d.category
		body = map[string]any{"description": "Laptops, printers and more"}
	case strings.HasPrefix(pattern, "/helpdesk/internal/tickets/{id}/state"):
		id = f.ticket
		body = map[string]any{"step": "triage", "status": "open"}
	case strings.Contains(pattern, "/tickets/{id}"):
		id = f.ticket
	case strings.HasPrefix(pattern, "/workflow/teams/"):
		id = f.d.team
		body = map[string]any{"name": "Desk"}
	case strings.HasPrefix(pattern, "/workflow/webhooks/"):
		id = f.webhook(t) // a fresh one: the admin's DELETE removes it
		body = map[string]any{"description": "matrix"}
	case strings.HasPrefix(pattern, "/workflow/macros/"):
		id = f.macro(t)
		body = map[string]any{"body": "Edited for {{ticket.id}}"}
	case strings.HasPrefix(pattern, "/messaging/comments/"):
		id = f.comment(t)
		body = map[string]any{"body": "edited"}
	case strings.HasPrefix(pattern, "/messaging/attachments/"):
		id = f.attachment
	case strings.HasPrefix(pattern, "/notifications/{id}"):
		id = f.notification
	}
	switch route {
	case "POST /auth/register":
		body = map[string]string{"email": fmt.Sprintf("reg%d@example.com", f.seq), "password": "a long enough password", "name": "R"}
	case "POST /auth/login":
		body = map[string]string{"email": "other@example.com", "password": "a long enough password"}
	case "POST /auth/refresh", "POST /auth/logout":
		body = map[string]string{"refresh_token": "not-a-token"}
	case "POST /auth/token":
		body = map[string]string{"grant_type": "client_credentials", "client_id": f.service.id, "client_secret": f.service.secret}
	case "POST /auth/password-reset":
		body = map[string]string{"email": fmt.Sprintf("reset%d@example.com", f.seq)}
	case "POST /auth/password-reset/confirm":
		body = map[string]string{"token": "not-a-token", "password": "a long enough password"}
	case "POST /helpdesk/categories":
		body = map[string]string{"name": fmt.Sprintf("Category %d", f.seq)}
	case "POST /helpdesk/tickets":
		body = map[string]string{"title": "Another", "description": "d", "category_id": f.d.category, "priority": "low"}
	case "PATCH /helpdesk/tickets/{id}":
		body = map[string]string{"description": "more details"}
		if who == agentCaller || who == adminCaller {
			body = map[string]string{"priority": "normal"}
		}
	case "POST /workflow/tickets/{id}/transitions":
		body = map[string]string{"to": "in_progress"}
	case "POST /workflow/tickets/{id}/assignee":
		body = map[string]string{"agent_id": f.d.agent.id}
	case "POST /workflow/teams":
		body = map[string]string{"name": fmt.Sprintf("Team %d", f.seq)}
	case "POST /workflow/webhooks":
		body = webhookMatrixBody
	case "POST /workflow/macros":
		body = map[string]any{"team_id": f.d.team, "name": fmt.Sprintf("Matrix new %d", f.seq), "body": "Hello"}
	case "POST /workflow/tickets/{id}/macros/{macro_id}/apply":
		ids["{macro_id}"] = f.macro(t)
	case "PUT /workflow/teams/{id}/members/{user_id}":
		body = map[string]bool{"available": true}
	case "DELETE /workflow/teams/{id}/members/{user_id}":
		// A member added for this request alone, so that the agent stays.
		ids["{user_id}"] = f.d.agent.id
		body = nil
	case "PUT /workflow/definitions/{category_id}":
		def := map[string]any{}
		var cur map[string]any
		f.d.admin.call("GET", "/workflow/definitions/"+f.d.category, nil, 200, &cur)
		for _, k := range []string{"team_id", "escalation_team_id", "steps", "transitions"} {
			if v, ok := cur[k]; ok {
				def[k] = v
			}
		}
		body = def
	case "PUT /workflow/sla-policies/{priority}":
		var cur map[string]any
		f.d.admin.call("GET", "/workflow/sla-policies/low", nil, 200, &cur)
		delete(cur, "priority")
		body = cur
	case "POST /messaging/tickets/{id}/comments":
		body = map[string]any{"body": "hello"}
	case "POST /helpdesk/tickets/{id}/survey":
		body = map[string]any{"rating": "good"}
	case "POST /helpdesk/internal/tickets/{id}/survey":
		body = map[string]any{"request_key": fmt.Sprintf("matrix/%d", f.seq)}
	case "POST /helpdesk/surveys/rate":
		body = map[string]any{"token": "not-a-link", "rating": "good"}
	case "PUT /notifications/preferences":
		var cur map[string]any
		f.owner.call("GET", "/notifications/preferences", nil, 200, &cur)
		body = cur
	}
	path := strings.ReplaceAll(pattern, "{id}", id)
	for k, v := range ids {
		path = strings.ReplaceAll(path, k, v)
	}
	path = strings.ReplaceAll(path, "/*", "/")
	var rd io.Reader = http.NoBody
	ctype := ""
	if route == "POST /messaging/tickets/{id}/attachments" {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		part, _ := mw.CreateFormFile("file", "matrix.txt")
		_, _ = part.Write([]byte("plain text"))
		_ = mw.Close()
		rd, ctype = &buf, mw.FormDataContentType()
	} else if body != nil {
		raw, _ := json.Marshal(body)
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, f.d.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if route == "GET /messaging/ws" {
		// A real upgrade, without the single-use ticket it needs.
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	}
	if c := f.callers[who]; c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req
}

func (f *fixture) prepare(t *testing.T, route string) {
	t.Helper()
	if strings.HasSuffix(route, " /workflow/teams/{id}/members/{user_id}") {
		// Put the agent back for every caller, so that each delete has a
		// member to remove.
		status, raw := f.d.admin.try("PUT", "/workflow/teams/"+f.d.team+"/members/"+f.d.agent.id, map[string]bool{"available": true}, nil)
		if status >= 300 {
			t.Fatalf("re-add the agent: %d %s", status, raw)
		}
	}
}

// satisfies reports whether status is what want allows.
func satisfies(want string, status int) bool {
	switch want {
	case ok:
		return status < 300 || status == 400 || status == 409 || status == 422
	case any_:
		return status < 500
	default:
		return fmt.Sprint(status) == want
	}
}

func TestAuthz_EveryRouteEveryCaller(t *testing.T) {
	start := time.Now()
	f := newFixture(t)
	routes := mountedRoutes(t, f.d.base)
	var missing []string
	for _, route := range routes {
		if _, ok := authzRules[route]; !ok && !isWebAppMethod(route) {
			missing = append(missing, route)
		}
	}
	if len(missing) > 0 {
		t.Errorf("routes without a rule in authzRules (add one):\n  %s", strings.Join(missing, "\n  "))
	}
	for route := range authzRules {
		if !slices.Contains(routes, route) {
			t.Errorf("authzRules names %q, which is not mounted", route)
		}
	}
	tested := 0
	for _, route := range routes {
		want, known := authzRules[route]
		if !known {
			if !isWebAppMethod(route) {
				continue
			}
			// The web app answers the other methods with 405 to everyone.
			want = r6("405", "405", "405", "405", "405", "405")
		}
		// The service and the admin last: their requests may change what
		// the others would see.
		for _, who := range []caller{anonymous, stranger, owner, agentCaller, serviceCaller, adminCaller} {
			f.prepare(t, route)
			req := f.request(t, route, who)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(io.LimitReader(res.Body, 300))
			res.Body.Close()
			tested++
			if !satisfies(want[who], res.StatusCode) {
				t.Errorf("%s as %s: %d, want %s: %s", route, who, res.StatusCode, want[who], raw)
			}
		}
	}
	t.Logf("%d routes, %d requests in %s", len(routes), tested, time.Since(start).Round(time.Millisecond))
}

// isWebAppMethod reports whether route is the web app's catch-all under a
// method other than GET and HEAD, which chi lists for a mounted handler.
func isWebAppMethod(route string) bool {
	method, pattern, _ := strings.Cut(route, " ")
	return pattern == "/*" && method != "GET" && method != "HEAD"
}
