package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/ticketflow/ticketflow/internal/events"
)

// escBackend is the unit tests' backend with business hours for the
// ticket's team and an answer to ActivityLoadEscalation.
type escBackend struct {
	*backend
	cal *Calendar // the category team's hours

	escMu   sync.Mutex
	target  LoadEscalationResult
	fail    bool
	lookups []LoadEscalationInput
}

func newEscBackend(target LoadEscalationResult) *escBackend {
	b := &escBackend{backend: newBackend(), target: target}
	b.setTeam("team-esc", "esc-1", "esc-2")
	return b
}

func (b *escBackend) LoadProcess(ctx context.Context, in LoadProcessInput) (LoadProcessResult, error) {
	res, err := b.backend.LoadProcess(ctx, in)
	res.Calendar = b.cal
	return res, err
}

func (b *escBackend) LoadEscalation(_ context.Context, in LoadEscalationInput) (LoadEscalationResult, error) {
	b.escMu.Lock()
	defer b.escMu.Unlock()
	b.lookups = append(b.lookups, in)
	if b.fail {
		return LoadEscalationResult{}, temporal.NewNonRetryableApplicationError("store down", "StoreDown", errors.New("store down"))
	}
	return b.target, nil
}

// newEscHarness is a harness whose run can look up escalation targets.
func newEscHarness(t *testing.T, b *escBackend) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(opened)
	env.RegisterWorkflow(TicketWorkflow)
	for name, fn := range map[string]any{
		ActivityLoadProcess: b.LoadProcess, ActivityAssignAgent: b.AssignAgent, ActivityCheckAssignable: b.CheckAssignable,
		ActivityRecordState: b.RecordState, ActivityPublishEvent: b.PublishEvent, ActivityLoadEscalation: b.LoadEscalation,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	return &harness{t: t, env: env, b: b.backend, states: map[string]TicketState{}}
}

// runEsc starts a ticket of the given priority and runs until end.
func runEsc(h *harness, priority string, end time.Duration) {
	h.at(end, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(TicketWorkflow, TicketInput{
		TicketID: "ticket-1", Title: "Printer on fire", CategoryID: "cat-1",
		Priority: priority, RequesterID: "requester-1", CreatedAt: opened,
	})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

// breaches decodes the sla.breached events published.
func breaches(t *testing.T, b *backend) []SLABreachedEvent {
	t.Helper()
	var out []SLABreachedEvent
	for _, e := range b.eventsOf(events.SLABreached) {
		var d SLABreachedEvent
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func assignments(t *testing.T, b *backend) []AssignedEvent {
	t.Helper()
	var out []AssignedEvent
	for _, e := range b.eventsOf(events.TicketAssigned) {
		var d AssignedEvent
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestEscalation_BreachGoesToTheAvailableTeamLead(t *testing.T) {
	for _, chain := range []string{"", EscalateToTeamLead, "something newer"} {
		t.Run("chain "+chain, func(t *testing.T) {
			b := newEscBackend(LoadEscalationResult{Chain: chain, TeamLeadID: "lead-1", LeadAvailable: true})
			h := newEscHarness(t, b)
			h.snapshot(61*time.Minute, "breached", RoleAgent)
			runEsc(h, "normal", 2*time.Hour)

			s := h.states["breached"]
			if !s.Escalated || s.AssigneeID != "lead-1" || s.TeamID != "team-1" || s.Priority != "high" || s.WaitingForAgent {
				t.Fatalf("after the breach: escalated=%v assignee=%s team=%s priority=%s waiting=%v",
					s.Escalated, s.AssigneeID, s.TeamID, s.Priority, s.WaitingForAgent)
			}
			if want := []LoadEscalationInput{{CategoryID: "cat-1", TeamID: "team-1", EscalationTeamID: "team-esc"}}; !slices.Equal(b.lookups, want) {
				t.Fatalf("lookups = %+v, want %+v", b.lookups, want)
			}
			got := breaches(t, b.backend)
			want := SLABreachedEvent{
				SLAEvent: SLAEvent{
					TicketID: "ticket-1", Title: "Printer on fire", RequesterID: "requester-1", AssigneeID: "lead-1",
					TeamID: "team-1", Priority: "high", Kind: "first_response", Due: opened.Add(time.Hour),
				},
				TeamLeadID: "lead-1", EscalatedTo: EscalateToTeamLead, PreviousAssigneeID: "agent-a",
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("sla.breached = %+v, want %+v", got, want)
			}
			a := assignments(t, b.backend)
			if len(a) != 2 || a[1].AssigneeID != "lead-1" || a[1].PreviousAssigneeID != "agent-a" || a[1].Priority != "high" {
				t.Fatalf("ticket.assigned = %+v, want the opening's and the lead's", a)
			}
			r := h.b.lastRecord()
			if r.AssigneeID != "lead-1" || r.Priority != "high" || r.KeepPriority || !r.SLABreached || r.Reason != "escalated: first_response SLA breached" {
				t.Fatalf("escalation record = %+v", r)
			}
		})
	}
}

func TestEscalation_LeadAwayOrChainTeamGoesToTheEscalationTeamInItsHours(t *testing.T) {
	berlin := &Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 9 * 60, End: 17 * 60}
	allDay := &Calendar{TimeZone: "UTC", Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, Start: 0, End: 24 * 60}
	for name, target := range map[string]LoadEscalationResult{
		"lead away":                 {TeamLeadID: "lead-1", LeadAvailable: false, EscalationCalendar: allDay},
		"no lead":                   {EscalationCalendar: allDay},
		"chain team skips the lead": {Chain: EscalateToTeam, TeamLeadID: "lead-1", LeadAvailable: true, EscalationCalendar: allDay},
	} {
		t.Run(name, func(t *testing.T) {
			b := newEscBackend(target)
			b.cal = berlin
			b.policy.BusinessHours = true
			h := newEscHarness(t, b)
			h.snapshot(time.Minute, "opened", RoleAgent)
			h.snapshot(61*time.Minute, "breached", RoleAgent)
			runEsc(h, "normal", 10*time.Hour)

			// Opened Monday 10:00 in Berlin (09:00 UTC): first response due
			// 11:00 Berlin, resolution (8 business hours) Tuesday 10:00 Berlin.
			if d := h.states["opened"].Resolution.Due; d == nil || !d.Equal(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)) {
				t.Fatalf("resolution due at opening %v", d)
			}
			s := h.states["breached"]
			if s.TeamID != "team-esc" || s.AssigneeID != "esc-1" || s.Priority != "high" || s.Calendar == nil || s.Calendar.TimeZone != "UTC" {
				t.Fatalf("after the breach: team=%s assignee=%s priority=%s calendar=%+v", s.TeamID, s.AssigneeID, s.Priority, s.Calendar)
			}
			// One of the 8 hours was used in Berlin's hours; the other 7
			// count around the clock from the breach at 10:00 UTC.
			wantDue := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
			if d := s.Resolution.Due; d == nil || !d.Equal(wantDue) || s.Resolution.UsedSeconds != 3600 {
				t.Fatalf("resolution due %v used %d, want %s and 3600", d, s.Resolution.UsedSeconds, wantDue)
			}
			got := breaches(t, b.backend)
			if len(got) != 2 {
				t.Fatalf("sla.breached = %+v, want first response then resolution", got)
			}
			first := got[0]
			if first.Kind != "first_response" || first.EscalatedTo != EscalateToTeam || first.TeamLeadID != target.TeamLeadID ||
				first.TeamID != "team-esc" || first.PreviousTeamID != "team-1" || first.AssigneeID != "esc-1" ||
				first.PreviousAssigneeID != "agent-a" || first.Priority != "high" {
				t.Fatalf("first sla.breached = %+v", first)
			}
			// The resolution clock breaches in the new hours, without a second
			// escalation; the lead asked for is the escalation team's.
			second := got[1]
			if second.Kind != "resolution" || !second.Due.Equal(wantDue) || second.EscalatedTo != EscalateNone ||
				second.Priority != "high" || second.AssigneeID != "esc-1" || second.PreviousAssigneeID != "" || second.PreviousTeamID != "" {
				t.Fatalf("second sla.breached = %+v", second)
			}
			if len(b.lookups) != 2 || b.lookups[1].TeamID != "team-esc" {
				t.Fatalf("lookups = %+v, want the second for team-esc", b.lookups)
			}
			if a := assignments(t, b.backend); len(a) != 2 || a[1].AssigneeID != "esc-1" || a[1].TeamID != "team-esc" {
				t.Fatalf("ticket.assigned = %+v", a)
			}
		})
	}
}

func TestEscalation_NobodyInTheEscalationTeamLeavesTheAssignee(t *testing.T) {
	b := newEscBackend(LoadEscalationResult{TeamLeadID: "lead-1", LeadAvailable: false})
	b.setTeam("team-esc")
	h := newEscHarness(t, b)
	h.snapshot(61*time.Minute, "breached", RoleAgent)
	runEsc(h, "normal", 2*time.Hour)
	s := h.states["breached"]
	if s.AssigneeID != "agent-a" || s.WaitingForAgent || s.TeamID != "team-esc" || s.Priority != "high" {
		t.Fatalf("after the breach: assignee=%s waiting=%v team=%s priority=%s", s.AssigneeID, s.WaitingForAgent, s.TeamID, s.Priority)
	}
	if got := breaches(t, b.backend); len(got) != 1 || got[0].AssigneeID != "agent-a" || got[0].PreviousAssigneeID != "" || got[0].EscalatedTo != EscalateToTeam {
		t.Fatalf("sla.breached = %+v", got)
	}
	if a := assignments(t, b.backend); len(a) != 1 {
		t.Fatalf("ticket.assigned = %+v, want only the opening's", a)
	}
}

func TestEscalation_ChainNoneOnlyRaisesThePriorityCappedAtUrgent(t *testing.T) {
	for _, c := range []struct{ from, want string }{{"normal", "high"}, {"high", "urgent"}, {"urgent", "urgent"}} {
		t.Run(c.from, func(t *testing.T) {
			b := newEscBackend(LoadEscalationResult{Chain: EscalateNone, TeamLeadID: "lead-1", LeadAvailable: true})
			h := newEscHarness(t, b)
			h.snapshot(61*time.Minute, "breached", RoleAgent)
			runEsc(h, c.from, 2*time.Hour)
			s := h.states["breached"]
			if !s.Escalated || s.AssigneeID != "agent-a" || s.TeamID != "team-1" || s.Priority != c.want {
				t.Fatalf("after the breach: escalated=%v assignee=%s team=%s priority=%s", s.Escalated, s.AssigneeID, s.TeamID, s.Priority)
			}
			got := breaches(t, b.backend)
			if len(got) != 1 || got[0].EscalatedTo != EscalateNone || got[0].TeamLeadID != "lead-1" || got[0].AssigneeID != "agent-a" || got[0].Priority != c.want {
				t.Fatalf("sla.breached = %+v", got)
			}
			if a := assignments(t, b.backend); len(a) != 1 {
				t.Fatalf("ticket.assigned = %+v, want only the opening's", a)
			}
			if r := h.b.lastRecord(); r.Priority != c.want || r.KeepPriority {
				t.Fatalf("record = %+v, want priority %s written", r, c.want)
			}
		})
	}
}

func TestEscalation_FailedLookupStillEscalatesToTheTeamInTheOldHours(t *testing.T) {
	berlin := &Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 9 * 60, End: 17 * 60}
	b := newEscBackend(LoadEscalationResult{})
	b.fail = true
	b.cal = berlin
	b.policy.BusinessHours = true
	h := newEscHarness(t, b)
	h.snapshot(61*time.Minute, "breached", RoleAgent)
	runEsc(h, "normal", 2*time.Hour)
	s := h.states["breached"]
	if s.TeamID != "team-esc" || s.AssigneeID != "esc-1" || s.Calendar == nil || s.Calendar.TimeZone != "Europe/Berlin" {
		t.Fatalf("after the breach: team=%s assignee=%s calendar=%+v", s.TeamID, s.AssigneeID, s.Calendar)
	}
	if got := breaches(t, b.backend); len(got) != 1 || got[0].TeamLeadID != "" || got[0].EscalatedTo != EscalateToTeam {
		t.Fatalf("sla.breached = %+v", got)
	}
}

// TestEscalation_RecordHistory records, when RECORD_HISTORIES is set, a
// real run on the Temporal server at TEMPORAL_ADDRESS (127.0.0.1:7233)
// whose first-response SLA breaches and escalates to the team lead, then
// closes: workers/testdata/histories/ticket-escalation-chain-v1.json, which
// TestReplay_RecordedHistories replays. The activities are the unit tests'
// backend; replay needs only their results, which the history holds.
func TestEscalation_RecordHistory(t *testing.T) {
	if os.Getenv("RECORD_HISTORIES") == "" {
		t.Skip("set RECORD_HISTORIES to record the history")
	}
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		addr = "127.0.0.1:7233"
	}
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := newEscBackend(LoadEscalationResult{Chain: EscalateToTeamLead, TeamLeadID: "lead-1", LeadAvailable: true})
	b.policy = SLAPolicy{FirstResponseSeconds: 2, ResolutionSeconds: 3600, WarnRatio: 0.5}
	queue := "escalation-record-" + uuid.NewString()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(TicketWorkflow)
	for name, fn := range map[string]any{
		ActivityLoadProcess: b.LoadProcess, ActivityAssignAgent: b.AssignAgent, ActivityCheckAssignable: b.CheckAssignable,
		ActivityRecordState: b.RecordState, ActivityPublishEvent: b.PublishEvent, ActivityLoadEscalation: b.LoadEscalation,
		ActivityRequestSurvey: func(context.Context, RequestSurveyInput) error { return nil },
	} {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ticketID := uuid.NewString()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: TicketWorkflowID(ticketID), TaskQueue: queue}, TicketWorkflow, TicketInput{
		TicketID: ticketID, Title: "Printer on fire", CategoryID: "cat-1", Priority: "normal",
		RequesterID: "requester-1", CreatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for len(b.eventsOf(events.SLABreached)) == 0 {
		if ctx.Err() != nil {
			t.Fatal("no breach within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
	lead := Actor{ID: "lead-1", Role: RoleAgent}
	for _, to := range []string{StepInProgress, StepResolved, StepClosed} {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), UpdateName: UpdateTransition, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{TransitionRequest{To: to, Actor: lead}},
		})
		if err != nil {
			t.Fatalf("move to %s: %v", to, err)
		}
		var s TicketState
		if err := h.Get(ctx, &s); err != nil || s.Step != to {
			t.Fatalf("move to %s: %+v, %v", to, s.Step, err)
		}
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got := breaches(t, b.backend)
	if len(got) != 1 || got[0].EscalatedTo != EscalateToTeamLead || got[0].AssigneeID != "lead-1" {
		t.Fatalf("sla.breached = %+v", got)
	}

	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, e)
	}
	raw, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workers", "testdata", "histories", "ticket-escalation-chain-v1.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (%d events)", path, len(hist.Events))
}
