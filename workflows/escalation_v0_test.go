package workflows

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketflow/ticketflow/internal/events"
)

// The runs started before a GetVersion guard was added replay its
// DefaultVersion branch for as long as they live. No recorded history takes
// those branches, so these tests force the old version and pin the old
// behaviour down: a change to an old branch fails here, not in production
// on a replay.

// v0Harness is newEscHarness whose records and events also go, in order,
// into one log ("record <reason>", "publish <type>"), and whose run takes
// the old branch of the guards in old.
func v0Harness(t *testing.T, b *escBackend, old ...string) (*harness, func() []string) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(opened)
	env.RegisterWorkflow(TicketWorkflow)
	var (
		mu  sync.Mutex
		log []string
	)
	add := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, line)
	}
	record := func(ctx context.Context, in RecordStateInput) error {
		add("record " + in.Reason)
		return b.RecordState(ctx, in)
	}
	publish := func(ctx context.Context, in PublishEventInput) error {
		add("publish " + in.Type)
		return b.PublishEvent(ctx, in)
	}
	for name, fn := range map[string]any{
		ActivityLoadProcess: b.LoadProcess, ActivityAssignAgent: b.AssignAgent, ActivityCheckAssignable: b.CheckAssignable,
		ActivityRecordState: record, ActivityPublishEvent: publish, ActivityLoadEscalation: b.LoadEscalation,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	for _, id := range old {
		env.OnGetVersion(id, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	h := &harness{t: t, env: env, b: b.backend, states: map[string]TicketState{}}
	return h, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(log)
	}
}

// Before "escalation-chain", the first breach published sla.breached (a
// plain SLAEvent, as things stood before the breach), raised the priority
// and gave the ticket to the definition's escalation team, ignoring the
// chain, the team lead and the escalation team's hours; later breaches only
// published and recorded.
func TestVersionEscalationChain_OldRunsEscalateToTheEscalationTeam(t *testing.T) {
	berlin := &Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 9 * 60, End: 17 * 60}
	allDay := &Calendar{TimeZone: "UTC", Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, Start: 0, End: 24 * 60}
	// The new branch would give this ticket to the lead, in other hours.
	b := newEscBackend(LoadEscalationResult{Chain: EscalateToTeamLead, TeamLeadID: "lead-1", LeadAvailable: true, EscalationCalendar: allDay})
	b.cal = berlin
	b.policy.BusinessHours = true
	h, log := v0Harness(t, b, versionEscalationChain)
	h.snapshot(59*time.Minute, "before", RoleAgent)
	h.snapshot(61*time.Minute, "breached", RoleAgent)
	runEsc(h, "normal", 30*time.Hour)
	h.env.AssertExpectations(t) // the guard was asked

	if s := h.states["before"]; s.Escalated || s.Priority != "normal" || s.AssigneeID != "agent-a" || s.TeamID != "team-1" {
		t.Fatalf("before the breach: %+v", s)
	}
	s := h.states["breached"]
	if !s.Escalated || !s.FirstResponse.Breached || s.Priority != "high" || s.TeamID != "team-esc" || s.AssigneeID != "esc-1" ||
		s.WaitingForAgent || s.Calendar == nil || s.Calendar.TimeZone != "Europe/Berlin" {
		t.Fatalf("after the breach: escalated=%v priority=%s team=%s assignee=%s waiting=%v calendar=%+v",
			s.Escalated, s.Priority, s.TeamID, s.AssigneeID, s.WaitingForAgent, s.Calendar)
	}
	if len(b.lookups) != 0 {
		t.Fatalf("old runs looked the escalation up: %+v", b.lookups)
	}

	// sla.breached went out first, then the escalation was recorded, then
	// announced; the resolution breach (in Berlin's hours: Tuesday 10:00)
	// only publishes and records.
	want := []string{
		"record assigned round-robin", "publish ticket.assigned",
		"publish sla.warning",
		"publish sla.breached", "record escalated: first_response SLA breached", "publish ticket.assigned",
		"publish sla.warning",
		"publish sla.breached", "record resolution SLA breached",
	}
	if got := log(); !slices.Equal(got, want) {
		t.Fatalf("records and events:\n got %q\nwant %q", got, want)
	}
	breached := b.eventsOf(events.SLABreached)
	wantData := []SLAEvent{
		{TicketID: "ticket-1", Title: "Printer on fire", RequesterID: "requester-1", AssigneeID: "agent-a",
			TeamID: "team-1", Priority: "normal", Kind: "first_response", Due: opened.Add(time.Hour)},
		{TicketID: "ticket-1", Title: "Printer on fire", RequesterID: "requester-1", AssigneeID: "esc-1",
			TeamID: "team-esc", Priority: "high", Kind: "resolution", Due: opened.Add(24 * time.Hour)},
	}
	for i, e := range breached {
		var d SLAEvent
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d != wantData[i] {
			t.Fatalf("sla.breached %d = %+v, want %+v", i, d, wantData[i])
		}
		// The old event is a plain SLAEvent: none of the chain's fields.
		var fields map[string]any
		if err := json.Unmarshal(e.Data, &fields); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"escalated_to", "team_lead_id", "previous_assignee_id", "previous_team_id"} {
			if _, ok := fields[k]; ok {
				t.Fatalf("sla.breached %d has %q: %s", i, k, e.Data)
			}
		}
	}
	a := assignments(t, b.backend)
	wantAssigned := AssignedEvent{TicketID: "ticket-1", Title: "Printer on fire", RequesterID: "requester-1", AssigneeID: "esc-1",
		PreviousAssigneeID: "agent-a", TeamID: "team-esc", Priority: "high", Reason: "escalated after an SLA breach"}
	if len(a) != 2 || a[1] != wantAssigned {
		t.Fatalf("ticket.assigned = %+v, want the opening's and %+v", a, wantAssigned)
	}
	esc := b.records[1]
	if esc.Reason != "escalated: first_response SLA breached" || esc.Priority != "high" || esc.KeepPriority ||
		esc.AssigneeID != "esc-1" || esc.TeamID != "team-esc" || !esc.SLABreached {
		t.Fatalf("escalation record = %+v", esc)
	}
}

// Before "escalation-chain", with nobody free in the escalation team the
// ticket still moved to that team and its agent kept it; without an
// escalation team only the priority rose.
func TestVersionEscalationChain_OldRunsKeepTheAgentWhenNobodyTakesIt(t *testing.T) {
	for name, setUp := range map[string]func(b *escBackend){
		"nobody free in the escalation team": func(b *escBackend) { b.setTeam("team-esc") },
		"no escalation team":                 func(b *escBackend) { b.def.EscalationTeamID = "" },
	} {
		t.Run(name, func(t *testing.T) {
			b := newEscBackend(LoadEscalationResult{Chain: EscalateToTeamLead, TeamLeadID: "lead-1", LeadAvailable: true})
			setUp(b)
			h, log := v0Harness(t, b, versionEscalationChain)
			h.snapshot(61*time.Minute, "breached", RoleAgent)
			runEsc(h, "urgent", 2*time.Hour)
			h.env.AssertExpectations(t)

			wantTeam := b.def.EscalationTeamID
			if wantTeam == "" {
				wantTeam = "team-1"
			}
			s := h.states["breached"]
			if !s.Escalated || s.Priority != "urgent" || s.AssigneeID != "agent-a" || s.WaitingForAgent || s.TeamID != wantTeam {
				t.Fatalf("after the breach: escalated=%v priority=%s assignee=%s waiting=%v team=%s, want team %s",
					s.Escalated, s.Priority, s.AssigneeID, s.WaitingForAgent, s.TeamID, wantTeam)
			}
			want := []string{
				"record assigned round-robin", "publish ticket.assigned",
				"publish sla.warning",
				"publish sla.breached", "record escalated: first_response SLA breached",
			}
			if got := log(); !slices.Equal(got, want) {
				t.Fatalf("records and events:\n got %q\nwant %q", got, want)
			}
			if len(b.lookups) != 0 {
				t.Fatalf("lookups = %+v", b.lookups)
			}
		})
	}
}

// Before "cancel-wakes", a cancellation request did not wake a run waiting
// with no timer pending: it ended at the next wake (here a signal, ten
// minutes later). Since, it ends at the request. The ticket waits on its
// requester, assigned: its SLA clocks are paused and it waits for no agent.
func TestVersionCancelWakes_OldRunsEndAtTheNextWake(t *testing.T) {
	for _, c := range []struct {
		name    string
		version workflow.Version
		ends    time.Duration
	}{
		{"old runs sleep on", workflow.DefaultVersion, 20 * time.Minute},
		{"new runs end at the request", 1, 10 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, newBackend())
			h.env.OnGetVersion(versionCancelWakes, workflow.DefaultVersion, 1).Return(c.version)
			h.move(time.Minute, StepInProgress, RoleAgent)
			h.move(2*time.Minute, StepWaiting, RoleAgent)
			h.snapshot(3*time.Minute, "waiting", RoleAgent)
			h.at(10*time.Minute, func() { h.env.CancelWorkflow() })
			if c.version == workflow.DefaultVersion {
				h.snapshot(15*time.Minute, "after the request", RoleAgent)
			}
			h.signal(20*time.Minute, SignalAgentAvailable, nil)
			h.env.ExecuteWorkflow(TicketWorkflow, TicketInput{
				TicketID: "ticket-1", Title: "Printer on fire", CategoryID: "cat-1",
				Priority: "normal", RequesterID: "requester-1", CreatedAt: opened,
			})
			if !h.env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			h.env.AssertExpectations(t)
			if s := h.states["waiting"]; s.Step != StepWaiting || s.WaitingForAgent || s.Resolution.Due != nil || s.FirstResponse.Due != nil {
				t.Fatalf("setup: %+v", s)
			}
			if err := h.env.GetWorkflowError(); !isCanceled(err) {
				t.Fatalf("workflow ended with %v, want cancelled", err)
			}
			if ended := h.env.Now().Sub(opened); ended != c.ends {
				t.Fatalf("the run ended %v after opening, want %v", ended, c.ends)
			}
			if s, ok := h.states["after the request"]; c.version == workflow.DefaultVersion && s.Step != StepWaiting {
				t.Fatalf("5 minutes after the request: ok=%v %+v, want the run still waiting", ok, s)
			}
		})
	}
}
