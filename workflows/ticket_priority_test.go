package workflows

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/ticketflow/ticketflow/internal/events"
)

// prioritySLAs are the policies of the priority tests: the tighter the
// priority, the shorter the budgets.
var prioritySLAs = map[string]SLAPolicy{
	"low":    {FirstResponseSeconds: 8 * 3600, ResolutionSeconds: 48 * 3600, WarnRatio: 0.8},
	"normal": {FirstResponseSeconds: 4 * 3600, ResolutionSeconds: 24 * 3600, WarnRatio: 0.8},
	"high":   {FirstResponseSeconds: 2 * 3600, ResolutionSeconds: 8 * 3600, WarnRatio: 0.8},
	"urgent": {FirstResponseSeconds: 3600, ResolutionSeconds: 4 * 3600, WarnRatio: 0.8},
}

// policyBackend is a backend whose SLA policy depends on the priority, and
// which counts the policies loaded.
type policyBackend struct {
	*backend
	loads []string
}

func (p *policyBackend) LoadProcess(_ context.Context, in LoadProcessInput) (LoadProcessResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loads = append(p.loads, in.Priority)
	pol := prioritySLAs[in.Priority]
	pol.Priority = in.Priority
	return LoadProcessResult{Definition: p.def, Policy: pol}, nil
}

func (p *policyBackend) loaded() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.loads...)
}

func (p *policyBackend) recordCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.records)
}

func (p *policyBackend) recordAt(i int) RecordStateInput {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.records[i]
}

func newPriorityHarness(t *testing.T) (*harness, *policyBackend) {
	pb := &policyBackend{backend: newBackend()}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(opened)
	env.RegisterWorkflow(TicketWorkflow)
	for name, fn := range map[string]any{
		ActivityLoadProcess: pb.LoadProcess, ActivityAssignAgent: pb.AssignAgent, ActivityCheckAssignable: pb.CheckAssignable,
		ActivityRecordState: pb.RecordState, ActivityPublishEvent: pb.PublishEvent,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	return &harness{t: t, env: env, b: pb.backend, states: map[string]TicketState{}}, pb
}

func prioritySignal(id, priority string, at time.Duration) PrioritySignal {
	return PrioritySignal{EventID: id, Priority: priority, ActorID: "agent-a", At: opened.Add(at)}
}

func dueAt(t *testing.T, what string, c SLAState, want time.Time) {
	t.Helper()
	if c.Due == nil || !c.Due.Equal(want) {
		t.Fatalf("%s due %v, want %s (%+v)", what, c.Due, want, c)
	}
}

// A ticket 30 minutes into its 4-hour first-response budget that becomes
// urgent (1 hour) has 30 minutes left, and breaches at that new deadline.
func TestPriority_RaisingTightensTheRunningClocks(t *testing.T) {
	h, pb := newPriorityHarness(t)
	var recordsBefore, recordsAfter int
	h.at(29*time.Minute, func() { recordsBefore = pb.recordCount() })
	h.signal(30*time.Minute, SignalPriority, prioritySignal("e1", "urgent", 30*time.Minute))
	h.at(31*time.Minute, func() { recordsAfter = pb.recordCount() })
	h.snapshot(31*time.Minute, "raised", RoleAgent)
	h.snapshot(59*time.Minute, "before", RoleAgent)
	h.snapshot(61*time.Minute, "breached", RoleAgent)
	_ = h.run(2 * time.Hour)

	s := h.states["raised"]
	if s.Priority != "urgent" || s.Policy.Priority != "urgent" {
		t.Fatalf("priority %s, policy of %s, want urgent", s.Priority, s.Policy.Priority)
	}
	dueAt(t, "first response", s.FirstResponse, opened.Add(time.Hour))
	dueAt(t, "resolution", s.Resolution, opened.Add(4*time.Hour))
	if s.FirstResponse.BudgetSeconds != 3600 || s.FirstResponse.UsedSeconds != 30*60 {
		t.Fatalf("first response = %+v, want the urgent budget with 30 min used", s.FirstResponse)
	}
	if len(s.PriorityChanges) != 1 || s.PriorityChanges[0].From != "normal" || s.PriorityChanges[0].To != "urgent" ||
		s.PriorityChanges[0].ActorID != "agent-a" || s.PriorityChanges[0].EventID != "e1" {
		t.Fatalf("priority changes = %+v", s.PriorityChanges)
	}
	if got := pb.loaded(); len(got) != 2 || got[1] != "urgent" {
		t.Fatalf("policies loaded: %v, want normal then urgent", got)
	}
	// The board gets the new priority and deadlines; the helpdesk, which
	// already has the priority, is not told it again.
	if recordsAfter != recordsBefore+1 {
		t.Fatalf("%d state records for the priority change, want 1", recordsAfter-recordsBefore)
	}
	r := pb.recordAt(recordsBefore)
	if r.Priority != "urgent" || !r.KeepPriority || r.FirstDue == nil || !r.FirstDue.Equal(opened.Add(time.Hour)) {
		t.Fatalf("record of the priority change = %+v", r)
	}
	if first := pb.recordAt(0); !first.KeepPriority {
		t.Fatalf("the opening record writes the priority to the helpdesk: %+v", first)
	}
	if b := h.states["before"]; b.FirstResponse.Breached {
		t.Fatal("breached before the new deadline")
	}
	if b := h.states["breached"]; !b.FirstResponse.Breached {
		t.Fatalf("not breached after the new deadline: %+v", b.FirstResponse)
	}
	breaches := h.b.eventsOf(events.SLABreached)
	if len(breaches) != 1 {
		t.Fatalf("events = %v", h.b.eventTypes())
	}
	var e SLAEvent
	_ = json.Unmarshal(breaches[0].Data, &e)
	if e.Kind != "first_response" || !e.Due.Equal(opened.Add(time.Hour)) || e.Priority != "urgent" {
		t.Fatalf("sla.breached = %+v", e)
	}
}

// Lowering the priority loosens the clocks the same way.
func TestPriority_LoweringLoosensTheRunningClocks(t *testing.T) {
	h, _ := newPriorityHarness(t)
	h.signal(time.Hour, SignalPriority, prioritySignal("e1", "low", time.Hour))
	h.snapshot(time.Hour+time.Minute, "lowered", RoleAgent)
	_ = h.run(2 * time.Hour)
	s := h.states["lowered"]
	dueAt(t, "first response", s.FirstResponse, opened.Add(8*time.Hour))
	dueAt(t, "resolution", s.Resolution, opened.Add(48*time.Hour))
}

// A clock already met keeps being met; a paused clock stays paused with the
// new budget, and resumes with what is left of it.
func TestPriority_MetAndPausedClocks(t *testing.T) {
	h, _ := newPriorityHarness(t)
	h.signal(10*time.Minute, SignalComment, CommentSignal{EventID: "c1", AuthorID: "agent-a", AuthorRole: RoleAgent})
	h.move(15*time.Minute, StepInProgress, RoleAgent)
	h.move(time.Hour, StepWaiting, RoleAgent)
	h.signal(2*time.Hour, SignalPriority, prioritySignal("e1", "urgent", 2*time.Hour))
	h.snapshot(2*time.Hour+time.Minute, "paused", RoleAgent)
	h.signal(3*time.Hour, SignalComment, CommentSignal{EventID: "c2", AuthorID: "requester-1", AuthorRole: "employee"})
	h.snapshot(3*time.Hour+time.Minute, "resumed", RoleAgent)
	_ = h.run(4 * time.Hour)

	p := h.states["paused"]
	if p.Priority != "urgent" {
		t.Fatalf("priority %s, want urgent", p.Priority)
	}
	if fr := p.FirstResponse; !fr.Met || fr.Due != nil || fr.BudgetSeconds != 4*3600 || fr.UsedSeconds != 600 {
		t.Fatalf("met first response changed: %+v", fr)
	}
	if r := p.Resolution; !r.Paused || r.Due != nil || r.BudgetSeconds != 4*3600 || r.UsedSeconds != 3600 {
		t.Fatalf("paused resolution = %+v, want paused with the urgent budget and 1 h used", r)
	}
	r := h.states["resumed"]
	dueAt(t, "resolution", r.Resolution, opened.Add(3*time.Hour+3*time.Hour))
	if !r.FirstResponse.Met || r.FirstResponse.Breached {
		t.Fatalf("first response after resuming = %+v", r.FirstResponse)
	}
}

// A breached clock stays breached at its old deadline; a running one whose
// time used is already past the new budget breaches at once.
func TestPriority_BreachedClockStaysAndOverspentClockBreaches(t *testing.T) {
	h, pb := newPriorityHarness(t)
	h.snapshot(4*time.Hour+time.Minute, "escalated", RoleAgent)
	h.signal(4*time.Hour+10*time.Minute, SignalPriority, prioritySignal("e1", "urgent", 4*time.Hour+10*time.Minute))
	h.snapshot(4*time.Hour+11*time.Minute, "urgent", RoleAgent)
	_ = h.run(5 * time.Hour)

	if e := h.states["escalated"]; !e.FirstResponse.Breached || e.Priority != "high" {
		t.Fatalf("after the first-response breach: priority %s, %+v", e.Priority, e.FirstResponse)
	}
	// The escalation's raise is the one priority the run writes to the
	// helpdesk.
	var raised []RecordStateInput
	for i := range pb.recordCount() {
		if r := pb.recordAt(i); !r.KeepPriority {
			raised = append(raised, r)
		}
	}
	if len(raised) != 1 || raised[0].Priority != "high" || raised[0].Reason != "escalated: first_response SLA breached" {
		t.Fatalf("records writing the priority: %+v", raised)
	}
	s := h.states["urgent"]
	if s.Priority != "urgent" {
		t.Fatalf("priority %s, want urgent", s.Priority)
	}
	fr := s.FirstResponse
	if !fr.Breached || fr.BudgetSeconds != 4*3600 {
		t.Fatalf("breached first response changed: %+v", fr)
	}
	dueAt(t, "breached first response", fr, opened.Add(4*time.Hour))
	// 4 h 10 min used of the urgent 4 h resolution budget.
	if !s.Resolution.Breached {
		t.Fatalf("resolution = %+v, want breached at once", s.Resolution)
	}
	dueAt(t, "resolution", s.Resolution, opened.Add(4*time.Hour))
	if n := len(h.b.eventsOf(events.SLABreached)); n != 2 {
		t.Fatalf("%d sla.breached, want 2", n)
	}
}

// A redelivered event is applied once, even when it comes after a later
// change; a late one older than the last change applied is ignored.
func TestPriority_DuplicateAndStaleEventsIgnored(t *testing.T) {
	h, pb := newPriorityHarness(t)
	h.signal(30*time.Minute, SignalPriority, prioritySignal("e1", "urgent", 30*time.Minute))
	h.signal(40*time.Minute, SignalPriority, prioritySignal("e2", "high", 40*time.Minute))
	// e1 again (with a later time, so only its ID can tell).
	h.signal(50*time.Minute, SignalPriority, prioritySignal("e1", "urgent", 50*time.Minute))
	// e3, made before e2, arrives after it.
	h.signal(55*time.Minute, SignalPriority, prioritySignal("e3", "low", 35*time.Minute))
	h.snapshot(time.Hour, "after", RoleAgent)
	_ = h.run(90 * time.Minute)

	s := h.states["after"]
	if s.Priority != "high" || len(s.PriorityChanges) != 2 {
		t.Fatalf("priority %s, changes %+v; want high after two changes", s.Priority, s.PriorityChanges)
	}
	dueAt(t, "first response", s.FirstResponse, opened.Add(2*time.Hour))
	if got := pb.loaded(); len(got) != 3 {
		t.Fatalf("policies loaded: %v, want normal, urgent, high", got)
	}
}

// The priority the ticket already has (as an escalation's own change comes
// back from the helpdesk) changes nothing.
func TestPriority_SamePriorityIsANoOp(t *testing.T) {
	h, pb := newPriorityHarness(t)
	h.snapshot(29*time.Minute, "before", RoleAgent)
	h.signal(30*time.Minute, SignalPriority, prioritySignal("e1", "normal", 30*time.Minute))
	h.snapshot(31*time.Minute, "after", RoleAgent)
	_ = h.run(time.Hour)

	b, a := h.states["before"], h.states["after"]
	if a.Priority != "normal" || len(a.PriorityChanges) != 0 || a.PriorityAt != nil {
		t.Fatalf("after: priority %s, changes %+v, at %v", a.Priority, a.PriorityChanges, a.PriorityAt)
	}
	dueAt(t, "first response", a.FirstResponse, *b.FirstResponse.Due)
	if a.FirstResponse.UsedSeconds != b.FirstResponse.UsedSeconds || a.Resolution.UsedSeconds != b.Resolution.UsedSeconds {
		t.Fatalf("clocks changed: before %+v, after %+v", b.FirstResponse, a.FirstResponse)
	}
	if got := pb.loaded(); len(got) != 1 {
		t.Fatalf("policies loaded: %v, want only the opening's", got)
	}
}
