package workflow_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// macroDesk is a workflow API with two teams, an agent in each, an admin
// and an employee.
type macroDesk struct {
	*adminEnv
	admin, agent, otherAgent, employee string // tokens
	agentID, employeeID                string
	team, otherTeam                    string
}

func newMacroDesk(t *testing.T) macroDesk {
	t.Helper()
	e := newAdminEnv(t)
	d := macroDesk{adminEnv: e}
	d.admin = e.token(e.user("Ada Admin", authn.RoleAdmin), authn.RoleAdmin)
	d.agentID = e.user("Alan Agent", authn.RoleAgent)
	d.agent = e.token(d.agentID, authn.RoleAgent)
	other := e.user("Olga Other", authn.RoleAgent)
	d.otherAgent = e.token(other, authn.RoleAgent)
	d.employeeID = e.user("Emma Employee", authn.RoleEmployee)
	d.employee = e.token(d.employeeID, authn.RoleEmployee)
	d.team, d.otherTeam = e.team("Hardware"), e.team("Access")
	e.member(d.team, d.agentID, true)
	e.member(d.otherTeam, other, true)
	return d
}

func (d macroDesk) create(t *testing.T, body map[string]any) workflow.Macro {
	t.Helper()
	var m workflow.Macro
	d.do("POST", "/workflow/macros", d.admin, body).want(t, http.StatusCreated, &m)
	return m
}

func TestMacros_AdminCreatesReadsUpdatesAndDeletes(t *testing.T) {
	t.Parallel()
	d := newMacroDesk(t)

	m := d.create(t, map[string]any{
		"team_id": d.team, "name": "  Printer restarted  ", "body": "Hello {{ requester.name }}, ticket {{ticket.id}} is fixed.",
		"to_step": "resolved", "priority": "low",
	})
	if _, err := uuid.Parse(m.ID); err != nil || m.Name != "Printer restarted" || m.TeamID != d.team || m.Internal ||
		m.ToStep == nil || *m.ToStep != "resolved" || m.Priority == nil || *m.Priority != "low" {
		t.Fatalf("created = %+v", m)
	}
	// The same name in the same team is a conflict; in another team it is fine.
	d.do("POST", "/workflow/macros", d.admin, map[string]any{"team_id": d.team, "name": "Printer restarted", "body": "x"}).
		problem(t, http.StatusConflict, "")
	d.create(t, map[string]any{"team_id": d.otherTeam, "name": "Printer restarted", "body": "x"})

	var got workflow.Macro
	d.do("GET", "/workflow/macros/"+m.ID, d.admin, nil).want(t, http.StatusOK, &got)
	if got.Body != m.Body || got.ID != m.ID {
		t.Fatalf("got = %+v, want %+v", got, m)
	}

	// A patch changes what it names; "" removes an action.
	var patched workflow.Macro
	d.do("PATCH", "/workflow/macros/"+m.ID, d.admin, map[string]any{"internal": true, "to_step": "", "body": "Note for {{agent.name}}"}).
		want(t, http.StatusOK, &patched)
	if !patched.Internal || patched.ToStep != nil || patched.Priority == nil || *patched.Priority != "low" ||
		patched.Body != "Note for {{agent.name}}" || patched.Name != "Printer restarted" {
		t.Fatalf("patched = %+v", patched)
	}

	var list httpx.List[workflow.Macro]
	d.do("GET", "/workflow/macros?team_id="+d.team, d.admin, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != m.ID {
		t.Fatalf("team list = %+v", list.Items)
	}
	d.do("GET", "/workflow/macros", d.admin, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 2 {
		t.Fatalf("admin sees %d macros, want 2", len(list.Items))
	}

	d.do("DELETE", "/workflow/macros/"+m.ID, d.admin, nil).want(t, http.StatusNoContent, nil)
	d.do("GET", "/workflow/macros/"+m.ID, d.admin, nil).problem(t, http.StatusNotFound, "")
	d.do("DELETE", "/workflow/macros/"+m.ID, d.admin, nil).problem(t, http.StatusNotFound, "")
	if n := d.count(`SELECT count(*) FROM `+d.schema+`.macros WHERE id = $1`, m.ID); n != 0 {
		t.Fatalf("deleted macro still stored (%d rows)", n)
	}
}

func TestMacros_BadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	d := newMacroDesk(t)
	m := d.create(t, map[string]any{"team_id": d.team, "name": "Greeting", "body": "Hi {{requester.name}}"})

	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"unknown placeholder", map[string]any{"team_id": d.team, "name": "A", "body": "Dear {{requester.email}}"}, 422, "body"},
		{"template syntax", map[string]any{"team_id": d.team, "name": "A", "body": `{{ .Env.SECRET }}`}, 422, "body"},
		{"go template call", map[string]any{"team_id": d.team, "name": "A", "body": `{{printf "%s" 1}}`}, 422, "body"},
		{"unclosed placeholder", map[string]any{"team_id": d.team, "name": "A", "body": "Hi {{requester.name"}, 422, "body"},
		{"nothing to do", map[string]any{"team_id": d.team, "name": "A", "body": "   "}, 422, "body"},
		{"no name", map[string]any{"team_id": d.team, "name": " ", "body": "x"}, 422, "name"},
		{"long name", map[string]any{"team_id": d.team, "name": strings.Repeat("n", 101), "body": "x"}, 422, "name"},
		{"huge body", map[string]any{"team_id": d.team, "name": "A", "body": strings.Repeat("b", 17<<10)}, 422, "body"},
		{"NUL in body", map[string]any{"team_id": d.team, "name": "A", "body": "a\x00b"}, 422, "body"},
		{"bad team", map[string]any{"team_id": "not-a-uuid", "name": "A", "body": "x"}, 422, "team_id"},
		{"unknown team", map[string]any{"team_id": uuid.NewString(), "name": "A", "body": "x"}, 422, "team_id"},
		{"bad step", map[string]any{"team_id": d.team, "name": "A", "to_step": "Robert'); DROP TABLE macros;--"}, 422, "to_step"},
		{"bad priority", map[string]any{"team_id": d.team, "name": "A", "priority": "asap"}, 422, "priority"},
		{"unknown field", map[string]any{"team_id": d.team, "name": "A", "body": "x", "owner": "me"}, 400, ""},
		{"not JSON", `{"team_id":`, 400, ""},
		{"wrong type", map[string]any{"team_id": d.team, "name": "A", "body": 7}, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.do("POST", "/workflow/macros", d.admin, c.body).problem(t, c.status, c.field)
			d.do("PATCH", "/workflow/macros/"+m.ID, d.admin, c.body).problem(t, c.status, c.field)
		})
	}
	if n := d.count(`SELECT count(*) FROM ` + d.schema + `.macros`); n != 1 {
		t.Fatalf("%d macros stored, want 1", n)
	}
	var got workflow.Macro
	d.do("GET", "/workflow/macros/"+m.ID, d.admin, nil).want(t, http.StatusOK, &got)
	if got.Name != "Greeting" || got.Body != "Hi {{requester.name}}" || got.TeamID != d.team {
		t.Fatalf("macro changed by refused patches: %+v", got)
	}
	d.do("GET", "/workflow/macros/not-a-uuid", d.admin, nil).problem(t, http.StatusNotFound, "")
	d.do("GET", "/workflow/macros?team_id=x", d.admin, nil).problem(t, http.StatusBadRequest, "team_id")
}

func TestMacros_AgentsSeeTheirTeamsOnlyAndChangeNothing(t *testing.T) {
	t.Parallel()
	d := newMacroDesk(t)
	mine := d.create(t, map[string]any{"team_id": d.team, "name": "Mine", "body": "x"})
	theirs := d.create(t, map[string]any{"team_id": d.otherTeam, "name": "Theirs", "body": "y"})

	var list httpx.List[workflow.Macro]
	d.do("GET", "/workflow/macros", d.agent, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != mine.ID {
		t.Fatalf("agent's list = %+v", list.Items)
	}
	d.do("GET", "/workflow/macros?team_id="+d.otherTeam, d.agent, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("agent sees another team's macros: %+v", list.Items)
	}
	d.do("GET", "/workflow/macros/"+mine.ID, d.agent, nil).want(t, http.StatusOK, nil)
	d.do("GET", "/workflow/macros/"+theirs.ID, d.agent, nil).problem(t, http.StatusNotFound, "")

	d.do("POST", "/workflow/macros", d.agent, map[string]any{"team_id": d.team, "name": "Z", "body": "z"}).problem(t, http.StatusForbidden, "")
	d.do("PATCH", "/workflow/macros/"+mine.ID, d.agent, map[string]any{"body": "hacked"}).problem(t, http.StatusForbidden, "")
	d.do("DELETE", "/workflow/macros/"+mine.ID, d.agent, nil).problem(t, http.StatusForbidden, "")
	for _, path := range []string{"/workflow/macros", "/workflow/macros/" + mine.ID} {
		d.do("GET", path, d.employee, nil).problem(t, http.StatusForbidden, "")
		d.do("GET", path, "", nil).problem(t, http.StatusUnauthorized, "")
	}
	ticket := uuid.NewString()
	d.do("GET", "/workflow/tickets/"+ticket+"/macros", d.employee, nil).problem(t, http.StatusForbidden, "")
	d.do("POST", "/workflow/tickets/"+ticket+"/macros/"+mine.ID+"/apply", d.employee, nil).problem(t, http.StatusForbidden, "")
	// Another team's macro is not found, before the ticket is even looked at.
	d.do("POST", "/workflow/tickets/"+ticket+"/macros/"+theirs.ID+"/apply", d.agent, nil).problem(t, http.StatusNotFound, "")

	var got workflow.Macro
	d.do("GET", "/workflow/macros/"+mine.ID, d.admin, nil).want(t, http.StatusOK, &got)
	if got.Body != "x" {
		t.Fatalf("an agent changed the macro: %+v", got)
	}
}

func TestMacros_TicketListRendersPlaceholdersAsPlainText(t *testing.T) {
	t.Parallel()
	d := newMacroDesk(t)
	// A requester whose name looks like markup and like a placeholder.
	requester := d.user("<b>Eve</b> {{agent.name}}", authn.RoleEmployee)
	ticket := uuid.NewString()
	if err := d.store.UpsertTicket(context.Background(), workflow.TicketRow{
		TicketID: ticket, CategoryID: uuid.NewString(), Title: "Printer {{ticket.id}} on fire", Priority: "normal",
		Step: "triage", Status: "open", RequesterID: requester, UpdatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	hostile := "{{requester.name}}<script>alert(1)</script>"
	m := d.create(t, map[string]any{"team_id": d.team, "name": "Hostile", "body": hostile})
	if m.Body != hostile {
		t.Fatalf("stored body = %q, want it as written", m.Body)
	}
	d.create(t, map[string]any{"team_id": d.team, "name": "Full",
		"body": "Hi {{requester.name}}, {{ agent.name }} here about {{ticket.id}} ({{ticket.title}})."})
	d.create(t, map[string]any{"team_id": d.otherTeam, "name": "Elsewhere", "body": "not for Alan"})

	var list httpx.List[workflow.TicketMacro]
	d.do("GET", "/workflow/tickets/"+ticket+"/macros", d.agent, nil).want(t, http.StatusOK, &list)
	got := map[string]string{}
	for _, m := range list.Items {
		got[m.Name] = m.Rendered
	}
	want := map[string]string{
		"Full":    "Hi <b>Eve</b> {{agent.name}}, Alan Agent here about " + ticket + " (Printer {{ticket.id}} on fire).",
		"Hostile": "<b>Eve</b> {{agent.name}}<script>alert(1)</script>",
	}
	if len(got) != len(want) {
		t.Fatalf("agent's ticket macros = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s rendered %q, want %q", k, got[k], v)
		}
	}
	d.do("GET", "/workflow/tickets/"+uuid.NewString()+"/macros", d.agent, nil).problem(t, http.StatusNotFound, "")
	d.do("GET", "/workflow/tickets/nope/macros", d.agent, nil).problem(t, http.StatusNotFound, "")
}

func TestRenderMacroBody_SubstitutesOnceAndLeavesTheRest(t *testing.T) {
	v := workflow.PlaceholderValues{RequesterName: "{{ticket.id}}", TicketID: "T1", TicketTitle: "$1 \\n", AgentName: "A"}
	for body, want := range map[string]string{
		"":                                 "",
		"plain":                            "plain",
		"{{requester.name}}/{{ticket.id}}": "{{ticket.id}}/T1",
		"{{ticket.title}}":                 "$1 \\n",
		"{{  agent.name  }}!":              "A!",
		"{{unknown}}":                      "{{unknown}}",
		"{ {agent.name} }":                 "{ {agent.name} }",
	} {
		if got := workflow.RenderMacroBody(body, v); got != want {
			t.Errorf("render %q = %q, want %q", body, got, want)
		}
	}
}
