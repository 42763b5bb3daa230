package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"
)

// versionPriorityChange: a run follows the helpdesk's priority changes
// (SignalPriority): it loads the new priority's SLA policy and re-plans its
// clocks. Runs from before ignored the signal, and replay the same way.
const versionPriorityChange = "priority-change"

// onPriority applies a priority change of the helpdesk, the priority's
// owner. The time a clock has already used counts against the new
// priority's budget, so a ticket 30 minutes into a 4-hour first-response
// budget that becomes urgent (1 hour) has 30 minutes left, and one past the
// new budget breaches at once; a clock already met or breached stays so, a
// paused one stays paused with the new budget. A signal with the priority
// the ticket has (the echo of an escalation's own change), a duplicate, or
// one older than the last change applied does nothing. The helpdesk already
// holds the new priority: the state is recorded with KeepPriority, which
// updates the board and leaves the helpdesk's priority alone.
func (t *ticket) onPriority(ctx workflow.Context, p PrioritySignal) {
	if workflow.GetVersion(ctx, versionPriorityChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	log := workflow.GetLogger(ctx)
	if p.EventID != "" && t.seen(p.EventID) {
		return
	}
	switch {
	case p.Priority == t.s.Priority, t.closed():
		return
	case !slices.Contains(Priorities, p.Priority):
		log.Warn("unknown priority ignored", "ticket_id", t.s.TicketID, "priority", p.Priority, "event_id", p.EventID)
		return
	case t.s.PriorityAt != nil && !p.At.IsZero() && p.At.Before(*t.s.PriorityAt):
		log.Info("stale priority change ignored", "ticket_id", t.s.TicketID, "priority", p.Priority, "event_id", p.EventID)
		return
	}

	var res LoadProcessResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityLoadProcess,
		LoadProcessInput{CategoryID: t.s.CategoryID, Priority: p.Priority}).Get(ctx, &res)
	now := workflow.Now(ctx)
	if err != nil {
		// The priority still follows the helpdesk; the clocks keep the
		// policy they had.
		log.Error("load SLA policy; the SLA clocks are not re-planned", "ticket_id", t.s.TicketID, "priority", p.Priority, "error", err)
	} else {
		t.replanClocks(res.Policy, now)
	}

	from := t.s.Priority
	t.s.Priority = p.Priority
	at := p.At
	if at.IsZero() {
		at = now
	}
	t.s.PriorityAt = &at
	t.s.PriorityChanges = append(t.s.PriorityChanges, PriorityChange{
		From: from, To: p.Priority, ActorID: p.ActorID, EventID: p.EventID, At: now,
	})
	if len(t.s.PriorityChanges) > historyCap {
		t.s.PriorityChanges = t.s.PriorityChanges[len(t.s.PriorityChanges)-historyCap:]
	}
	// The board and the search attributes follow; the helpdesk keeps the
	// priority it has (KeepPriority), so the change does not come back.
	if err := t.record(ctx, Actor{ID: p.ActorID}, "priority changed from "+from+" to "+p.Priority); err != nil {
		log.Error("record priority change", "ticket_id", t.s.TicketID, "error", err)
	}
	log.Info("priority changed", "ticket_id", t.s.TicketID, "from", from, "to", p.Priority)
}

// replanClocks puts the ticket under policy: every clock not yet met or
// breached gets the policy's budget, less what it has used so far (counted
// in the old policy's hours); running clocks get their new deadline.
func (t *ticket) replanClocks(policy SLAPolicy, now time.Time) {
	clocks := []struct {
		c      *SLAState
		budget int64
	}{{&t.s.FirstResponse, policy.FirstResponseSeconds}, {&t.s.Resolution, policy.ResolutionSeconds}}
	running := make([]bool, len(clocks))
	for i, k := range clocks {
		if k.c.RunningSince != nil {
			t.stopClock(k.c, now) // under the old policy's calendar
			running[i] = true
		}
	}
	t.s.Policy = policy
	for i, k := range clocks {
		if k.c.Met || k.c.Breached {
			continue
		}
		k.c.BudgetSeconds = k.budget
		if running[i] {
			t.startClock(k.c, now)
		}
	}
}

// seen reports whether the event id was handled before, and remembers it
// (the latest seenCap IDs).
func (t *ticket) seen(id string) bool {
	if slices.Contains(t.s.SeenEvents, id) {
		return true
	}
	t.s.SeenEvents = append(t.s.SeenEvents, id)
	if len(t.s.SeenEvents) > seenCap {
		t.s.SeenEvents = t.s.SeenEvents[len(t.s.SeenEvents)-seenCap:]
	}
	return false
}
