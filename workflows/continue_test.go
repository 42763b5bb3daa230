package workflows

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// continuedInput returns the input of the run a ContinueAsNewError starts,
// failing unless err is one, of TicketWorkflow.
func continuedInput(t *testing.T, err error) TicketInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	if can.WorkflowType == nil || can.WorkflowType.Name != "TicketWorkflow" {
		t.Fatalf("continues as %+v, want TicketWorkflow", can.WorkflowType)
	}
	var in TicketInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
		t.Fatalf("decode the continued input: %v", err)
	}
	if in.Carried == nil {
		t.Fatalf("continued input carries no state: %+v", in)
	}
	return in
}

// When the server suggests continuing as new, the run continues with its
// whole state: step, assignee and team, SLA deadlines with their
// met/breached/warned flags, the transition history, the sequence of
// change IDs, and the signals that arrived with the suggestion.
func TestContinueAsNew_SuggestedCarriesTheWholeStateAndPendingSignals(t *testing.T) {
	h := newHarness(t, newBackend())
	h.move(10*time.Minute, StepInProgress, RoleAgent)
	// Nobody replies: the first response breaches at 1 h and escalates.
	h.snapshot(89*time.Minute, "before", RoleSystem)
	h.at(90*time.Minute, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.env.SignalWorkflow(SignalPriority, PrioritySignal{EventID: "p1", Priority: "urgent", ActorID: "agent-a", At: opened.Add(90 * time.Minute)})
		h.env.SignalWorkflow(SignalComment, CommentSignal{EventID: "n1", AuthorID: "agent-a", AuthorRole: RoleAgent, Internal: true})
	})
	err := h.run(3 * time.Hour)
	in := continuedInput(t, err)
	before, c := h.states["before"], *in.Carried

	if in.TicketID != "ticket-1" || in.CategoryID != "cat-1" || in.RequesterID != "requester-1" || in.Title != "Printer on fire" || in.Priority != "urgent" {
		t.Fatalf("continued input = %+v", in)
	}
	if c.TicketID != "ticket-1" || c.Step != StepInProgress || c.Status != StatusOpen || c.AssigneeID != "lead-x" || c.TeamID != "team-esc" || !c.Escalated {
		t.Fatalf("carried: step %s status %s assignee %s team %s escalated %v", c.Step, c.Status, c.AssigneeID, c.TeamID, c.Escalated)
	}
	fr, res := c.FirstResponse, c.Resolution
	if !fr.Breached || !fr.Warned || fr.Met || fr.Due == nil || !fr.Due.Equal(opened.Add(time.Hour)) || fr.BudgetSeconds != 3600 {
		t.Fatalf("carried first response = %+v", fr)
	}
	if res.Breached || res.Met || res.Paused || res.RunningSince == nil || res.Due == nil || !res.Due.Equal(opened.Add(8*time.Hour)) {
		t.Fatalf("carried resolution = %+v", res)
	}
	if len(c.History) != 2 || c.History[0].To != StepTriage || c.History[1].From != StepTriage || c.History[1].To != StepInProgress ||
		c.History[1].Actor != (Actor{ID: "agent-a", Role: RoleAgent}) || !c.History[1].At.Equal(opened.Add(10*time.Minute)) {
		t.Fatalf("carried history = %+v", c.History)
	}
	if c.Definition.TeamID != "team-1" || c.Definition.EscalationTeamID != "team-esc" || len(c.Definition.Transitions) == 0 || c.Policy.FirstResponseSeconds != 3600 {
		t.Fatalf("carried process: definition %+v policy %+v", c.Definition, c.Policy)
	}
	// The signals sent with the suggestion were applied, not lost with the run.
	if c.Priority != "urgent" || len(c.PriorityChanges) != 1 || c.PriorityChanges[0].EventID != "p1" || c.PriorityChanges[0].From != "high" {
		t.Fatalf("carried priority %s, changes %+v", c.Priority, c.PriorityChanges)
	}
	if !slices.Contains(c.SeenEvents, "p1") || !slices.Contains(c.SeenEvents, "n1") {
		t.Fatalf("carried seen events = %v", c.SeenEvents)
	}
	if c.Seq <= before.Seq || c.Seq != h.b.lastRecordSeq(t) {
		t.Fatalf("carried seq %d; before %d, last change ID %s", c.Seq, before.Seq, h.b.lastRecord().ChangeID)
	}
}

// lastRecordSeq returns the change number of the last record: the
// workflow's Seq when that record was the last change.
func (b *backend) lastRecordSeq(t *testing.T) int {
	t.Helper()
	r := b.lastRecord()
	var seq int
	for i := len(r.ChangeID) - 1; i >= 0; i-- {
		if r.ChangeID[i] == '/' {
			for _, ch := range r.ChangeID[i+1:] {
				seq = seq*10 + int(ch-'0')
			}
			return seq
		}
	}
	t.Fatalf("change ID %q has no number", r.ChangeID)
	return 0
}

// A run also continues as new when its history grows past
// continueAsNewAfter without the server suggesting it; a closed ticket
// does not continue at all.
func TestContinueAsNew_LongHistoryContinuesButAClosedTicketEnds(t *testing.T) {
	h := newHarness(t, newBackend())
	h.move(time.Minute, StepInProgress, RoleAgent)
	h.at(5*time.Minute, func() {
		h.env.SetCurrentHistoryLength(continueAsNewAfter + 1)
		h.env.SignalWorkflow(SignalComment, CommentSignal{EventID: "r1", AuthorID: "agent-a", AuthorRole: RoleAgent})
	})
	c := *continuedInput(t, h.run(time.Hour)).Carried
	if c.Step != StepInProgress || !c.FirstResponse.Met || c.FirstResponse.UsedSeconds != 5*60 || !slices.Contains(c.SeenEvents, "r1") {
		t.Fatalf("carried: step %s first response %+v seen %v", c.Step, c.FirstResponse, c.SeenEvents)
	}

	closing := newHarness(t, newBackend())
	closing.move(time.Minute, StepInProgress, RoleAgent)
	closing.move(2*time.Minute, StepResolved, RoleAgent)
	closing.at(3*time.Minute, func() { closing.env.SetContinueAsNewSuggested(true) })
	closing.move(4*time.Minute, StepClosed, RoleRequester)
	if err := closing.run(time.Hour); err != nil {
		t.Fatalf("a closed ticket ended with %v, want nil", err)
	}
}

// The state a run carries starts the next run as it left off: a query of
// the new run answers the same ticket, and the run neither reloads its
// process nor records anything until something happens.
func TestContinueAsNew_CarriedInputResumesTheSameTicket(t *testing.T) {
	first := newHarness(t, newBackend())
	first.move(10*time.Minute, StepInProgress, RoleAgent)
	first.at(90*time.Minute, func() {
		first.env.SetContinueAsNewSuggested(true)
		first.env.SignalWorkflow(SignalPriority, PrioritySignal{EventID: "p1", Priority: "urgent", At: opened.Add(90 * time.Minute)})
	})
	in := continuedInput(t, first.run(3*time.Hour))

	b := newBackend()
	b.def.Steps = nil // a reload would fail the run
	h := newHarness(t, b)
	h.env.SetStartTime(opened.Add(90 * time.Minute))
	h.snapshot(time.Minute, "resumed", RoleAgent)
	h.at(10*time.Minute, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(TicketWorkflow, in)
	s := h.states["resumed"]
	if s.Step != StepInProgress || s.AssigneeID != "lead-x" || s.Priority != "urgent" || !s.FirstResponse.Breached || !s.Escalated ||
		len(s.History) != 2 || s.Resolution.Due == nil || !s.Resolution.Due.Equal(*in.Carried.Resolution.Due) || s.Seq != in.Carried.Seq {
		t.Fatalf("resumed state: %+v", s)
	}
	if !slices.Equal(s.AllowedTransitions, []string{StepWaiting, StepResolved}) {
		t.Fatalf("allowed = %v", s.AllowedTransitions)
	}
	if len(b.records) != 0 || len(b.events) != 0 {
		t.Fatalf("the resumed run recorded %d and published %v", len(b.records), b.eventTypes())
	}
}

// An Update in flight when the suggestion comes answers its caller before
// the run continues, and its change is in the carried state, as are the
// signals that arrived meanwhile.
func TestContinueAsNew_WaitsForUpdatesInFlight(t *testing.T) {
	h := newHarness(t, newBackend())
	h.move(10*time.Minute, StepInProgress, RoleAgent)
	var wait *outcome
	h.at(90*time.Minute, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.env.SignalWorkflow(SignalPriority, PrioritySignal{EventID: "p1", Priority: "urgent", At: opened.Add(90 * time.Minute)})
	})
	wait = h.move(90*time.Minute, StepWaiting, RoleAgent)
	h.signal(90*time.Minute, SignalComment, CommentSignal{EventID: "n1", AuthorID: "agent-a", AuthorRole: RoleAgent, Internal: true})
	c := *continuedInput(t, h.run(3*time.Hour)).Carried
	if !wait.done || wait.rejected != nil || wait.failed != nil || wait.state.Step != StepWaiting {
		t.Fatalf("the Update in flight: %+v", wait)
	}
	if c.Step != StepWaiting || c.Status != StatusPending || !c.Resolution.Paused || c.Resolution.Due != nil || len(c.History) != 3 {
		t.Fatalf("carried: step %s status %s resolution %+v history %d", c.Step, c.Status, c.Resolution, len(c.History))
	}
	if c.Priority != "urgent" || !slices.Contains(c.SeenEvents, "n1") || !slices.Contains(c.SeenEvents, "p1") {
		t.Fatalf("carried priority %s seen %v", c.Priority, c.SeenEvents)
	}
}
