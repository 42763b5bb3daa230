package workflow_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/workflows"
)

func TestTeams_DeleteTakesTheMembersLeadCursorAndMacrosAlong(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	ctx := context.Background()
	lead := e.user("Lea Lead", authn.RoleAgent)
	other := e.user("Otto Agent", authn.RoleAgent)
	doomed, err := e.store.CreateTeamWithLead(ctx, "Doomed", nil, lead)
	if err != nil {
		t.Fatal(err)
	}
	e.member(doomed.ID, other, true)
	if _, err := e.store.CreateMacro(ctx, workflow.MacroInput{TeamID: doomed.ID, Name: "Hello", Body: "Hello"}); err != nil {
		t.Fatal(err)
	}
	kept := e.team("Kept")
	e.member(kept, other, true)

	e.do("DELETE", "/workflow/teams/"+doomed.ID, admin, nil).want(t, http.StatusNoContent, nil)
	e.do("GET", "/workflow/teams/"+doomed.ID, admin, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/workflow/teams/"+doomed.ID, admin, nil).problem(t, http.StatusNotFound, "")
	for table, want := range map[string]int64{
		`teams`: 1, `team_members`: 1, `team_cursors`: 1, `macros`: 0,
	} {
		if n := e.count(`SELECT count(*) FROM ` + table); n != want {
			t.Errorf("%s = %d rows after the deletion, want %d", table, n, want)
		}
	}
	var got workflow.Team
	e.do("GET", "/workflow/teams/"+kept, admin, nil).want(t, http.StatusOK, &got)
	if got.Name != "Kept" || len(got.Members) != 1 || got.Members[0].UserID != other {
		t.Fatalf("the other team = %+v, want it untouched", got)
	}
}

func TestTeams_DeleteRefusesATeamAProcessOrATicketStillNeeds(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	ctx := context.Background()
	team, second := e.team("First line"), e.team("Second line")
	category := uuid.NewString()
	path := "/workflow/teams/" + team
	save := func(teamID, escalationID string) int {
		t.Helper()
		d := workflows.DefaultDefinition()
		d.TeamID, d.EscalationTeamID = teamID, escalationID
		saved, err := e.store.SaveDefinition(ctx, category, d)
		if err != nil {
			t.Fatal(err)
		}
		return saved.Version
	}
	refused := func(want ...string) {
		t.Helper()
		p := e.do("DELETE", path, admin, nil).problem(t, http.StatusConflict, "")
		for _, w := range want {
			if !strings.Contains(p.Detail, w) {
				t.Fatalf("detail %q does not say %q", p.Detail, w)
			}
		}
		if n := e.count(`SELECT count(*) FROM teams WHERE id = $1`, team); n != 1 {
			t.Fatal("a refused deletion deleted the team")
		}
	}

	// The latest version names it, as the team or the escalation team.
	save(team, "")
	refused(`team "First line" is still in use`, "current process of category "+category+" (version 1) names it as its team")
	save(second, team)
	refused("(version 2) names it as its escalation team")

	// Only older versions name it: the category's tickets that are not
	// closed may still follow one of them.
	save(second, "")
	ticket := uuid.NewString()
	record := func(status, teamID string, at time.Time) {
		t.Helper()
		if err := e.store.UpsertTicket(ctx, workflow.TicketRow{
			TicketID: ticket, CategoryID: category, Title: "Printer", Priority: "normal",
			Step: "in_progress", Status: status, TeamID: teamID, UpdatedAt: at,
		}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	record(workflows.StatusOpen, second, now)
	refused("an earlier process of category " + category + " names it, and 1 ticket of the category that may still follow it is not closed")
	record(workflows.StatusResolved, second, now.Add(time.Second)) // may be reopened
	refused("an earlier process of category " + category)

	// Tickets with the team, whatever category they are of.
	record(workflows.StatusClosed, second, now.Add(2*time.Second))
	other := uuid.NewString()
	if err := e.store.UpsertTicket(ctx, workflow.TicketRow{
		TicketID: other, CategoryID: uuid.NewString(), Title: "Escalated", Priority: "high",
		Step: "in_progress", Status: workflows.StatusOpen, TeamID: team, UpdatedAt: now,
	}); err != nil {
		t.Fatal(err)
	}
	refused("1 ticket not closed is with it")
	if err := e.store.UpsertTicket(ctx, workflow.TicketRow{
		TicketID: other, CategoryID: uuid.NewString(), Title: "Escalated", Priority: "high",
		Step: "closed", Status: workflows.StatusClosed, TeamID: team, UpdatedAt: now.Add(time.Second),
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.MarkWaiting(ctx, uuid.NewString(), team); err != nil {
		t.Fatal(err)
	}
	refused("1 ticket not closed is with it")
	if _, err := e.pool.Exec(ctx, `DELETE FROM waiting`); err != nil {
		t.Fatal(err)
	}

	// Nothing needs it any more.
	e.do("DELETE", path, admin, nil).want(t, http.StatusNoContent, nil)
	if n := e.count(`SELECT count(*) FROM teams`); n != 1 {
		t.Fatalf("teams = %d, want only the second line", n)
	}
}

func TestTeams_DeleteBadRequestsAndRoles(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, employee := e.staff()
	team := e.team("Existing")
	e.do("DELETE", "/workflow/teams/not-a-uuid", admin, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/workflow/teams/"+strings.ToUpper(uuid.NewString()), admin, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/workflow/teams/"+uuid.NewString(), admin, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/workflow/teams/"+team, agent, nil).problem(t, http.StatusForbidden, "")
	e.do("DELETE", "/workflow/teams/"+team, employee, nil).problem(t, http.StatusForbidden, "")
	e.do("DELETE", "/workflow/teams/"+team, "", nil).problem(t, http.StatusUnauthorized, "")
	if n := e.count(`SELECT count(*) FROM teams WHERE id = $1`, team); n != 1 {
		t.Fatal("the team is gone after refused deletions")
	}
	e.do("DELETE", "/workflow/teams/"+strings.ToUpper(team), admin, nil).want(t, http.StatusNoContent, nil)
}

// A definition saved while the team is being deleted: the two take turns,
// so either the save fails (the team is gone) or the deletion does (the
// definition names it), never both succeed. The test holds the save between
// its check of the teams and its insert, and deletes meanwhile.
func TestTeams_DeleteAndADefinitionSavedMeanwhileTakeTurns(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	team := e.team("Contested")
	category := uuid.NewString()

	hold, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `LOCK TABLE definitions IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	saved := make(chan error, 1)
	go func() {
		d := workflows.DefaultDefinition()
		d.TeamID = team
		_, err := e.store.SaveDefinition(ctx, category, d)
		saved <- err
	}()
	// The save has checked the teams and waits to insert.
	deadline := time.Now().Add(10 * time.Second)
	for e.count(`SELECT count(*) FROM pg_locks WHERE relation = 'definitions'::regclass AND NOT granted`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the save never reached its insert")
		}
		time.Sleep(10 * time.Millisecond)
	}
	deleted := make(chan error, 1)
	go func() { deleted <- e.store.DeleteTeam(ctx, team) }()
	select {
	case err := <-deleted:
		t.Fatalf("the team was deleted (%v) while a definition naming it was being saved", err)
	case <-time.After(500 * time.Millisecond):
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-saved; err != nil {
		t.Fatalf("save: %v", err)
	}
	if err := <-deleted; !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("delete = %v, want a conflict", err)
	}
	if n := e.count(`SELECT count(*) FROM teams WHERE id = $1`, team); n != 1 {
		t.Fatal("the team named by the saved definition is gone")
	}
}
