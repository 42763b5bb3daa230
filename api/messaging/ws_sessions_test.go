package messaging_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

// updateUser delivers auth's user.updated for p to the user directory
// consumer of replica r, as RabbitMQ would.
func (e *env) updateUser(r *replica, p person, name string, role authn.Role, active bool) {
	e.t.Helper()
	ev, err := events.New("/auth", events.UserUpdated, p.id, map[string]any{
		"id": p.id, "email": strings.ToLower(p.name) + "@example.com", "name": name, "role": role, "active": active,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := r.svc.UserDirectoryHandler()(context.Background(), ev); err != nil {
		e.t.Fatal(err)
	}
}

// neverGot fails if a comment frame of commentID was received; call it
// once the connection has ended.
func (c *client) neverGot(commentID string) {
	c.t.Helper()
	for {
		select {
		case f := <-c.frames:
			var got messaging.Comment
			if f.Type == messaging.FrameCommentCreated {
				decode(c.t, f, &got)
				if got.ID == commentID {
					c.t.Fatalf("the closed socket received comment %s: %s", commentID, f.Data)
				}
			}
		default:
			return
		}
	}
}

// stillOpen fails if the connection has ended.
func (c *client) stillOpen() {
	c.t.Helper()
	select {
	case <-c.done:
		c.t.Fatalf("the connection was closed: %v", c.err)
	default:
	}
}

// gets waits for the comment.created frame of want.
func (c *client) gets(want messaging.Comment) {
	c.t.Helper()
	var got messaging.Comment
	decode(c.t, c.next(messaging.FrameCommentCreated, want.TicketID), &got)
	if got.ID != want.ID {
		c.t.Fatalf("got comment %+v, want %s", got, want.ID)
	}
}

// TestWebSocket_RightsChangeEndsTheUsersSockets checks that a socket does
// not keep rights its user lost: a demotion or a deactivation closes it
// with 1008 before the next internal note goes out, and a new socket
// opened with the still-valid old access token gets the new rights.
func TestWebSocket_RightsChangeEndsTheUsersSockets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		role   authn.Role
		active bool
		reason string
	}{
		{"demoted agent", authn.RoleEmployee, true, "session ended: role changed"},
		{"deactivated agent", authn.RoleAgent, false, "account deactivated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ana := e.user("Ana", authn.RoleEmployee)
			bob, carl := e.user("Bob", authn.RoleAgent), e.user("Carl", authn.RoleAgent)
			tk := e.ticket(ana)
			bobWS, bobTab, carlWS := e.connect(bob), e.connect(bob), e.connect(carl)
			bobWS.subscribe(tk.ID)
			carlWS.subscribe(tk.ID)

			e.updateUser(e.replicas[0], bob, "Bob", tc.role, tc.active)
			// Posted at once, not after the close is seen.
			note := e.comment(carl, tk.ID, "Vendor contract is confidential.", true)
			carlWS.gets(note) // the note did go out

			for _, c := range []*client{bobWS, bobTab} {
				ce := c.closeError()
				if ce.Code != websocket.ClosePolicyViolation || ce.Text != tc.reason {
					t.Fatalf("closed with %d %q, want 1008 %q", ce.Code, ce.Text, tc.reason)
				}
				c.neverGot(note.ID)
			}
			carlWS.stillOpen()

			// Bob's access token still says agent for a few minutes.
			if !tc.active {
				refusedDial(t, e.url(), e.wsTicket(e.url(), bob), http.Header{"Origin": {origin}}, http.StatusUnauthorized)
				return
			}
			again := e.connect(bob)
			again.send(map[string]string{"type": messaging.FrameSubscribe, "ticket_id": tk.ID})
			var ed messaging.ErrorData
			decode(t, again.next(messaging.FrameError, tk.ID), &ed)
			if ed.Code != apperr.NotFound {
				t.Fatalf("the demoted agent's new socket subscribed to a foreign ticket: %+v", ed)
			}
		})
	}
}

func TestWebSocket_NameChangeKeepsTheSocketOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	bobWS := e.connect(bob)
	bobWS.subscribe(tk.ID)

	e.updateUser(e.replicas[0], bob, "Robert", authn.RoleAgent, true)
	note := e.comment(bob, tk.ID, "still here", true)
	bobWS.gets(note)
	bobWS.stillOpen()
	// A reactivation with the same role ends nothing either.
	carl := e.user("Carl", authn.RoleEmployee)
	e.updateUser(e.replicas[0], carl, "Carl", authn.RoleEmployee, false)
	e.updateUser(e.replicas[0], carl, "Carl", authn.RoleEmployee, true)
	carlWS := e.connect(carl)
	e.updateUser(e.replicas[0], carl, "Carl C.", authn.RoleEmployee, true)
	carlWS.subscribe(e.ticket(carl).ID)
	carlWS.stillOpen()
}

func TestWebSocket_RightsChangeEndsSocketsOnEveryReplica(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	second := e.addReplica()
	ana, bob, carl := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent), e.user("Carl", authn.RoleAgent)
	tk := e.ticket(ana)
	here, there := e.connectTo(e.url(), bob), e.connectTo(second.srv.URL, bob)
	carlWS := e.connectTo(second.srv.URL, carl)
	here.subscribe(tk.ID)
	there.subscribe(tk.ID)
	carlWS.subscribe(tk.ID)

	// The event reaches one replica's consumer only.
	e.updateUser(e.replicas[0], bob, "Bob", authn.RoleEmployee, true)
	note := e.comment(carl, tk.ID, "internal", true)
	carlWS.gets(note)
	for _, c := range []*client{here, there} {
		if ce := c.closeError(); ce.Code != websocket.ClosePolicyViolation || ce.Text != "session ended: role changed" {
			t.Fatalf("closed with %d %q", ce.Code, ce.Text)
		}
		c.neverGot(note.ID)
	}
}

// TestUserDirectory_RedeliveredOrLateEventsEndNoSession checks that only
// an event that changes the directory ends sessions.
func TestUserDirectory_RedeliveredOrLateEventsEndNoSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleAgent)
	handle := e.replicas[0].svc.UserDirectoryHandler()
	demote, err := events.New("/auth", events.UserUpdated, ana.id, map[string]any{
		"id": ana.id, "name": "Ana", "role": authn.RoleEmployee, "active": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	late := demote
	late.ID = uuid.NewString()
	late.Time = demote.Time.Add(-time.Hour)
	late.Data = []byte(`{"id":"` + ana.id + `","name":"Ana","role":"admin","active":true}`)

	if err := handle(context.Background(), demote); err != nil {
		t.Fatal(err)
	}
	c := e.connect(ana)
	c.subscribe(e.ticket(ana).ID)
	for _, ev := range []events.Event{demote, late} {
		if err := handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	c.stillOpen()
}

func TestWebSocket_BadHandshakeKeepsTheTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	ticket := e.wsTicket(e.url(), ana)

	get := func(header http.Header) response {
		req, err := http.NewRequest("GET", e.url()+"/messaging/ws?ticket="+ticket, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		return e.send(req, "")
	}
	upgrade := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Origin": {origin}}
	with := func(kv ...string) http.Header {
		h := upgrade.Clone()
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	goodKey := "dGhlIHNhbXBsZSBub25jZQ=="
	for name, h := range map[string]http.Header{
		"no upgrade headers": nil,
		"no version":         with("Sec-WebSocket-Key", goodKey),
		"version 8":          with("Sec-WebSocket-Version", "8", "Sec-WebSocket-Key", goodKey),
		"no key":             with("Sec-WebSocket-Version", "13"),
		"a short key":        with("Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "c2hvcnQ="),
	} {
		res := get(h)
		p := res.problem(t, http.StatusBadRequest)
		if p.Code != apperr.Invalid || p.Detail == "" {
			t.Fatalf("%s: problem %+v", name, p)
		}
		if name == "version 8" && res.header.Get("Sec-WebSocket-Version") != "13" {
			t.Fatalf("%s: Sec-WebSocket-Version = %q, want 13", name, res.header.Get("Sec-WebSocket-Version"))
		}
	}
	ws, res, err := dial(e.url(), ticket, http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("the ticket was spent by a bad handshake: %v (%v)", err, res)
	}
	_ = ws.Close()
}
