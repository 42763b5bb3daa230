package workflows

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/ticketflow/ticketflow/internal/events"
)

// newHarnessLoading is newHarness with another LoadProcess: the process,
// policy and calendar a run starts with.
func newHarnessLoading(t *testing.T, b *backend, load func(context.Context, LoadProcessInput) (LoadProcessResult, error)) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(opened)
	env.RegisterWorkflow(TicketWorkflow)
	for name, fn := range map[string]any{
		ActivityLoadProcess: load, ActivityAssignAgent: b.AssignAgent, ActivityCheckAssignable: b.CheckAssignable,
		ActivityRecordState: b.RecordState, ActivityPublishEvent: b.PublishEvent,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	return &harness{t: t, env: env, b: b, states: map[string]TicketState{}}
}

// runOpenedAt is run for a ticket opened, and a run started, at start.
func (h *harness) runOpenedAt(start time.Time, end time.Duration) error {
	h.env.SetStartTime(start)
	h.at(end, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(TicketWorkflow, TicketInput{
		TicketID: "ticket-1", Title: "Printer on fire", CategoryID: "cat-1",
		Priority: "normal", RequesterID: "requester-1", CreatedAt: start,
	})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	return h.env.GetWorkflowError()
}

// slaEvents decodes the events of typ (sla.warning or sla.breached), with
// the time each was published.
type publishedSLA struct {
	SLAEvent
	at time.Time
}

func slaEventsOf(t *testing.T, b *backend, typ string) []publishedSLA {
	t.Helper()
	var out []publishedSLA
	for _, e := range b.eventsOf(typ) {
		var d SLAEvent
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("decode %s: %v", typ, err)
		}
		out = append(out, publishedSLA{SLAEvent: d, at: e.Time})
	}
	return out
}

// The resolution clock warns at WarnRatio of its budget and breaches at the
// end of it by the passing of time alone: no priority change, no move
// needed. The first response was met, so it is the resolution breach that
// escalates.
func TestSLA_ResolutionWarnsThenBreachesByTimeAlone(t *testing.T) {
	h := newHarness(t, newBackend())
	h.signal(10*time.Minute, SignalComment, CommentSignal{EventID: "reply", AuthorID: "agent-a", AuthorRole: RoleAgent})
	h.move(20*time.Minute, StepInProgress, RoleAgent)
	// 8 h budget, warn ratio 0.8: warning at 6 h 24 min, breach at 8 h.
	warnAt, dueAt := 6*time.Hour+24*time.Minute, 8*time.Hour
	h.snapshot(warnAt-time.Minute, "before warning", RoleAgent)
	h.snapshot(warnAt+time.Minute, "warned", RoleAgent)
	h.snapshot(dueAt-time.Minute, "before breach", RoleAgent)
	h.snapshot(dueAt+time.Minute, "breached", RoleAgent)
	_ = h.run(10 * time.Hour)

	if s := h.states["before warning"]; s.Resolution.Warned || !s.FirstResponse.Met {
		t.Fatalf("before 80%% of the resolution time: resolution %+v first response %+v", s.Resolution, s.FirstResponse)
	}
	if s := h.states["warned"]; !s.Resolution.Warned || s.Resolution.Breached {
		t.Fatalf("after 80%% of the resolution time: %+v", s.Resolution)
	}
	if s := h.states["before breach"]; s.Resolution.Breached || s.Escalated || s.Priority != "normal" {
		t.Fatalf("a minute before the deadline: resolution %+v escalated %v priority %s", s.Resolution, s.Escalated, s.Priority)
	}
	s := h.states["breached"]
	if !s.Resolution.Breached || s.Resolution.Met || s.Resolution.RunningSince != nil {
		t.Fatalf("after the deadline: resolution %+v", s.Resolution)
	}
	// A breached clock keeps showing when it was due.
	if s.Resolution.Due == nil || !s.Resolution.Due.Equal(opened.Add(dueAt)) {
		t.Fatalf("breached resolution due %v, want %s", s.Resolution.Due, opened.Add(dueAt))
	}
	if !s.Escalated || s.Priority != "high" || s.TeamID != "team-esc" || s.AssigneeID != "lead-x" || s.Step != StepInProgress {
		t.Fatalf("escalation: escalated %v priority %s team %s assignee %s step %s", s.Escalated, s.Priority, s.TeamID, s.AssigneeID, s.Step)
	}
	if s.FirstResponse.Breached {
		t.Fatal("the met first response breached")
	}

	warnings := slaEventsOf(t, h.b, events.SLAWarning)
	if len(warnings) != 1 || warnings[0].Kind != "resolution" || !warnings[0].at.Equal(opened.Add(warnAt)) || !warnings[0].Due.Equal(opened.Add(dueAt)) {
		t.Fatalf("sla.warning events = %+v, want one for resolution at %s", warnings, opened.Add(warnAt))
	}
	breaches := slaEventsOf(t, h.b, events.SLABreached)
	if len(breaches) != 1 || breaches[0].Kind != "resolution" || !breaches[0].at.Equal(opened.Add(dueAt)) || !breaches[0].Due.Equal(opened.Add(dueAt)) {
		t.Fatalf("sla.breached events = %+v, want one for resolution at %s", breaches, opened.Add(dueAt))
	}
	r := h.b.lastRecord()
	if !r.SLABreached || r.Priority != "high" || r.KeepPriority || r.AssigneeID != "lead-x" || r.Reason != "escalated: resolution SLA breached" {
		t.Fatalf("escalation record = %+v", r)
	}
	if len(h.b.eventsOf(events.SLABreached)) != 1 || len(h.b.eventsOf(events.TicketAssigned)) != 2 {
		t.Fatalf("events = %v", h.b.eventTypes())
	}
}

// After the first response breached and escalated, the resolution breach
// that follows by time alone is announced and recorded, but the ticket is
// not escalated a second time.
func TestSLA_ResolutionBreachAfterEscalationDoesNotEscalateAgain(t *testing.T) {
	h := newHarness(t, newBackend())
	h.snapshot(2*time.Hour, "after first breach", RoleAgent)
	h.snapshot(8*time.Hour+time.Minute, "after resolution breach", RoleAgent)
	_ = h.run(9 * time.Hour)

	first := h.states["after first breach"]
	if !first.FirstResponse.Breached || first.Resolution.Breached || first.Priority != "high" {
		t.Fatalf("after the first-response breach: %+v / %+v priority %s", first.FirstResponse, first.Resolution, first.Priority)
	}
	s := h.states["after resolution breach"]
	if !s.Resolution.Breached || s.Priority != "high" || s.AssigneeID != "lead-x" {
		t.Fatalf("after the resolution breach: resolution %+v priority %s assignee %s", s.Resolution, s.Priority, s.AssigneeID)
	}
	var kinds []string
	for _, e := range slaEventsOf(t, h.b, events.SLABreached) {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []string{"first_response", "resolution"}) {
		t.Fatalf("breaches = %v", kinds)
	}
	var warned []string
	for _, e := range slaEventsOf(t, h.b, events.SLAWarning) {
		warned = append(warned, e.Kind)
	}
	if !slices.Equal(warned, []string{"first_response", "resolution"}) {
		t.Fatalf("warnings = %v", warned)
	}
	if r := h.b.lastRecord(); r.Reason != "resolution SLA breached" || r.Priority != "high" {
		t.Fatalf("last record = %+v", r)
	}
	if n := len(h.b.eventsOf(events.TicketAssigned)); n != 2 {
		t.Fatalf("ticket.assigned = %d, want 2 (opening and the one escalation)", n)
	}
}

// A ticket resolved before its deadline neither warns nor breaches on the
// resolution clock, however long it then stays resolved.
func TestSLA_ResolvedInTimeNeverWarnsOrBreaches(t *testing.T) {
	b := newBackend()
	b.policy.AutoCloseSeconds = 0 // stays resolved
	h := newHarness(t, b)
	h.signal(10*time.Minute, SignalComment, CommentSignal{EventID: "reply", AuthorID: "agent-a", AuthorRole: RoleAgent})
	h.move(20*time.Minute, StepInProgress, RoleAgent)
	h.move(2*time.Hour, StepResolved, RoleAgent)
	h.snapshot(24*time.Hour, "a day later", RoleAgent)
	_ = h.run(25 * time.Hour)
	s := h.states["a day later"]
	if !s.Resolution.Met || s.Resolution.Breached || s.Resolution.Warned || s.Resolution.UsedSeconds != 2*3600 {
		t.Fatalf("resolution = %+v", s.Resolution)
	}
	if n := len(h.b.eventsOf(events.SLAWarning)) + len(h.b.eventsOf(events.SLABreached)); n != 0 {
		t.Fatalf("events = %v", h.b.eventTypes())
	}
}
