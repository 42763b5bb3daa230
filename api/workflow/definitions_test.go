package workflow_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/workflows"
)

func TestDefinition_DefaultUntilOneIsSaved(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	_, agent, _ := e.staff()
	category := uuid.NewString()
	var got workflows.Definition
	e.do("GET", "/workflow/definitions/"+category, agent, nil).want(t, http.StatusOK, &got)
	want := workflows.DefaultDefinition()
	if got.Version != 0 || got.CategoryID != category || len(got.Steps) != len(want.Steps) || len(got.Transitions) != len(want.Transitions) {
		t.Fatalf("definition = %+v, want the default for %s", got, category)
	}
	d, err := e.store.Definition(context.Background(), category)
	if err != nil || d.Version != 0 || d.CategoryID != category || d.Steps[0].Key != workflows.StepNew {
		t.Fatalf("store definition = %+v, %v", d, err)
	}
}

func TestPutDefinition_SavesNewVersionsAndKeepsOldOnes(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	category := uuid.NewString()
	team, escalation := e.team("First line"), e.team("Second line")

	d := workflows.DefaultDefinition()
	d.TeamID = team
	var v1 workflows.Definition
	e.do("PUT", "/workflow/definitions/"+category, admin, d).want(t, http.StatusOK, &v1)
	if v1.Version != 1 || v1.CategoryID != category || v1.TeamID != team {
		t.Fatalf("first save = %+v", v1)
	}

	// Round-tripping what GET returned (with its version) is fine.
	v1.EscalationTeamID = escalation
	v1.Steps[1].Name = "Sorting"
	var v2 workflows.Definition
	e.do("PUT", "/workflow/definitions/"+category, admin, v1).want(t, http.StatusOK, &v2)
	if v2.Version != 2 || v2.EscalationTeamID != escalation {
		t.Fatalf("second save = %+v", v2)
	}
	latest, err := e.store.Definition(context.Background(), category)
	if err != nil || latest.Version != 2 || latest.Steps[1].Name != "Sorting" || latest.TeamID != team {
		t.Fatalf("Definition = %+v, %v; want version 2", latest, err)
	}
	var got workflows.Definition
	e.do("GET", "/workflow/definitions/"+category, admin, nil).want(t, http.StatusOK, &got)
	if got.Version != 2 {
		t.Fatalf("GET version = %d, want 2", got.Version)
	}
	if n := e.count(`SELECT count(*) FROM definitions WHERE category_id = $1`, category); n != 2 {
		t.Fatalf("stored versions = %d, want 2", n)
	}
	// Concurrent saves each get a version of their own.
	var wg sync.WaitGroup
	versions := make([]int, 8)
	for i := range versions {
		wg.Go(func() {
			saved, err := e.store.SaveDefinition(context.Background(), category, workflows.DefaultDefinition())
			if err != nil {
				t.Error(err)
			}
			versions[i] = saved.Version
		})
	}
	wg.Wait()
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+3 {
			t.Fatalf("versions of concurrent saves = %v, want 3 to 10", versions)
		}
	}
	// Another category is untouched.
	if other, _ := e.store.Definition(context.Background(), uuid.NewString()); other.Version != 0 {
		t.Fatalf("other category's version = %d, want 0", other.Version)
	}
}

func TestPutDefinition_RejectsInvalidProcesses(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	team := e.team("Known")
	category := uuid.NewString()
	staff := []string{workflows.RoleAgent, workflows.RoleAdmin}
	twoSteps := func() workflows.Definition {
		return workflows.Definition{
			Steps: []workflows.Step{
				{Key: "open", Name: "Open"},
				{Key: "done", Name: "Done", Terminal: true},
			},
			Transitions: []workflows.Transition{{From: "open", To: "done", Roles: staff}},
		}
	}
	cases := []struct {
		name   string
		change func(*workflows.Definition)
		field  string
	}{
		{"unreachable step", func(d *workflows.Definition) {
			d.Steps = append(d.Steps, workflows.Step{Key: "limbo", Name: "Limbo", Terminal: true})
		}, "steps[2]"},
		{"transition to an unknown step", func(d *workflows.Definition) {
			d.Transitions = append(d.Transitions, workflows.Transition{From: "open", To: "nowhere", Roles: staff})
		}, "transitions[1].to"},
		{"transition from an unknown step", func(d *workflows.Definition) {
			d.Transitions = append(d.Transitions, workflows.Transition{From: "somewhere", To: "done", Roles: staff})
		}, "transitions[1].from"},
		{"no terminal step", func(d *workflows.Definition) {
			d.Steps[1].Terminal = false
			d.Transitions = append(d.Transitions, workflows.Transition{From: "done", To: "open", Roles: staff})
		}, "steps"},
		{"duplicate step key", func(d *workflows.Definition) {
			d.Steps = append(d.Steps, workflows.Step{Key: "open", Name: "Open again"})
		}, "steps[2].key"},
		{"malformed step key", func(d *workflows.Definition) { d.Steps[0].Key = "Open Now" }, "steps[0].key"},
		{"unknown role", func(d *workflows.Definition) { d.Transitions[0].Roles = []string{"janitor"} }, "transitions[0].roles"},
		{"no role", func(d *workflows.Definition) { d.Transitions[0].Roles = nil }, "transitions[0].roles"},
		{"duplicate move", func(d *workflows.Definition) {
			d.Transitions = append(d.Transitions, workflows.Transition{From: "open", To: "done", Roles: []string{"requester"}})
		}, "transitions[1]"},
		{"move out of a terminal step", func(d *workflows.Definition) {
			d.Transitions = append(d.Transitions, workflows.Transition{From: "done", To: "open", Roles: staff})
		}, "transitions[1].from"},
		{"dead end", func(d *workflows.Definition) {
			d.Steps = append(d.Steps, workflows.Step{Key: "stuck", Name: "Stuck"})
			d.Transitions = append(d.Transitions, workflows.Transition{From: "open", To: "stuck", Roles: staff})
		}, "steps[2]"},
		{"terminal first step", func(d *workflows.Definition) { d.Steps[0].Terminal = true }, "steps[0].terminal"},
		{"terminal step not closed", func(d *workflows.Definition) { d.Steps[1].Status = workflows.StatusResolved }, "steps[1].status"},
		{"closed step not terminal", func(d *workflows.Definition) {
			d.Steps = append(d.Steps, workflows.Step{Key: "shut", Name: "Shut", Status: workflows.StatusClosed})
			d.Transitions = append(d.Transitions,
				workflows.Transition{From: "open", To: "shut", Roles: staff},
				workflows.Transition{From: "shut", To: "done", Roles: staff})
		}, "steps[2].status"},
		{"unknown status", func(d *workflows.Definition) { d.Steps[0].Status = "sleeping" }, "steps[0].status"},
		{"blank step name", func(d *workflows.Definition) { d.Steps[0].Name = "  " }, "steps[0].name"},
		{"no steps", func(d *workflows.Definition) { d.Steps, d.Transitions = nil, nil }, "steps"},
		{"unknown team", func(d *workflows.Definition) { d.TeamID = uuid.NewString() }, "team_id"},
		{"unknown escalation team", func(d *workflows.Definition) {
			d.TeamID, d.EscalationTeamID = team, uuid.NewString()
		}, "escalation_team_id"},
		{"team is not a UUID", func(d *workflows.Definition) { d.TeamID = "first-line" }, "team_id"},
		{"escalation to the same team", func(d *workflows.Definition) { d.TeamID, d.EscalationTeamID = team, team }, "escalation_team_id"},
		{"another category in the body", func(d *workflows.Definition) { d.CategoryID = uuid.NewString() }, "category_id"},
		{"unknown escalation chain", func(d *workflows.Definition) { d.Escalation = "sideways" }, "escalation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := twoSteps()
			c.change(&d)
			e.do("PUT", "/workflow/definitions/"+category, admin, d).problem(t, http.StatusUnprocessableEntity, c.field)
		})
	}
	// The valid base saves, and nothing invalid was stored before it.
	var saved workflows.Definition
	e.do("PUT", "/workflow/definitions/"+category, admin, twoSteps()).want(t, http.StatusOK, &saved)
	if saved.Version != 1 {
		t.Fatalf("version after rejected saves = %d, want 1", saved.Version)
	}
}

func TestDefinitions_BadRequestsAndRoles(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, employee := e.staff()
	path := "/workflow/definitions/" + uuid.NewString()
	valid := workflows.DefaultDefinition()

	e.do("GET", "/workflow/definitions/not-a-uuid", admin, nil).problem(t, http.StatusNotFound, "")
	e.do("PUT", "/workflow/definitions/not-a-uuid", admin, valid).problem(t, http.StatusNotFound, "")
	e.do("PUT", path, admin, `{"steps": [`).problem(t, http.StatusBadRequest, "")
	e.do("PUT", path, admin, `{"steps": [], "owner": "me"}`).problem(t, http.StatusBadRequest, "owner")
	e.do("PUT", path, admin, `{"steps": [{"key": "a", "name": "A", "colour": "red"}]}`).problem(t, http.StatusBadRequest, "colour")
	e.do("PUT", path, admin, `{"steps": "many"}`).problem(t, http.StatusBadRequest, "steps")
	e.do("PUT", path, agent, valid).problem(t, http.StatusForbidden, "")
	e.do("GET", path, employee, nil).problem(t, http.StatusForbidden, "")
	e.do("GET", path, "", nil).problem(t, http.StatusUnauthorized, "")
	if n := e.count(`SELECT count(*) FROM definitions`); n != 0 {
		t.Fatalf("definitions stored by bad requests = %d", n)
	}
}

// A definition's escalation chain, saved by an admin, is the one its
// tickets' breaches follow; one saved without a chain escalates to the
// team lead.
func TestPutDefinition_EscalationChainReachesTheBreach(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	category := uuid.NewString()
	d := workflows.DefaultDefinition()
	d.Escalation = workflows.EscalateNone
	var saved workflows.Definition
	e.do("PUT", "/workflow/definitions/"+category, admin, d).want(t, http.StatusOK, &saved)
	if saved.Escalation != workflows.EscalateNone {
		t.Fatalf("saved escalation = %q", saved.Escalation)
	}
	d.Escalation = ""
	e.do("PUT", "/workflow/definitions/"+category, admin, d).want(t, http.StatusOK, &saved)
	for version, want := range map[int]string{1: workflows.EscalateNone, 2: ""} {
		got, err := e.store.Escalation(context.Background(), workflows.LoadEscalationInput{CategoryID: category, DefinitionVersion: version})
		if err != nil || got.Chain != want {
			t.Fatalf("version %d: chain %q (%v), want %q", version, got.Chain, err, want)
		}
	}
}
