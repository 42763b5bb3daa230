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
	"github.com/ticketflow/ticketflow/workflows"
)

var berlinHours = workflows.Calendar{
	TimeZone: "Europe/Berlin",
	Days:     []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	Start:    9 * 60, End: 17 * 60,
}

func TestTeams_CreateReadRenameAndChangeCalendar(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, _ := e.staff()
	ctx := context.Background()

	var created workflow.Team
	e.do("POST", "/workflow/teams", admin, map[string]any{"name": "  Hardware  ", "calendar": berlinHours}).
		want(t, http.StatusCreated, &created)
	if _, err := uuid.Parse(created.ID); err != nil || created.Name != "Hardware" || created.Calendar == nil ||
		created.Calendar.TimeZone != "Europe/Berlin" || created.Members == nil || len(created.Members) != 0 {
		t.Fatalf("created = %+v", created)
	}
	e.do("POST", "/workflow/teams", admin, map[string]any{"name": "Access"}).want(t, http.StatusCreated, nil)

	var got workflow.Team
	e.do("GET", "/workflow/teams/"+created.ID, agent, nil).want(t, http.StatusOK, &got)
	if got.Name != "Hardware" || got.Calendar.Start != 540 || len(got.Calendar.Days) != 5 {
		t.Fatalf("GET = %+v", got)
	}
	var list httpx.List[workflow.Team]
	e.do("GET", "/workflow/teams", agent, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 2 || list.Items[0].Name != "Access" || list.Items[1].Name != "Hardware" {
		t.Fatalf("list = %+v, want Access then Hardware", list.Items)
	}

	// A patch without calendar keeps it; "calendar": null removes it.
	e.do("PATCH", "/workflow/teams/"+created.ID, admin, map[string]any{"name": "Devices"}).want(t, http.StatusOK, &got)
	if got.Name != "Devices" || got.Calendar == nil {
		t.Fatalf("after rename = %+v", got)
	}
	cal, err := e.store.TeamCalendar(ctx, created.ID)
	if err != nil || cal == nil || cal.TimeZone != "Europe/Berlin" {
		t.Fatalf("TeamCalendar = %+v, %v", cal, err)
	}
	e.do("PATCH", "/workflow/teams/"+created.ID, admin, `{"calendar": null}`).want(t, http.StatusOK, &got)
	if got.Name != "Devices" || got.Calendar != nil {
		t.Fatalf("after removing the calendar = %+v", got)
	}
	if cal, err := e.store.TeamCalendar(ctx, created.ID); err != nil || cal != nil {
		t.Fatalf("TeamCalendar after removal = %+v, %v; want nil", cal, err)
	}
	if cal, err := e.store.TeamCalendar(ctx, ""); err != nil || cal != nil {
		t.Fatalf("TeamCalendar(\"\") = %+v, %v; want nil", cal, err)
	}
	if _, err := e.store.TeamCalendar(ctx, uuid.NewString()); err == nil {
		t.Fatal("TeamCalendar of an unknown team succeeded")
	}
}

func TestTeams_NameIsUniqueWhateverItsCase(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	var first workflow.Team
	e.do("POST", "/workflow/teams", admin, map[string]any{"name": "Network"}).want(t, http.StatusCreated, &first)
	e.do("POST", "/workflow/teams", admin, map[string]any{"name": "NETWORK"}).problem(t, http.StatusConflict, "")
	var other workflow.Team
	e.do("POST", "/workflow/teams", admin, map[string]any{"name": "Printers"}).want(t, http.StatusCreated, &other)
	e.do("PATCH", "/workflow/teams/"+other.ID, admin, map[string]any{"name": "network"}).problem(t, http.StatusConflict, "")
	// Renaming a team to another case of its own name is fine.
	e.do("PATCH", "/workflow/teams/"+first.ID, admin, map[string]any{"name": "NetWork"}).want(t, http.StatusOK, nil)
}

func TestTeams_BadRequestsAndRoles(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, employee := e.staff()
	team := e.team("Existing")
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"malformed JSON", "POST", "/workflow/teams", `{"name": `, http.StatusBadRequest, ""},
		{"unknown field", "POST", "/workflow/teams", `{"name": "X", "lead": "me"}`, http.StatusBadRequest, "lead"},
		{"unknown calendar field", "POST", "/workflow/teams", `{"name": "X", "calendar": {"time_zone": "UTC", "days": [1], "start_minute": 0, "end_minute": 60, "holidays": []}}`, http.StatusBadRequest, "holidays"},
		{"empty name", "POST", "/workflow/teams", `{"name": "   "}`, http.StatusUnprocessableEntity, "name"},
		{"name too long", "POST", "/workflow/teams", map[string]any{"name": strings.Repeat("x", 101)}, http.StatusUnprocessableEntity, "name"},
		{"unknown time zone", "POST", "/workflow/teams", `{"name": "X", "calendar": {"time_zone": "Mars/Olympus", "days": [1], "start_minute": 0, "end_minute": 60}}`, http.StatusUnprocessableEntity, "calendar.time_zone"},
		{"machine time zone", "POST", "/workflow/teams", `{"name": "X", "calendar": {"time_zone": "Local", "days": [1], "start_minute": 0, "end_minute": 60}}`, http.StatusUnprocessableEntity, "calendar.time_zone"},
		{"no weekdays", "POST", "/workflow/teams", `{"name": "X", "calendar": {"time_zone": "UTC", "days": [], "start_minute": 0, "end_minute": 60}}`, http.StatusUnprocessableEntity, "calendar.days"},
		{"window backwards", "POST", "/workflow/teams", `{"name": "X", "calendar": {"time_zone": "UTC", "days": [1], "start_minute": 600, "end_minute": 60}}`, http.StatusUnprocessableEntity, "calendar.start_minute"},
		{"patch with a bad calendar", "PATCH", "/workflow/teams/" + team, `{"calendar": {"time_zone": "UTC"}}`, http.StatusUnprocessableEntity, "calendar.days"},
		{"patch with an unknown calendar field", "PATCH", "/workflow/teams/" + team, `{"calendar": {"tz": "UTC"}}`, http.StatusBadRequest, "calendar"},
		{"patch with a wrong type", "PATCH", "/workflow/teams/" + team, `{"name": 7}`, http.StatusBadRequest, "name"},
		{"get a malformed ID", "GET", "/workflow/teams/not-a-uuid", nil, http.StatusNotFound, ""},
		{"get an unknown team", "GET", "/workflow/teams/" + uuid.NewString(), nil, http.StatusNotFound, ""},
		{"patch a malformed ID", "PATCH", "/workflow/teams/123", `{"name": "Y"}`, http.StatusNotFound, ""},
		{"patch an unknown team", "PATCH", "/workflow/teams/" + uuid.NewString(), `{"name": "Y"}`, http.StatusNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.do(c.method, c.path, admin, c.body).problem(t, c.status, c.field)
		})
	}
	e.do("POST", "/workflow/teams", agent, map[string]any{"name": "Agents' own"}).problem(t, http.StatusForbidden, "")
	e.do("PATCH", "/workflow/teams/"+team, agent, map[string]any{"name": "Renamed"}).problem(t, http.StatusForbidden, "")
	e.do("GET", "/workflow/teams", employee, nil).problem(t, http.StatusForbidden, "")
	e.do("GET", "/workflow/teams", "", nil).problem(t, http.StatusUnauthorized, "")
	if n := e.count(`SELECT count(*) FROM teams`); n != 1 {
		t.Fatalf("teams = %d after bad requests, want 1", n)
	}
	var got workflow.Team
	e.do("GET", "/workflow/teams/"+team, admin, nil).want(t, http.StatusOK, &got)
	if got.Name != "Existing" || got.Calendar != nil {
		t.Fatalf("team changed by bad requests: %+v", got)
	}
}

func TestMembers_AdminAddsOnlyActiveAgentsAndAdmins(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	team := e.team("Support")
	agent := e.user("Grace Agent", authn.RoleAgent)
	otherAdmin := e.user("Root Admin", authn.RoleAdmin)
	employee := e.user("Eve Employee", authn.RoleEmployee)
	inactive := e.user("Ian Inactive", authn.RoleAgent)
	e.changeUser(inactive, "Ian Inactive", authn.RoleAgent, false)
	path := func(user string) string { return "/workflow/teams/" + team + "/members/" + user }

	var m workflow.Member
	e.do("PUT", path(agent), admin, map[string]any{"available": true}).want(t, http.StatusCreated, &m)
	if m.UserID != agent || m.Name != "Grace Agent" || !m.Available || !m.Assignable {
		t.Fatalf("member = %+v", m)
	}
	e.do("PUT", path(agent), admin, map[string]any{"available": false}).want(t, http.StatusOK, &m)
	if m.Available {
		t.Fatalf("member after update = %+v, want unavailable", m)
	}
	e.do("PUT", path(otherAdmin), admin, map[string]any{"available": true}).want(t, http.StatusCreated, nil)

	for name, user := range map[string]string{"employee": employee, "inactive agent": inactive, "unknown user": uuid.NewString()} {
		t.Run(name, func(t *testing.T) {
			e.do("PUT", path(user), admin, map[string]any{"available": true}).problem(t, http.StatusUnprocessableEntity, "user_id")
		})
	}
	e.do("PUT", path(agent), admin, `{}`).problem(t, http.StatusUnprocessableEntity, "available")
	e.do("PUT", path(agent), admin, `{"available": "yes"}`).problem(t, http.StatusBadRequest, "available")
	e.do("PUT", path(agent), admin, `{"available": true, "role": "lead"}`).problem(t, http.StatusBadRequest, "role")
	e.do("PUT", path("not-a-uuid"), admin, map[string]any{"available": true}).problem(t, http.StatusNotFound, "")
	e.do("PUT", "/workflow/teams/"+uuid.NewString()+"/members/"+agent, admin, map[string]any{"available": true}).problem(t, http.StatusNotFound, "")
	e.do("PUT", "/workflow/teams/nope/members/"+agent, admin, map[string]any{"available": true}).problem(t, http.StatusNotFound, "")

	var got workflow.Team
	e.do("GET", "/workflow/teams/"+team, admin, nil).want(t, http.StatusOK, &got)
	if len(got.Members) != 2 || got.Members[0].UserID != agent || got.Members[1].UserID != otherAdmin {
		t.Fatalf("members = %+v, want Grace then Root", got.Members)
	}
	// A member who is later deactivated stays, shown as not assignable.
	e.changeUser(agent, "Grace Agent", authn.RoleAgent, false)
	e.do("GET", "/workflow/teams/"+team, admin, nil).want(t, http.StatusOK, &got)
	if got.Members[0].Assignable {
		t.Fatalf("deactivated member = %+v, want not assignable", got.Members[0])
	}

	e.do("DELETE", path(agent), admin, nil).want(t, http.StatusNoContent, nil)
	e.do("DELETE", path(agent), admin, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", path("not-a-uuid"), admin, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/workflow/teams/"+uuid.NewString()+"/members/"+otherAdmin, admin, nil).problem(t, http.StatusNotFound, "")
	if n := e.count(`SELECT count(*) FROM team_members`); n != 1 {
		t.Fatalf("members = %d, want 1", n)
	}
}

func TestMembers_AgentSetsOnlyTheirOwnAvailability(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	team := e.team("Support")
	me := e.user("Me Agent", authn.RoleAgent)
	colleague := e.user("Colleague Agent", authn.RoleAgent)
	outsider := e.user("Outsider Agent", authn.RoleAgent)
	employee := e.user("Eve Employee", authn.RoleEmployee)
	e.member(team, me, true)
	e.member(team, colleague, true)
	path := func(user string) string { return "/workflow/teams/" + team + "/members/" + user }
	myToken := e.token(me, authn.RoleAgent)

	var m workflow.Member
	e.do("PUT", path(me), myToken, map[string]any{"available": false}).want(t, http.StatusOK, &m)
	if m.UserID != me || m.Available {
		t.Fatalf("own availability = %+v, want unavailable", m)
	}
	e.do("PUT", path(me), myToken, map[string]any{"available": true}).want(t, http.StatusOK, &m)
	if !m.Available {
		t.Fatalf("own availability = %+v, want available", m)
	}
	e.do("PUT", path(colleague), myToken, map[string]any{"available": false}).problem(t, http.StatusForbidden, "")
	// Not a member yet: only an admin can add them.
	e.do("PUT", path(outsider), e.token(outsider, authn.RoleAgent), map[string]any{"available": true}).problem(t, http.StatusForbidden, "")
	e.do("PUT", path(employee), e.token(employee, authn.RoleEmployee), map[string]any{"available": true}).problem(t, http.StatusForbidden, "")
	e.do("DELETE", path(me), myToken, nil).problem(t, http.StatusForbidden, "")

	var got workflow.Team
	e.do("GET", "/workflow/teams/"+team, myToken, nil).want(t, http.StatusOK, &got)
	if len(got.Members) != 2 || !got.Members[0].Available || !got.Members[1].Available {
		t.Fatalf("members = %+v, want both still available", got.Members)
	}
}

func TestMembers_BecomingAvailableSignalsTheTeamsWaitingTickets(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	admin, _, _ := e.staff()
	team, other := e.team("Support"), e.team("Other")
	me := e.user("Me Agent", authn.RoleAgent)
	e.member(team, me, false)
	waiting := []string{uuid.NewString(), uuid.NewString()}
	for _, id := range waiting {
		if err := e.store.MarkWaiting(ctx, id, team); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.MarkWaiting(ctx, uuid.NewString(), other); err != nil {
		t.Fatal(err)
	}
	path := "/workflow/teams/" + team + "/members/" + me
	myToken := e.token(me, authn.RoleAgent)

	e.do("PUT", path, myToken, map[string]any{"available": true}).want(t, http.StatusOK, nil)
	got := e.temporal.sent()
	want := []string{
		workflows.TicketWorkflowID(waiting[0]) + " " + workflows.SignalAgentAvailable,
		workflows.TicketWorkflowID(waiting[1]) + " " + workflows.SignalAgentAvailable,
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("signals = %v, want %v", got, want)
	}
	// Staying available or going away signals nobody.
	e.do("PUT", path, myToken, map[string]any{"available": true}).want(t, http.StatusOK, nil)
	e.do("PUT", path, myToken, map[string]any{"available": false}).want(t, http.StatusOK, nil)
	if got := e.temporal.sent(); len(got) != 0 {
		t.Fatalf("signals = %v, want none", got)
	}
	// An admin adding an available member signals too.
	newcomer := e.user("New Agent", authn.RoleAgent)
	e.do("PUT", "/workflow/teams/"+team+"/members/"+newcomer, admin, map[string]any{"available": true}).want(t, http.StatusCreated, nil)
	if got := e.temporal.sent(); len(got) != 2 {
		t.Fatalf("signals after adding a member = %v, want 2", got)
	}
}

func TestTeams_LeadIsAnActiveMemberAndLeavesWithMembership(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	lead := e.user("Lea Lead", authn.RoleAgent)
	other := e.user("Otto Other", authn.RoleAgent)
	employee := e.user("Eve Employee", authn.RoleEmployee)

	// Created with a lead: the lead is the first member.
	var team workflow.Team
	e.do("POST", "/workflow/teams", admin, map[string]any{"name": "Network", "lead_id": lead}).want(t, http.StatusCreated, &team)
	if team.LeadID == nil || *team.LeadID != lead || len(team.Members) != 1 || team.Members[0].UserID != lead || !team.Members[0].Available {
		t.Fatalf("created = %+v", team)
	}
	var none workflow.Team
	e.do("POST", "/workflow/teams", admin, map[string]any{"name": "Printers"}).want(t, http.StatusCreated, &none)
	if none.LeadID != nil {
		t.Fatalf("team without a lead = %+v", none)
	}
	for name, body := range map[string]string{
		"employee lead":   `{"name": "X", "lead_id": "` + employee + `"}`,
		"unknown lead":    `{"name": "X", "lead_id": "` + uuid.NewString() + `"}`,
		"malformed lead":  `{"name": "X", "lead_id": "boss"}`,
		"empty lead":      `{"name": "X", "lead_id": ""}`,
		"bad name, lead ": `{"name": " ", "lead_id": "` + lead + `"}`,
	} {
		t.Run("create with "+name, func(t *testing.T) {
			field := "lead_id"
			if strings.HasPrefix(name, "bad name") {
				field = "name"
			}
			e.do("POST", "/workflow/teams", admin, body).problem(t, http.StatusUnprocessableEntity, field)
		})
	}
	if n := e.count(`SELECT count(*) FROM teams`); n != 2 {
		t.Fatalf("teams = %d after refused creations, want 2", n)
	}
	if n := e.count(`SELECT count(*) FROM team_members`); n != 1 {
		t.Fatalf("members = %d after refused creations, want 1", n)
	}

	path := "/workflow/teams/" + team.ID
	// Refused changes write nothing, not even the rest of the patch.
	e.do("PATCH", path, admin, map[string]any{"name": "Renamed", "lead_id": other}).problem(t, http.StatusUnprocessableEntity, "lead_id")
	e.do("PATCH", path, admin, `{"lead_id": 7}`).problem(t, http.StatusBadRequest, "lead_id")
	e.do("PATCH", path, admin, `{"lead_id": "not-a-uuid"}`).problem(t, http.StatusUnprocessableEntity, "lead_id")
	e.member(team.ID, other, true)
	e.changeUser(other, "Otto Other", authn.RoleAgent, false)
	e.do("PATCH", path, admin, map[string]any{"lead_id": other}).problem(t, http.StatusUnprocessableEntity, "lead_id")
	var got workflow.Team
	e.do("GET", path, admin, nil).want(t, http.StatusOK, &got)
	if got.Name != "Network" || got.LeadID == nil || *got.LeadID != lead {
		t.Fatalf("team after refused changes = %+v", got)
	}

	// Another member becomes lead; a patch without lead_id keeps it.
	e.changeUser(other, "Otto Other", authn.RoleAgent, true)
	e.do("PATCH", path, admin, map[string]any{"lead_id": other}).want(t, http.StatusOK, &got)
	if got.LeadID == nil || *got.LeadID != other {
		t.Fatalf("after changing the lead = %+v", got)
	}
	e.do("PATCH", path, admin, map[string]any{"name": "Networks"}).want(t, http.StatusOK, &got)
	if got.LeadID == nil || *got.LeadID != other {
		t.Fatalf("a rename changed the lead: %+v", got)
	}
	var list httpx.List[workflow.Team]
	e.do("GET", "/workflow/teams", admin, nil).want(t, http.StatusOK, &list)
	if list.Items[0].ID != team.ID || list.Items[0].LeadID == nil || *list.Items[0].LeadID != other {
		t.Fatalf("list = %+v", list.Items)
	}
	// "lead_id": null removes the lead, and they stay a member.
	e.do("PATCH", path, admin, `{"lead_id": null}`).want(t, http.StatusOK, &got)
	if got.LeadID != nil || len(got.Members) != 2 {
		t.Fatalf("after removing the lead = %+v", got)
	}
	// A lead who leaves the team is no longer its lead.
	e.do("PATCH", path, admin, map[string]any{"lead_id": lead}).want(t, http.StatusOK, nil)
	e.do("DELETE", path+"/members/"+lead, admin, nil).want(t, http.StatusNoContent, nil)
	e.do("GET", path, admin, nil).want(t, http.StatusOK, &got)
	if got.LeadID != nil || len(got.Members) != 1 {
		t.Fatalf("after the lead left = %+v", got)
	}
}

func TestTeams_EscalationFindsTheChainTheLeadAndTheHours(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	lead := e.user("Lea Lead", authn.RoleAgent)
	team, err := e.store.CreateTeamWithLead(ctx, "Support", nil, lead)
	if err != nil {
		t.Fatal(err)
	}
	esc, err := e.store.CreateTeam(ctx, "Second line", &berlinHours)
	if err != nil {
		t.Fatal(err)
	}
	category := uuid.NewString()
	// The chain of the version the run follows, as a definition's
	// "escalation" stores it.
	if _, err := e.pool.Exec(ctx, `INSERT INTO definitions (category_id, version, body) VALUES ($1, 1, '{"escalation": "team"}'), ($1, 2, '{}')`, category); err != nil {
		t.Fatal(err)
	}
	in := workflows.LoadEscalationInput{CategoryID: category, DefinitionVersion: 1, TeamID: team.ID, EscalationTeamID: esc.ID}
	got, err := e.store.Escalation(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Chain != workflows.EscalateToTeam || got.TeamLeadID != lead || !got.LeadAvailable ||
		got.EscalationCalendar == nil || got.EscalationCalendar.TimeZone != "Europe/Berlin" {
		t.Fatalf("escalation = %+v", got)
	}
	in.DefinitionVersion = 2
	if got, err = e.store.Escalation(ctx, in); err != nil || got.Chain != "" {
		t.Fatalf("escalation of a definition without a chain = %+v, %v", got, err)
	}
	// A lead who is away, or no longer an active agent, is not available.
	e.member(team.ID, lead, false)
	if got, err = e.store.Escalation(ctx, in); err != nil || got.TeamLeadID != lead || got.LeadAvailable {
		t.Fatalf("escalation with the lead away = %+v, %v", got, err)
	}
	e.member(team.ID, lead, true)
	e.changeUser(lead, "Lea Lead", authn.RoleAgent, false)
	if got, err = e.store.Escalation(ctx, in); err != nil || got.TeamLeadID != lead || got.LeadAvailable {
		t.Fatalf("escalation with the lead deactivated = %+v, %v", got, err)
	}
	// Unknown or malformed IDs find nothing.
	got, err = e.store.Escalation(ctx, workflows.LoadEscalationInput{CategoryID: "cat", DefinitionVersion: 1, TeamID: uuid.NewString(), EscalationTeamID: "x"})
	if err != nil || got != (workflows.LoadEscalationResult{}) {
		t.Fatalf("escalation of unknown IDs = %+v, %v", got, err)
	}
}
