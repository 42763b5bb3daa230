package workflows

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/internal/events"
)

// signalCase is one signal the workflow takes, and what it must do to a
// ticket in a given step.
type signalCase struct {
	name string
	// prepare runs a moment before the signal (e.g. an agent comes back).
	prepare func(b *backend)
	signal  func(h *harness)
	// effect checks the change between before and after; step is where the
	// ticket stood.
	effect func(t *testing.T, step string, c signalChange)
}

// signalChange is what a signal changed: the state before and after, and
// the records and events it caused.
type signalChange struct {
	before, after TicketState
	records       []RecordStateInput
	events        []string
}

// unchanged fails if the signal changed anything that shows: the step, the
// assignment, the priority, the clocks, the history, the helpdesk or the
// events.
func unchanged(t *testing.T, c signalChange) {
	t.Helper()
	b, a := c.before, c.after
	if a.Step != b.Step || a.Status != b.Status || a.AssigneeID != b.AssigneeID || a.WaitingForAgent != b.WaitingForAgent ||
		a.Priority != b.Priority || len(a.History) != len(b.History) || len(a.PriorityChanges) != len(b.PriorityChanges) {
		t.Errorf("changed: step %s→%s status %s→%s assignee %q→%q waiting %v→%v priority %s→%s history %d→%d",
			b.Step, a.Step, b.Status, a.Status, b.AssigneeID, a.AssigneeID, b.WaitingForAgent, a.WaitingForAgent,
			b.Priority, a.Priority, len(b.History), len(a.History))
	}
	if !reflect.DeepEqual(a.FirstResponse, b.FirstResponse) || !reflect.DeepEqual(a.Resolution, b.Resolution) {
		t.Errorf("clocks changed: first response %+v → %+v, resolution %+v → %+v", b.FirstResponse, a.FirstResponse, b.Resolution, a.Resolution)
	}
	if len(c.records) != 0 || len(c.events) != 0 {
		t.Errorf("recorded %+v and published %v", c.records, c.events)
	}
}

// Step setups: the moves that bring a fresh ticket to the step by the
// fourth minute.
var signalSteps = []struct {
	step  string
	moves []string
}{
	{StepTriage, nil},
	{StepInProgress, []string{StepInProgress}},
	{StepWaiting, []string{StepInProgress, StepWaiting}},
	{StepResolved, []string{StepInProgress, StepResolved}},
}

func comment(id, author, role string, internal bool) func(h *harness) {
	return func(h *harness) {
		h.env.SignalWorkflow(SignalComment, CommentSignal{EventID: id, CommentID: id, AuthorID: author, AuthorRole: role, Internal: internal})
	}
}

// requesterReply is the effect of the requester's comment: a ticket
// waiting on them or resolved goes back to work; elsewhere nothing.
func requesterReply(t *testing.T, step string, c signalChange) {
	t.Helper()
	if step != StepWaiting && step != StepResolved {
		unchanged(t, c)
		return
	}
	a := c.after
	last := a.History[len(a.History)-1]
	if a.Step != StepInProgress || a.Status != StatusOpen || len(a.History) != len(c.before.History)+1 ||
		last.From != step || last.Actor != (Actor{ID: "requester-1", Role: RoleRequester}) {
		t.Fatalf("after the reply: step %s status %s last move %+v", a.Step, a.Status, last)
	}
	// The clocks run again: the resolution clock from where it stood.
	if a.Resolution.Paused || a.Resolution.Met || a.Resolution.RunningSince == nil || a.Resolution.Due == nil || a.ResolvedAt != nil {
		t.Fatalf("resolution after the reply: %+v resolved at %v", a.Resolution, a.ResolvedAt)
	}
	if len(c.records) != 1 || c.records[0].Reason != "requester replied" || c.records[0].Step != StepInProgress ||
		!slices.Equal(c.events, []string{events.TicketStatusChanged}) {
		t.Fatalf("records %+v events %v", c.records, c.events)
	}
}

var signalCases = []signalCase{
	{
		name:   "public comment by an agent",
		signal: comment("c1", "agent-b", RoleAgent, false),
		effect: func(t *testing.T, step string, c signalChange) {
			// The first public agent reply meets the first response,
			// whatever the step; the clock stops where it stood (running
			// until now in triage and in progress, paused at the second
			// move otherwise).
			fr := c.after.FirstResponse
			used := int64(5 * 60)
			if step == StepWaiting || step == StepResolved {
				used = 2 * 60
			}
			if c.before.FirstResponse.Met || !fr.Met || fr.Breached || fr.Due != nil || fr.RunningSince != nil || fr.UsedSeconds != used {
				t.Fatalf("first response %+v → %+v, want met with %d s used", c.before.FirstResponse, fr, used)
			}
			c.after.FirstResponse = c.before.FirstResponse
			unchanged(t, c)
		},
	},
	{
		name:   "internal note by an agent",
		signal: comment("c2", "agent-b", RoleAgent, true),
		effect: func(t *testing.T, _ string, c signalChange) { unchanged(t, c) },
	},
	{
		name:   "public comment by an admin",
		signal: comment("c3", "admin-1", RoleAdmin, false),
		effect: func(t *testing.T, _ string, c signalChange) {
			if !c.after.FirstResponse.Met {
				t.Fatalf("an admin's public reply did not meet the first response: %+v", c.after.FirstResponse)
			}
		},
	},
	{
		name:   "public comment by the requester",
		signal: comment("c4", "requester-1", "employee", false),
		effect: requesterReply,
	},
	{
		// Messaging refuses internal comments from requesters; were one
		// to come, it counts as their reply all the same.
		name:   "internal comment by the requester",
		signal: comment("c5", "requester-1", "employee", true),
		effect: requesterReply,
	},
	{
		name: "an agent of the team becomes available",
		prepare: func(b *backend) {
			b.setTeam("team-1", "agent-c")
		},
		signal: func(h *harness) { h.env.SignalWorkflow(SignalAgentAvailable, nil) },
		effect: func(t *testing.T, _ string, c signalChange) {
			a := c.after
			if !c.before.WaitingForAgent || a.WaitingForAgent || a.AssigneeID != "agent-c" || a.Step != c.before.Step {
				t.Fatalf("waiting %v→%v assignee %q step %s→%s", c.before.WaitingForAgent, a.WaitingForAgent, a.AssigneeID, c.before.Step, a.Step)
			}
			if len(c.records) != 1 || c.records[0].AssigneeID != "agent-c" || !slices.Equal(c.events, []string{events.TicketAssigned}) {
				t.Fatalf("records %+v events %v", c.records, c.events)
			}
		},
	},
	{
		name: "priority changed in the helpdesk",
		signal: func(h *harness) {
			h.env.SignalWorkflow(SignalPriority, PrioritySignal{EventID: "p1", Priority: "high", ActorID: "agent-b", At: opened.Add(5 * time.Minute)})
		},
		effect: func(t *testing.T, _ string, c signalChange) {
			a := c.after
			if a.Priority != "high" || len(a.PriorityChanges) != 1 || a.PriorityChanges[0].From != "normal" || a.Step != c.before.Step {
				t.Fatalf("priority %s changes %+v step %s", a.Priority, a.PriorityChanges, a.Step)
			}
			// The helpdesk made the change: the record leaves its priority alone.
			if len(c.records) != 1 || !c.records[0].KeepPriority || c.records[0].Priority != "high" || len(c.events) != 0 {
				t.Fatalf("records %+v events %v", c.records, c.events)
			}
		},
	},
}

// Every signal in every open step does what the contract says, or nothing.
// The ticket's team has nobody available at first, so that the ticket
// waits for an agent and the availability signal has something to do.
func TestSignals_EffectInEveryStep(t *testing.T) {
	for _, st := range signalSteps {
		for _, sc := range signalCases {
			t.Run(st.step+"/"+sc.name, func(t *testing.T) {
				b := newBackend()
				b.setTeam("team-1")
				h := newHarness(t, b)
				for i, to := range st.moves {
					h.move(time.Duration(i+1)*time.Minute, to, RoleAgent)
				}
				var c signalChange
				var nRecords, nEvents int
				h.at(4*time.Minute, func() {
					c.before = h.query(RoleAgent)
					b.mu.Lock()
					nRecords, nEvents = len(b.records), len(b.events)
					b.mu.Unlock()
					if sc.prepare != nil {
						sc.prepare(b)
					}
				})
				h.at(5*time.Minute, func() { sc.signal(h) })
				h.at(6*time.Minute, func() {
					c.after = h.query(RoleAgent)
					b.mu.Lock()
					defer b.mu.Unlock()
					c.records = slices.Clone(b.records[nRecords:])
					for _, e := range b.events[nEvents:] {
						c.events = append(c.events, e.Type)
					}
				})
				// Before the agent re-check at 10 minutes.
				if err := h.run(7 * time.Minute); !isCanceled(err) {
					t.Fatalf("workflow ended with %v", err)
				}
				if c.before.Step != st.step || c.after.Step == "" {
					t.Fatalf("setup: ticket in %s, want %s", c.before.Step, st.step)
				}
				sc.effect(t, st.step, c)
			})
		}
	}
}

// A signal that comes with the move that closes the ticket changes
// nothing: the run records the close, publishes its status change and
// ends, whatever the signal.
func TestSignals_IgnoredOnceClosed(t *testing.T) {
	for _, sc := range signalCases {
		t.Run(sc.name, func(t *testing.T) {
			b := newBackend()
			b.setTeam("team-1")
			h := newHarness(t, b)
			h.move(time.Minute, StepInProgress, RoleAgent)
			h.move(2*time.Minute, StepResolved, RoleAgent)
			closeIt := h.move(3*time.Minute, StepClosed, RoleAgent)
			h.at(3*time.Minute, func() {
				if sc.prepare != nil {
					sc.prepare(b)
				}
				sc.signal(h)
			})
			if err := h.run(time.Hour); err != nil {
				t.Fatalf("workflow ended with %v, want closed", err)
			}
			if !closeIt.done || closeIt.rejected != nil || closeIt.failed != nil || closeIt.state.Status != StatusClosed {
				t.Fatalf("close: %+v", closeIt)
			}
			last := b.lastRecord()
			if last.Status != StatusClosed || last.Priority != "normal" || last.AssigneeID != "" || last.Reason != "transition to "+StepClosed {
				t.Fatalf("last record = %+v", last)
			}
			types := b.eventTypes()
			if types[len(types)-1] != events.TicketStatusChanged || slices.Contains(types, events.TicketAssigned) {
				t.Fatalf("events = %v", types)
			}
		})
	}
}

func isTimedOut(err error) bool {
	var te *temporal.TimeoutError
	return errors.As(err, &te)
}

// An admin's cancellation ends a run even when no timer is pending: here a
// ticket waiting on the requester, assigned, so that its SLA clocks are
// paused and it waits for no agent.
func TestCancel_EndsARunWithNoTimerPending(t *testing.T) {
	h := newHarness(t, newBackend())
	h.move(time.Minute, StepInProgress, RoleAgent)
	h.move(2*time.Minute, StepWaiting, RoleAgent)
	h.snapshot(3*time.Minute, "waiting", RoleAgent)
	err := h.run(time.Hour)
	if s := h.states["waiting"]; s.Step != StepWaiting || s.WaitingForAgent || s.Resolution.Due != nil || s.FirstResponse.Due != nil {
		t.Fatalf("setup: %+v", s)
	}
	if !isCanceled(err) {
		t.Fatalf("workflow ended with %v, want cancelled", err)
	}
}
