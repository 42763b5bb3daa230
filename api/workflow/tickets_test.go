package workflow_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ticketflow/ticketflow/activities"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// ticketEnv is adminEnv with a real Temporal: the shared dev server, and a
// worker of its own task queue running TicketWorkflow with the real
// LoadProcess over the test's store (so a run starts with what the admin
// API saved). The helpdesk's side is stubbed: recording the state and
// asking for surveys do nothing.
type ticketEnv struct {
	*adminEnv
	temporal client.Client
	queue    string
}

func newTicketEnv(t *testing.T) *ticketEnv {
	t.Helper()
	log := testenv.Logger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tc, err := temporalx.Dial(ctx, testenv.TemporalAddress(), "default", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	if err := temporalx.EnsureSearchAttributes(ctx, tc, "default"); err != nil {
		t.Fatal(err)
	}
	e := serveWorkflowAPI(t, tc, "default", 30*time.Second)

	queue := testenv.Name("tickets")
	acts := activities.New(e.store, nil)
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflow(workflows.TicketWorkflow)
	for name, fn := range map[string]any{
		workflows.ActivityLoadProcess:     acts.LoadProcess,
		workflows.ActivityAssignAgent:     acts.AssignAgent,
		workflows.ActivityCheckAssignable: acts.CheckAssignable,
		workflows.ActivityPublishEvent:    acts.PublishEvent,
		workflows.ActivityRecordState:     func(context.Context, workflows.RecordStateInput) error { return nil },
		workflows.ActivityRequestSurvey:   func(context.Context, workflows.RequestSurveyInput) error { return nil },
	} {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return &ticketEnv{adminEnv: e, temporal: tc, queue: queue}
}

// open starts the run of a new ticket of the category, as the consumer of
// ticket.created does, and waits until the API serves its state. It
// returns the ticket's ID and when it was opened.
func (e *ticketEnv) open(category, requesterID string) (string, time.Time) {
	e.t.Helper()
	id := uuid.NewString()
	created := time.Now().UTC().Truncate(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	run, err := e.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.TicketWorkflowID(id), TaskQueue: e.queue,
	}, workflows.TicketWorkflow, workflows.TicketInput{
		TicketID: id, Title: "Printer on fire", CategoryID: category, Priority: "normal", RequesterID: requesterID, CreatedAt: created,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = e.temporal.TerminateWorkflow(context.Background(), run.GetID(), "", "test over")
	})
	// The run answers queries once its opening is done.
	for {
		_, err := e.temporal.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryState, workflows.StateQuery{})
		if err == nil {
			return id, created
		}
		if ctx.Err() != nil {
			e.t.Fatalf("query the new ticket: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// state is the part of GET /workflow/tickets/{id} these tests read.
type state struct {
	Step               string           `json:"step"`
	Status             string           `json:"status"`
	AllowedTransitions []string         `json:"allowed_transitions"`
	Steps              []workflows.Step `json:"steps"`
	DefinitionVersion  int              `json:"definition_version"`
	SLA                struct {
		FirstResponseDue *time.Time `json:"first_response_due"`
		ResolutionDue    *time.Time `json:"resolution_due"`
	} `json:"sla"`
	History []workflows.TransitionRecord `json:"history"`
}

func (e *ticketEnv) state(ticket, token string) state {
	e.t.Helper()
	var s state
	e.do("GET", "/workflow/tickets/"+ticket, token, nil).want(e.t, http.StatusOK, &s)
	return s
}

func (e *ticketEnv) move(ticket, token, to string) apiResponse {
	e.t.Helper()
	return e.do("POST", "/workflow/tickets/"+ticket+"/transitions", token, map[string]string{"to": to})
}

// A move the ticket's step does not allow answers 409, and one the
// caller's role may not make answers 422; both say why in the problem's
// detail, in the validator's words, and change nothing.
func TestTransition_Rejected409And422CarryTheReason(t *testing.T) {
	t.Parallel()
	e := newTicketEnv(t)
	_, agent, _ := e.staff()
	requesterID := e.user("Rita Requester", authn.RoleEmployee)
	requester := e.token(requesterID, authn.RoleEmployee)
	ticket, _ := e.open(uuid.NewString(), requesterID)
	if s := e.state(ticket, agent); s.Step != workflows.StepTriage {
		t.Fatalf("opened in %s, want triage", s.Step)
	}

	conflict := e.move(ticket, agent, workflows.StepClosed).problem(t, http.StatusConflict, "")
	if want := "a ticket cannot move from triage to closed"; conflict.Detail != want {
		t.Errorf("409 detail %q, want %q", conflict.Detail, want)
	}
	role := e.move(ticket, requester, workflows.StepInProgress).problem(t, http.StatusUnprocessableEntity, "")
	if want := "the requester may not move a ticket from triage to in_progress"; role.Detail != want {
		t.Errorf("422 detail %q, want %q", role.Detail, want)
	}
	unknown := e.move(ticket, agent, "teleported").problem(t, http.StatusUnprocessableEntity, "")
	if !strings.Contains(unknown.Detail, `no step "teleported"`) {
		t.Errorf("unknown step detail %q", unknown.Detail)
	}
	if s := e.state(ticket, agent); s.Step != workflows.StepTriage || len(s.History) != 1 {
		t.Fatalf("rejected moves changed the ticket: step %s history %+v", s.Step, s.History)
	}
	// The same requester may make the moves that are theirs.
	var moved state
	e.move(ticket, agent, workflows.StepInProgress).want(t, http.StatusOK, &moved)
	e.move(ticket, agent, workflows.StepResolved).want(t, http.StatusOK, &moved)
	e.move(ticket, requester, workflows.StepInProgress).want(t, http.StatusOK, &moved)
	if moved.Step != workflows.StepInProgress || moved.History[len(moved.History)-1].Actor.Role != workflows.RoleRequester {
		t.Fatalf("the requester's reopen: %+v", moved)
	}
}

// A run keeps the process definition and SLA policy it started with: after
// an admin saves version 2 of the category's process and a new policy,
// the ticket opened under version 1 still offers version 1's moves and
// deadlines, and a ticket opened afterwards follows version 2.
func TestDefinitionVersion_RunKeepsTheVersionItStartedWith(t *testing.T) {
	t.Parallel()
	e := newTicketEnv(t)
	admin, agent, _ := e.staff()
	requesterID := e.user("Rita Requester", authn.RoleEmployee)
	category := uuid.NewString()

	v1 := workflows.DefaultDefinition()
	var saved workflows.Definition
	e.do("PUT", "/workflow/definitions/"+category, admin, v1).want(t, http.StatusOK, &saved)
	e.do("PUT", "/workflow/sla-policies/normal", admin, workflows.SLAPolicy{
		FirstResponseSeconds: 3600, ResolutionSeconds: 4 * 3600, WarnRatio: 0.8, AutoCloseSeconds: 3600,
	}).want(t, http.StatusOK, nil)
	if saved.Version != 1 {
		t.Fatalf("first save is version %d", saved.Version)
	}
	old, oldOpened := e.open(category, requesterID)

	// Version 2: a pending "on hold" step out of triage, and longer budgets.
	v2 := workflows.DefaultDefinition()
	v2.Steps = append(v2.Steps, workflows.Step{Key: "on_hold", Name: "On hold", Status: workflows.StatusPending})
	v2.Transitions = append(v2.Transitions,
		workflows.Transition{From: workflows.StepTriage, To: "on_hold", Roles: []string{workflows.RoleAgent, workflows.RoleAdmin}},
		workflows.Transition{From: "on_hold", To: workflows.StepInProgress, Roles: []string{workflows.RoleAgent, workflows.RoleAdmin}},
	)
	e.do("PUT", "/workflow/definitions/"+category, admin, v2).want(t, http.StatusOK, &saved)
	e.do("PUT", "/workflow/sla-policies/normal", admin, workflows.SLAPolicy{
		FirstResponseSeconds: 2 * 3600, ResolutionSeconds: 8 * 3600, WarnRatio: 0.8, AutoCloseSeconds: 3600,
	}).want(t, http.StatusOK, nil)
	if saved.Version != 2 {
		t.Fatalf("second save is version %d", saved.Version)
	}
	fresh, freshOpened := e.open(category, requesterID)

	due := func(what string, got *time.Time, want time.Time) {
		t.Helper()
		if got == nil || !got.Equal(want) {
			t.Errorf("%s = %v, want %s", what, got, want)
		}
	}
	o := e.state(old, agent)
	if o.DefinitionVersion != 1 || len(o.Steps) != len(v1.Steps) || !slices.Equal(o.AllowedTransitions, []string{workflows.StepInProgress}) {
		t.Fatalf("ticket opened under version 1: version %d steps %d allowed %v", o.DefinitionVersion, len(o.Steps), o.AllowedTransitions)
	}
	due("version 1 ticket's first response due", o.SLA.FirstResponseDue, oldOpened.Add(time.Hour))
	due("version 1 ticket's resolution due", o.SLA.ResolutionDue, oldOpened.Add(4*time.Hour))

	n := e.state(fresh, agent)
	if n.DefinitionVersion != 2 || len(n.Steps) != len(v2.Steps) || !slices.Equal(n.AllowedTransitions, []string{workflows.StepInProgress, "on_hold"}) {
		t.Fatalf("ticket opened under version 2: version %d steps %d allowed %v", n.DefinitionVersion, len(n.Steps), n.AllowedTransitions)
	}
	due("version 2 ticket's first response due", n.SLA.FirstResponseDue, freshOpened.Add(2*time.Hour))
	due("version 2 ticket's resolution due", n.SLA.ResolutionDue, freshOpened.Add(8*time.Hour))

	// Version 2's step does not exist for the old ticket, and works for the new.
	p := e.move(old, agent, "on_hold").problem(t, http.StatusUnprocessableEntity, "")
	if !strings.Contains(p.Detail, `no step "on_hold"`) {
		t.Errorf("old ticket to on_hold: %q", p.Detail)
	}
	var held state
	e.move(fresh, agent, "on_hold").want(t, http.StatusOK, &held)
	if held.Step != "on_hold" || held.Status != workflows.StatusPending || held.DefinitionVersion != 2 || held.SLA.ResolutionDue != nil {
		t.Fatalf("new ticket on hold: %+v", held)
	}
	if o := e.state(old, agent); o.DefinitionVersion != 1 || o.Step != workflows.StepTriage {
		t.Fatalf("old ticket after the new one moved: version %d step %s", o.DefinitionVersion, o.Step)
	}
}
