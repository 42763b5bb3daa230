package helpdesk_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

func TestInternalState_AppliesEachChangeOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Alice Agent", authn.RoleAgent)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop")
	path := "/helpdesk/internal/tickets/" + tk.ID + "/state"

	assign := map[string]any{"change_id": "ticket-" + tk.ID + "/1", "step": "triage", "status": "open", "assignee_id": agent.id, "reason": "round-robin"}
	got := e.setState(tk.ID, assign)
	if got.Step != "triage" || got.Status != helpdesk.StatusOpen || got.AssigneeID == nil || *got.AssigneeID != agent.id || got.AssigneeName != "Alice Agent" {
		t.Fatalf("ticket = %+v", got)
	}
	updates := e.outboxEvents(events.TicketUpdated)
	if len(updates) != 1 {
		t.Fatalf("ticket.updated events = %d, want 1", len(updates))
	}
	var data helpdesk.TicketUpdated
	if err := updates[0].DecodeData(&data); err != nil {
		t.Fatal(err)
	}
	want := []helpdesk.Change{
		{Field: "step", Old: ptr("new"), New: ptr("triage")},
		{Field: "status", Old: ptr("new"), New: ptr("open")},
		{Field: "assignee_id", Old: nil, New: ptr(agent.id)},
	}
	// Without an actor_id the change is the calling service's.
	if !reflect.DeepEqual(data.Changes, want) || data.ActorID != serviceClient || data.Ticket.Step != "triage" {
		t.Fatalf("ticket.updated = %+v", data)
	}

	// The same change again, even with another body, is the one change.
	before := e.rows()
	assign["step"], assign["status"] = "closed", "closed"
	again := e.setState(tk.ID, assign)
	if again.Step != "triage" || again.Status != helpdesk.StatusOpen {
		t.Fatalf("retry changed the ticket: %+v", again)
	}
	e.unchanged(before)

	// A new change that changes nothing is recorded as applied, and only that.
	e.setState(tk.ID, map[string]any{"change_id": "noop", "step": "triage", "status": "open", "assignee_id": agent.id})
	if after := e.rows(); after.history != before.history || after.outbox != before.outbox || after.changes != before.changes+1 {
		t.Fatalf("no-op change wrote %+v (before %+v)", after, before)
	}

	// Absent assignee_id leaves the assignee; priority and actor_id are taken.
	got = e.setState(tk.ID, map[string]any{"change_id": "escalate", "step": "triage", "status": "open", "priority": "urgent", "actor_id": ana.id})
	if got.Priority != helpdesk.PriorityUrgent || got.AssigneeID == nil {
		t.Fatalf("escalated ticket = %+v", got)
	}
	updates = e.outboxEvents(events.TicketUpdated)
	if err := updates[len(updates)-1].DecodeData(&data); err != nil {
		t.Fatal(err)
	}
	if len(data.Changes) != 1 || data.Changes[0].Field != "priority" || data.ActorID != ana.id {
		t.Fatalf("escalation event = %+v", data)
	}

	// null unassigns.
	got = e.setState(tk.ID, map[string]any{"change_id": "unassign", "step": "triage", "status": "open", "assignee_id": nil})
	if got.AssigneeID != nil || got.AssigneeName != "" {
		t.Fatalf("unassigned ticket = %+v", got)
	}
	e.do("PUT", path, e.service, map[string]any{"change_id": "unassign", "step": "x", "status": "new"}).ok(t, http.StatusOK, nil)
	if n := e.count(`SELECT count(*) FROM ticket_history WHERE ticket_id = $1`, tk.ID); n != 1+3+1+1 {
		t.Fatalf("history entries = %d, want 6", n)
	}
}

func TestInternalState_ConcurrentRetriesApplyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop")

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			e.setState(tk.ID, map[string]any{"change_id": "assign-1", "step": "in_progress", "status": "open", "assignee_id": agent.id})
		})
	}
	wg.Wait()
	if n := len(e.outboxEvents(events.TicketUpdated)); n != 1 {
		t.Fatalf("ticket.updated events = %d, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM ticket_history WHERE field = 'assignee_id'`); n != 1 {
		t.Fatalf("assignee history entries = %d, want 1", n)
	}
}

func TestInternalRoutes_ForbiddenToUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	admin := e.user("Admin", authn.RoleAdmin)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop")
	change := map[string]any{"change_id": "c", "step": "triage", "status": "open"}

	before := e.rows()
	for _, p := range []person{ana, agent, admin} {
		e.do("PUT", "/helpdesk/internal/tickets/"+tk.ID+"/state", p.token, change).problem(t, http.StatusForbidden)
		e.do("GET", "/helpdesk/internal/tickets/"+tk.ID, p.token, nil).problem(t, http.StatusForbidden)
		e.do("GET", "/helpdesk/internal/tickets/"+tk.ID+"/access?user_id="+p.id+"&role=admin", p.token, nil).problem(t, http.StatusForbidden)
	}
	e.do("PUT", "/helpdesk/internal/tickets/"+tk.ID+"/state", "", change).problem(t, http.StatusUnauthorized)
	e.unchanged(before)

	var got helpdesk.Ticket
	e.do("GET", "/helpdesk/internal/tickets/"+tk.ID, e.service, nil).ok(t, http.StatusOK, &got)
	if got.ID != tk.ID || got.RequesterName != "Ana" {
		t.Fatalf("internal ticket = %+v", got)
	}
	e.do("GET", "/helpdesk/internal/tickets/"+uuid.NewString(), e.service, nil).problem(t, http.StatusNotFound)
}

func TestInternalState_BadInputWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	hw := e.category("Hardware")
	tk := e.ticket(ana, hw, "Laptop")
	other := e.ticket(ana, hw, "Printer")
	e.setState(other.ID, map[string]any{"change_id": "taken", "step": "triage", "status": "open"})

	valid := `"change_id":"c1","step":"triage","status":"open"`
	cases := []struct {
		name   string
		ticket string
		body   string
		status int
		field  string
	}{
		{"unknown status", tk.ID, `{"change_id":"c1","step":"triage","status":"in_progress"}`, 422, "status"},
		{"missing status", tk.ID, `{"change_id":"c1","step":"triage"}`, 422, "status"},
		{"malformed assignee", tk.ID, `{` + valid + `,"assignee_id":"agent-7"}`, 422, "assignee_id"},
		{"assignee of the wrong type", tk.ID, `{` + valid + `,"assignee_id":7}`, 400, ""},
		{"bad step", tk.ID, `{"change_id":"c1","step":"In Progress","status":"open"}`, 422, "step"},
		{"step too long", tk.ID, `{"change_id":"c1","step":"` + strings.Repeat("s", 65) + `","status":"open"}`, 422, "step"},
		{"missing change_id", tk.ID, `{"step":"triage","status":"open"}`, 422, "change_id"},
		{"change_id too long", tk.ID, `{"change_id":"` + strings.Repeat("c", 201) + `","step":"triage","status":"open"}`, 422, "change_id"},
		{"bad priority", tk.ID, `{` + valid + `,"priority":"p0"}`, 422, "priority"},
		{"reason too long", tk.ID, `{` + valid + `,"reason":"` + strings.Repeat("r", 501) + `"}`, 422, "reason"},
		{"unknown field", tk.ID, `{` + valid + `,"title":"hijacked"}`, 400, "title"},
		{"malformed JSON", tk.ID, `{` + valid, 400, ""},
		{"change_id of another ticket", tk.ID, `{"change_id":"taken","step":"triage","status":"open"}`, 409, "change_id"},
		{"unknown ticket", uuid.NewString(), `{` + valid + `}`, 404, ""},
		{"malformed ticket id", "ticket-1", `{` + valid + `}`, 404, ""},
	}
	before := e.rows()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := e.do("PUT", "/helpdesk/internal/tickets/"+c.ticket+"/state", e.service, c.body).problem(t, c.status)
			if c.field != "" && !hasField(p, c.field) {
				t.Fatalf("problem does not name %q: %+v", c.field, p)
			}
		})
	}
	e.unchanged(before)
}

func TestInternalAccess_TellsWhoMaySee(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop")
	e.setState(tk.ID, map[string]any{"change_id": "a", "step": "triage", "status": "open", "assignee_id": agent.id})

	cases := []struct {
		user    string
		role    string
		visible bool
	}{
		{ana.id, "employee", true},
		{uuid.NewString(), "employee", false},
		{uuid.NewString(), "agent", true},
		{uuid.NewString(), "admin", true},
	}
	for _, c := range cases {
		var a helpdesk.Access
		e.do("GET", "/helpdesk/internal/tickets/"+tk.ID+"/access?user_id="+c.user+"&role="+c.role, e.service, nil).ok(t, http.StatusOK, &a)
		if a.TicketID != tk.ID || a.RequesterID != ana.id || a.AssigneeID == nil || *a.AssigneeID != agent.id || a.Visible != c.visible {
			t.Errorf("%s as %s: %+v", c.user, c.role, a)
		}
	}
	e.do("GET", "/helpdesk/internal/tickets/"+uuid.NewString()+"/access?user_id="+ana.id+"&role=employee", e.service, nil).problem(t, http.StatusNotFound)
	e.do("GET", "/helpdesk/internal/tickets/nope/access?user_id="+ana.id+"&role=employee", e.service, nil).problem(t, http.StatusNotFound)
	for _, q := range []string{"user_id=" + ana.id, "user_id=" + ana.id + "&role=service", "user_id=ana&role=employee", "role=agent"} {
		e.do("GET", "/helpdesk/internal/tickets/"+tk.ID+"/access?"+q, e.service, nil).problem(t, http.StatusBadRequest)
	}
}

func TestStateChange_JSONTellsAbsentFromNull(t *testing.T) {
	t.Parallel()
	agent := "6b1f2a57-3c1e-4f7e-9a55-0c9a1d2b3c4d"
	cases := []struct {
		in   string
		want helpdesk.OptionalID
		out  string
	}{
		{`{"change_id":"c","step":"s","status":"open"}`, helpdesk.OptionalID{}, `{"change_id":"c","step":"s","status":"open"}`},
		{`{"change_id":"c","step":"s","status":"open","assignee_id":null}`, helpdesk.OptionalID{Set: true}, `{"change_id":"c","step":"s","status":"open","assignee_id":null}`},
		{`{"change_id":"c","step":"s","status":"open","assignee_id":""}`, helpdesk.OptionalID{Set: true}, `{"change_id":"c","step":"s","status":"open","assignee_id":null}`},
		{`{"change_id":"c","step":"s","status":"open","assignee_id":"` + agent + `"}`, helpdesk.OptionalID{Set: true, ID: &agent}, `{"change_id":"c","step":"s","status":"open","assignee_id":"` + agent + `"}`},
	}
	for _, c := range cases {
		var sc helpdesk.StateChange
		if err := json.Unmarshal([]byte(c.in), &sc); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sc.AssigneeID, c.want) {
			t.Errorf("%s: assignee = %+v, want %+v", c.in, sc.AssigneeID, c.want)
		}
		out, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != c.out {
			t.Errorf("%s: marshalled as %s, want %s", c.in, out, c.out)
		}
	}
}
