package helpdesk_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func TestCreateTicket_StoresTicketHistoryAndEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana Lima", authn.RoleEmployee)
	hw := e.category("Hardware")

	r := e.do("POST", "/helpdesk/tickets", ana.token, map[string]string{
		"title": "  Laptop does not boot  ", "description": "Since this morning.", "category_id": hw.ID,
	})
	var got helpdesk.Ticket
	r.ok(t, http.StatusCreated, &got)
	if r.header.Get("Location") != "/helpdesk/tickets/"+got.ID {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	if got.Title != "Laptop does not boot" || got.Description != "Since this morning." || got.Status != helpdesk.StatusNew ||
		got.Step != helpdesk.StepNew || got.Priority != helpdesk.PriorityNormal || got.AssigneeID != nil ||
		got.CategoryID != hw.ID || got.RequesterID != ana.id || got.RequesterName != "Ana Lima" || got.CreatedAt.IsZero() {
		t.Fatalf("ticket = %+v", got)
	}
	// The JSON holds every field of the contract, assignee_id as null.
	var raw map[string]any
	r.decode(t, &raw)
	for _, k := range []string{"id", "title", "description", "status", "priority", "category_id", "requester_id", "assignee_id", "step", "created_at", "updated_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("ticket JSON lacks %q: %s", k, r.body)
		}
	}
	if raw["assignee_id"] != nil {
		t.Errorf("assignee_id = %v, want null", raw["assignee_id"])
	}

	created := e.outboxEvents(events.TicketCreated)
	if len(created) != 1 {
		t.Fatalf("ticket.created events = %d, want 1", len(created))
	}
	ev := created[0]
	if ev.Source != helpdesk.EventSource || ev.Subject != got.ID {
		t.Fatalf("event = %+v", ev)
	}
	var data helpdesk.TicketCreated
	if err := ev.DecodeData(&data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalized(data.Ticket), normalized(got)) || data.Channel != helpdesk.ChannelWeb {
		t.Fatalf("event data = %+v, want %+v through %q", data, got, helpdesk.ChannelWeb)
	}

	var history httpx.List[helpdesk.HistoryEntry]
	e.do("GET", "/helpdesk/tickets/"+got.ID+"/history", ana.token, nil).ok(t, http.StatusOK, &history)
	if len(history.Items) != 1 || history.Items[0].Field != helpdesk.FieldTicket || history.Items[0].Old != nil ||
		*history.Items[0].New != "created" || history.Items[0].ActorID != ana.id || history.Items[0].ActorName != "Ana Lima" {
		t.Fatalf("history = %+v", history.Items)
	}
}

// normalized drops the monotonic clock readings, which JSON does not carry.
func normalized(t helpdesk.Ticket) helpdesk.Ticket {
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC().Round(0), t.UpdatedAt.UTC().Round(0)
	return t
}

func TestCreateTicket_BadInputWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	emp := e.user("Emp", authn.RoleEmployee)
	hw := e.category("Hardware")
	old := e.category("Old stuff")
	admin := e.keys.Token(t, uuid.NewString(), authn.RoleAdmin)
	e.do("PATCH", "/helpdesk/categories/"+old.ID, admin, map[string]any{"active": false}).ok(t, http.StatusOK, nil)

	body := func(fields ...string) map[string]string {
		m := map[string]string{"title": "Printer jam", "category_id": hw.ID}
		for i := 0; i+1 < len(fields); i += 2 {
			m[fields[i]] = fields[i+1]
		}
		return m
	}
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		field  string
	}{
		{"unknown category", emp.token, body("category_id", uuid.NewString()), 422, "category_id"},
		{"inactive category", emp.token, body("category_id", old.ID), 422, "category_id"},
		{"malformed category", emp.token, body("category_id", "hardware"), 422, "category_id"},
		{"missing category", emp.token, `{"title":"x"}`, 422, "category_id"},
		{"bad priority", emp.token, body("priority", "critical"), 422, "priority"},
		{"empty title", emp.token, body("title", ""), 422, "title"},
		{"blank title", emp.token, body("title", "   "), 422, "title"},
		{"title over 200 characters", emp.token, body("title", strings.Repeat("é", 201)), 422, "title"},
		{"NUL in title", emp.token, body("title", "a\x00b"), 422, "title"},
		{"description over 64 KiB", emp.token, body("description", strings.Repeat("d", 64<<10+1)), 422, "description"},
		{"body over the route's limit", emp.token, body("description", strings.Repeat("d", 512<<10)), 413, ""},
		{"malformed JSON", emp.token, `{"title": "x",`, 400, ""},
		{"unknown field", emp.token, `{"title":"x","category_id":"` + hw.ID + `","requester_id":"` + uuid.NewString() + `"}`, 400, "requester_id"},
		{"status is not the caller's", emp.token, `{"title":"x","category_id":"` + hw.ID + `","status":"open"}`, 400, "status"},
		{"wrong type", emp.token, `{"title":5,"category_id":"` + hw.ID + `"}`, 400, "title"},
		{"service token", e.service, body(), 403, ""},
		{"no token", "", body(), 401, ""},
	}
	before := e.rows()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := e.do("POST", "/helpdesk/tickets", c.token, c.body).problem(t, c.status)
			if c.field != "" && !hasField(p, c.field) {
				t.Fatalf("problem does not name %q: %+v", c.field, p)
			}
		})
	}
	e.unchanged(before)

	// The limits themselves are allowed.
	e.ticket(emp, hw, strings.Repeat("é", 200), "description", strings.Repeat("d", 64<<10), "priority", "urgent")
}

func TestGetTicket_EmployeeSeesOnlyOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	bob := e.user("Bob", authn.RoleEmployee)
	agent := e.user("Alice Agent", authn.RoleAgent)
	admin := e.user("Root", authn.RoleAdmin)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop")

	for _, p := range []person{ana, agent, admin} {
		var got helpdesk.Ticket
		e.do("GET", "/helpdesk/tickets/"+tk.ID, p.token, nil).ok(t, http.StatusOK, &got)
		if got.ID != tk.ID {
			t.Fatalf("%s got %+v", p.name, got)
		}
		e.do("GET", "/helpdesk/tickets/"+tk.ID+"/history", p.token, nil).ok(t, http.StatusOK, nil)
	}
	// Another employee's ticket is answered exactly like a missing one.
	other := e.do("GET", "/helpdesk/tickets/"+tk.ID, bob.token, nil).problem(t, http.StatusNotFound)
	missing := e.do("GET", "/helpdesk/tickets/"+uuid.NewString(), bob.token, nil).problem(t, http.StatusNotFound)
	malformed := e.do("GET", "/helpdesk/tickets/not-a-uuid", bob.token, nil).problem(t, http.StatusNotFound)
	if other.Detail != missing.Detail || other.Detail != malformed.Detail {
		t.Fatalf("404s differ: %q, %q, %q", other.Detail, missing.Detail, malformed.Detail)
	}
	e.do("GET", "/helpdesk/tickets/"+tk.ID+"/history", bob.token, nil).problem(t, http.StatusNotFound)
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, bob.token, map[string]string{"title": "mine now"}).problem(t, http.StatusNotFound)
	e.do("GET", "/helpdesk/tickets/"+tk.ID, "", nil).problem(t, http.StatusUnauthorized)
	// Unknown paths are not found, token or not.
	e.do("GET", "/helpdesk/nothing-here", "", nil).problem(t, http.StatusNotFound)
	e.do("DELETE", "/helpdesk/tickets/"+tk.ID, agent.token, nil).problem(t, http.StatusMethodNotAllowed)
}

func TestListTickets_EmployeeSeesOnlyOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	bob := e.user("Bob", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw := e.category("Hardware")
	e.ticket(ana, hw, "Ana's laptop")
	e.ticket(ana, hw, "Ana's printer")
	e.ticket(bob, hw, "Bob's laptop")

	list := func(p person, query string) []helpdesk.Ticket {
		t.Helper()
		var page httpx.List[helpdesk.Ticket]
		e.do("GET", "/helpdesk/tickets"+query, p.token, nil).ok(t, http.StatusOK, &page)
		return page.Items
	}
	if got := list(ana, ""); len(got) != 2 || got[0].RequesterID != ana.id || got[1].RequesterID != ana.id {
		t.Fatalf("ana sees %+v", got)
	}
	if got := list(bob, "?q=laptop"); len(got) != 1 || got[0].Title != "Bob's laptop" {
		t.Fatalf("bob's search sees %+v", got)
	}
	if got := list(bob, "?requester_id="+ana.id); len(got) != 0 {
		t.Fatalf("bob filtering by ana sees %+v", got)
	}
	if got := list(agent, ""); len(got) != 3 {
		t.Fatalf("agent sees %d tickets, want 3", len(got))
	}
	if got := list(agent, "?requester_id="+ana.id); len(got) != 2 {
		t.Fatalf("agent filtering by ana sees %d tickets, want 2", len(got))
	}
}

func TestUpdateTicket_RequesterEditsWhileNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop", "description", "It beeps.")

	var got helpdesk.Ticket
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, ana.token, map[string]string{"title": "Laptop beeps", "description": "It beeps twice."}).
		ok(t, http.StatusOK, &got)
	if got.Title != "Laptop beeps" || got.Description != "It beeps twice." || !got.UpdatedAt.After(tk.UpdatedAt) {
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
		{Field: "title", Old: ptr("Laptop"), New: ptr("Laptop beeps")},
		{Field: "description", Old: ptr("It beeps."), New: ptr("It beeps twice.")},
	}
	if !reflect.DeepEqual(data.Changes, want) || data.ActorID != ana.id || data.Ticket.Title != "Laptop beeps" || updates[0].Subject != tk.ID {
		t.Fatalf("ticket.updated = %+v", data)
	}

	// The same values again change nothing and publish nothing.
	before := e.rows()
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, ana.token, map[string]string{"title": "Laptop beeps"}).ok(t, http.StatusOK, nil)
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, ana.token, map[string]string{}).ok(t, http.StatusOK, nil)
	e.unchanged(before)
}

func TestUpdateTicket_AgentChangesPriorityAndCategory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw, net := e.category("Hardware"), e.category("Network")
	tk := e.ticket(ana, hw, "Wi-Fi drops")

	var got helpdesk.Ticket
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, agent.token, map[string]string{"priority": "high", "category_id": net.ID}).
		ok(t, http.StatusOK, &got)
	if got.Priority != helpdesk.PriorityHigh || got.CategoryID != net.ID {
		t.Fatalf("ticket = %+v", got)
	}
	updates := e.outboxEvents(events.TicketUpdated)
	var data helpdesk.TicketUpdated
	if len(updates) != 1 || updates[0].DecodeData(&data) != nil {
		t.Fatalf("ticket.updated events = %d", len(updates))
	}
	if len(data.Changes) != 2 || data.Changes[0].Field != "priority" || data.Changes[1].Field != "category_id" || data.ActorID != agent.id {
		t.Fatalf("changes = %+v", data)
	}
}

func TestUpdateTicket_FieldsThatAreNotTheCallersWriteNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	bob := e.user("Bob", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw := e.category("Hardware")
	retired := e.category("Retired")
	admin := e.user("Admin", authn.RoleAdmin)
	e.do("PATCH", "/helpdesk/categories/"+retired.ID, admin.token, map[string]any{"active": false}).ok(t, http.StatusOK, nil)
	fresh := e.ticket(ana, hw, "New one")
	worked := e.ticket(ana, hw, "Being worked on")
	e.setState(worked.ID, map[string]any{"change_id": "c1", "step": "triage", "status": "open"})

	cases := []struct {
		name   string
		token  string
		ticket string
		body   any
		status int
		field  string
	}{
		{"employee sets priority", ana.token, fresh.ID, `{"priority":"urgent"}`, 403, ""},
		{"employee sets category", ana.token, fresh.ID, `{"category_id":"` + hw.ID + `"}`, 403, ""},
		{"requester edits a worked-on ticket", ana.token, worked.ID, `{"title":"changed"}`, 403, ""},
		{"agent edits the title", agent.token, fresh.ID, `{"title":"changed"}`, 403, ""},
		{"anyone sets the status", agent.token, fresh.ID, `{"status":"closed"}`, 403, ""},
		{"anyone sets the assignee", admin.token, fresh.ID, `{"assignee_id":"` + agent.id + `"}`, 403, ""},
		{"another employee's ticket", bob.token, fresh.ID, `{"title":"changed"}`, 404, ""},
		{"unknown ticket", agent.token, uuid.NewString(), `{"priority":"high"}`, 404, ""},
		{"malformed ticket id", agent.token, "42", `{"priority":"high"}`, 404, ""},
		{"bad priority", agent.token, fresh.ID, `{"priority":"asap"}`, 422, "priority"},
		{"unknown category", agent.token, fresh.ID, `{"category_id":"` + uuid.NewString() + `"}`, 422, "category_id"},
		{"inactive category", agent.token, fresh.ID, `{"category_id":"` + retired.ID + `"}`, 422, "category_id"},
		{"empty title", ana.token, fresh.ID, `{"title":""}`, 422, "title"},
		{"title too long", ana.token, fresh.ID, `{"title":"` + strings.Repeat("t", 201) + `"}`, 422, "title"},
		{"description too long", ana.token, fresh.ID, `{"description":"` + strings.Repeat("d", 64<<10+1) + `"}`, 422, "description"},
		{"unknown field", agent.token, fresh.ID, `{"urgency":"high"}`, 400, "urgency"},
		{"malformed JSON", agent.token, fresh.ID, `{"priority":`, 400, ""},
		{"service token", e.service, fresh.ID, `{"priority":"high"}`, 403, ""},
	}
	before := e.rows()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := e.do("PATCH", "/helpdesk/tickets/"+c.ticket, c.token, c.body).problem(t, c.status)
			if c.field != "" && !hasField(p, c.field) {
				t.Fatalf("problem does not name %q: %+v", c.field, p)
			}
		})
	}
	e.unchanged(before)
	var got helpdesk.Ticket
	e.do("GET", "/helpdesk/tickets/"+fresh.ID, agent.token, nil).ok(t, http.StatusOK, &got)
	if got.Title != "New one" || got.Priority != helpdesk.PriorityNormal || got.CategoryID != hw.ID {
		t.Fatalf("ticket changed: %+v", got)
	}
}

func TestTicketJSON_MatchesTheContract(t *testing.T) {
	t.Parallel()
	assignee := "0b9d6f8e-3f43-4d59-9d4e-3f0f0f0f0f0f"
	b, err := json.Marshal(helpdesk.Ticket{ID: "x", AssigneeID: &assignee})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["assignee_id"] != assignee {
		t.Fatalf("assignee_id = %v", m["assignee_id"])
	}
	if _, ok := m["requester_name"]; ok {
		t.Fatalf("an unknown name is left out, got %s", b)
	}
}

func ptr[T any](v T) *T { return &v }
