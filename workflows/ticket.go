package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/temporalx"
)

// Tuning of a run. Changing any of them changes what running tickets would
// replay: do it behind workflow.GetVersion.
const (
	// agentRecheck is how often a ticket waiting for an agent looks again,
	// in case an availability signal was missed.
	agentRecheck = 10 * time.Minute
	// historyCap bounds the transition records kept in the state.
	historyCap = 200
	// seenCap bounds the comment event IDs remembered for deduplication.
	seenCap = 200
	// continueAsNewAfter caps a run's history length even when the server
	// does not suggest continuing as new.
	continueAsNewAfter = 10_000
)

// Change IDs of workflow.GetVersion, one per behaviour change of running
// tickets.
const (
	// versionQuietTriage: opening no longer publishes ticket.status_changed
	// for the automatic move into triage.
	versionQuietTriage = "quiet-triage"
	// versionEscalationChain: a breach escalates along the definition's
	// chain (escalate), team lead first, and sla.breached tells where the
	// ticket went. Runs from before always went to the escalation team.
	versionEscalationChain = "escalation-chain"
	// versionCancelWakes: a cancellation request wakes a run that waits
	// with no timer pending. Runs from before slept on until a signal or
	// Update came; replaying them must not end them at the request.
	versionCancelWakes = "cancel-wakes"
)

// eventNamespace derives deterministic event IDs from a ticket and a change
// number: a replayed or retried publish carries the same ID.
var eventNamespace = uuid.MustParse("6f1c3c0e-5a43-4c55-9a51-2bd1d1a6c0f1")

// TicketWorkflow drives one ticket from opening to closing: it loads the
// category's process and the priority's SLA policy, assigns an agent
// round-robin, records every change in the helpdesk, runs the SLA clocks
// (warning, breach, escalation), auto-closes resolved tickets, and answers
// transitions and reassignments as Updates.
func TicketWorkflow(ctx workflow.Context, in TicketInput) error {
	t := &ticket{}
	if err := t.setup(ctx, in); err != nil {
		return err
	}
	return t.run(ctx)
}

// ticket is the state and behaviour of one run. All state lives in s, so
// continue-as-new carries it whole.
type ticket struct {
	s TicketState

	// mu serializes the changes of handlers and the main loop, each of
	// which runs activities between reading and writing the state.
	mu workflow.Mutex
	// wake tells the main loop that a handler changed something its timers
	// depend on.
	wake workflow.Channel

	comments  workflow.ReceiveChannel
	available workflow.ReceiveChannel
	// priorities carries the helpdesk's priority changes (onPriority).
	priorities workflow.ReceiveChannel
	// raisedPriority tells the next record that an escalation raised the
	// priority, the one change of it the helpdesk takes from the run.
	raisedPriority bool

	// surveysPending counts the survey requests still running (see
	// askForRating); the run does not end or continue as new before
	// they are done. Always 0 in runs from before surveys.
	surveysPending int
}

func (t *ticket) setup(ctx workflow.Context, in TicketInput) error {
	t.mu = workflow.NewMutex(ctx)
	t.wake = workflow.NewBufferedChannel(ctx, 1)
	t.comments = workflow.GetSignalChannel(ctx, SignalComment)
	t.available = workflow.GetSignalChannel(ctx, SignalAgentAvailable)
	t.priorities = workflow.GetSignalChannel(ctx, SignalPriority)

	if err := workflow.SetQueryHandler(ctx, QueryState, t.query); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateTransition, t.transition,
		workflow.UpdateHandlerOptions{Validator: t.validateTransition}); err != nil {
		return fmt.Errorf("register transition update: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAssign, t.assign,
		workflow.UpdateHandlerOptions{Validator: t.validateAssign}); err != nil {
		return fmt.Errorf("register assign update: %w", err)
	}

	if in.Carried != nil {
		t.s = *in.Carried
		return nil
	}
	return t.open(ctx, in)
}

// open starts a new ticket: load its process, leave the first step for
// triage, assign an agent, start the SLA clocks and record it all.
func (t *ticket) open(ctx workflow.Context, in TicketInput) error {
	var p LoadProcessResult
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityLoadProcess,
		LoadProcessInput{CategoryID: in.CategoryID, Priority: in.Priority}).Get(ctx, &p); err != nil {
		return fmt.Errorf("load process of category %s: %w", in.CategoryID, err)
	}
	first := p.Definition.Steps[0]
	created := in.CreatedAt
	if created.IsZero() || created.After(workflow.Now(ctx)) {
		created = workflow.Now(ctx)
	}
	t.s = TicketState{
		TicketID:    in.TicketID,
		Title:       in.Title,
		CategoryID:  in.CategoryID,
		RequesterID: in.RequesterID,
		Priority:    in.Priority,
		Step:        first.Key,
		Status:      first.StatusOf(),
		TeamID:      p.Definition.TeamID,
		Definition:  p.Definition,
		Policy:      p.Policy,
		Calendar:    p.Calendar,
		History:     []TransitionRecord{},
	}
	// The SLA clocks run from the ticket's opening, not the run's start.
	t.s.FirstResponse = SLAState{BudgetSeconds: p.Policy.FirstResponseSeconds}
	t.s.Resolution = SLAState{BudgetSeconds: p.Policy.ResolutionSeconds}
	t.startClock(&t.s.FirstResponse, created)
	t.startClock(&t.s.Resolution, created)

	system := Actor{Role: RoleSystem}
	if exists, _ := t.s.Definition.Allowed(first.Key, StepTriage, RoleSystem); exists {
		t.setStep(ctx, StepTriage, system, "opened")
	}
	reason := "opened"
	if t.s.TeamID != "" {
		t.tryAssign(ctx)
		reason = "assigned round-robin"
	}
	if err := t.record(ctx, system, reason); err != nil {
		return err
	}
	if t.s.AssigneeID != "" {
		t.publish(ctx, events.TicketAssigned, t.assignedEvent("", system, reason))
	}
	// The automatic move into triage used to announce a status change, which
	// mailed requesters twice at opening (ticket.created already confirms).
	// Runs started before that change replay the announcement.
	if t.s.Step != first.Key && workflow.GetVersion(ctx, versionQuietTriage, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		t.publish(ctx, events.TicketStatusChanged, t.statusEvent(first.Key, system, ""))
	}
	return nil
}

// run waits for timers, signals and handler changes until the ticket
// closes, continuing as new before the history grows large.
func (t *ticket) run(ctx workflow.Context) error {
	for !t.closed() {
		t.waitForSomething(ctx)
		// A cancelled run (an admin's request in the Temporal UI) ends here.
		if err := ctx.Err(); err != nil {
			return temporal.NewCanceledError()
		}
		if err := t.mu.Lock(ctx); err != nil {
			return err
		}
		t.drainSignals(ctx)
		t.onTimers(ctx)
		t.mu.Unlock()

		info := workflow.GetInfo(ctx)
		if !t.closed() && (info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > continueAsNewAfter) {
			return t.continueAsNew(ctx)
		}
	}
	// Let Updates in flight answer their callers, and survey requests
	// reach the helpdesk, before the run ends.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && t.surveysPending == 0 }); err != nil {
		return err
	}
	workflow.GetLogger(ctx).Info("ticket closed", "ticket_id", t.s.TicketID)
	return nil
}

// waitForSomething blocks until the next timer fires, a signal arrives or a
// handler changed the state.
func (t *ticket) waitForSomething(ctx workflow.Context) {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	if at, ok := t.nextWake(); ok {
		d := at.Sub(workflow.Now(ctx))
		if d < time.Millisecond {
			d = time.Millisecond
		}
		sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) {})
	}
	// The receives only wake the loop; drainSignals takes the messages.
	for _, ch := range []workflow.ReceiveChannel{t.comments, t.available, t.priorities, t.wake} {
		sel.AddReceive(ch, func(workflow.ReceiveChannel, bool) {})
	}
	// A cancellation request must end the wait even when no timer is
	// pending (an assigned ticket waiting on its requester has none).
	if workflow.GetVersion(ctx, versionCancelWakes, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	}
	sel.Select(ctx)
}

// drainSignals handles every pending signal and wake-up.
func (t *ticket) drainSignals(ctx workflow.Context) {
	for t.wake.ReceiveAsync(nil) {
	}
	for {
		var c CommentSignal
		if !t.comments.ReceiveAsync(&c) {
			break
		}
		t.onComment(ctx, c)
	}
	for t.available.ReceiveAsync(nil) {
		t.onAgentAvailable(ctx)
	}
	for {
		var p PrioritySignal
		if !t.priorities.ReceiveAsync(&p) {
			break
		}
		t.onPriority(ctx, p)
	}
}

func (t *ticket) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && t.surveysPending == 0 }); err != nil {
		return err
	}
	// Signals that arrived meanwhile would be lost with this run.
	if err := t.mu.Lock(ctx); err != nil {
		return err
	}
	t.drainSignals(ctx)
	t.mu.Unlock()
	state := t.s
	workflow.GetLogger(ctx).Info("continuing as new", "ticket_id", t.s.TicketID, "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, TicketWorkflow, TicketInput{
		TicketID: t.s.TicketID, Title: t.s.Title, CategoryID: t.s.CategoryID,
		Priority: t.s.Priority, RequesterID: t.s.RequesterID, Carried: &state,
	})
}

func (t *ticket) closed() bool {
	step, _ := t.s.Definition.StepOf(t.s.Step)
	return step.Terminal
}

// query answers QueryState for an actor, with the moves that actor may make.
func (t *ticket) query(q StateQuery) (TicketState, error) {
	s := t.s
	s.SeenEvents = nil
	s.History = slices.Clone(t.s.History)
	s.AllowedTransitions = []string{}
	if !t.closed() {
		s.AllowedTransitions = t.s.Definition.Moves(t.s.Step, q.Actor.Role)
	}
	return s, nil
}

// validateTransition rejects, without a trace in the history, a move that
// is unknown, illegal from the current step, or not the actor's to make.
func (t *ticket) validateTransition(ctx workflow.Context, req TransitionRequest) error {
	if _, ok := t.s.Definition.StepOf(req.To); !ok {
		return temporal.NewApplicationError(fmt.Sprintf("there is no step %q in this ticket's process", req.To), ErrUnknownStep)
	}
	if t.closed() {
		return temporal.NewApplicationError("the ticket is closed", ErrTicketClosed)
	}
	if !slices.Contains([]string{RoleRequester, RoleAgent, RoleAdmin}, req.Actor.Role) {
		return temporal.NewApplicationError(fmt.Sprintf("role %q may not move tickets", req.Actor.Role), ErrRoleNotAllowed)
	}
	exists, permitted := t.s.Definition.Allowed(t.s.Step, req.To, req.Actor.Role)
	if !exists {
		return temporal.NewApplicationError(fmt.Sprintf("a ticket cannot move from %s to %s", t.s.Step, req.To), ErrIllegalTransition)
	}
	if !permitted {
		return temporal.NewApplicationError(fmt.Sprintf("the %s may not move a ticket from %s to %s", req.Actor.Role, t.s.Step, req.To), ErrRoleNotAllowed)
	}
	if len(req.Note) > 2000 {
		return temporal.NewApplicationError("the note is longer than 2000 characters", ErrInvalidRequest)
	}
	return nil
}

// transition makes a validated move and answers with the new state.
func (t *ticket) transition(ctx workflow.Context, req TransitionRequest) (TicketState, error) {
	if err := t.mu.Lock(ctx); err != nil {
		return TicketState{}, err
	}
	defer t.mu.Unlock()
	// The state may have moved while this Update waited for the lock.
	if err := t.validateTransition(ctx, req); err != nil {
		return TicketState{}, err
	}
	from := t.s.Step
	wasResolved := t.s.Status == StatusResolved
	t.setStep(ctx, req.To, req.Actor, req.Note)
	if err := t.record(ctx, req.Actor, "transition to "+req.To); err != nil {
		return TicketState{}, err
	}
	t.publish(ctx, events.TicketStatusChanged, t.statusEvent(from, req.Actor, req.Note))
	if t.s.Status == StatusResolved && !wasResolved {
		t.askForRating(ctx)
	}
	t.poke()
	return t.query(StateQuery{Actor: req.Actor})
}

func (t *ticket) validateAssign(ctx workflow.Context, req AssignRequest) error {
	if req.Actor.Role != RoleAgent && req.Actor.Role != RoleAdmin {
		return temporal.NewApplicationError("only agents and admins assign tickets", ErrRoleNotAllowed)
	}
	if t.closed() {
		return temporal.NewApplicationError("the ticket is closed", ErrTicketClosed)
	}
	if req.AgentID == "" {
		return temporal.NewApplicationError("name the agent to assign", ErrNotAnAgent)
	}
	return nil
}

// assign gives the ticket to an agent a person chose.
func (t *ticket) assign(ctx workflow.Context, req AssignRequest) (TicketState, error) {
	if err := t.mu.Lock(ctx); err != nil {
		return TicketState{}, err
	}
	defer t.mu.Unlock()
	if err := t.validateAssign(ctx, req); err != nil {
		return TicketState{}, err
	}
	if req.AgentID == t.s.AssigneeID {
		return t.query(StateQuery{Actor: req.Actor})
	}
	var ok bool
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityCheckAssignable, req.AgentID).Get(ctx, &ok); err != nil {
		return TicketState{}, err
	}
	if !ok {
		return TicketState{}, temporal.NewApplicationError("that user is not an active agent", ErrNotAnAgent)
	}
	previous := t.s.AssigneeID
	t.s.AssigneeID = req.AgentID
	t.s.WaitingForAgent = false
	if err := t.record(ctx, req.Actor, "reassigned"); err != nil {
		return TicketState{}, err
	}
	t.publish(ctx, events.TicketAssigned, t.assignedEvent(previous, req.Actor, "reassigned"))
	t.poke()
	return t.query(StateQuery{Actor: req.Actor})
}

// poke wakes the main loop so it re-arms its timers.
func (t *ticket) poke() { t.wake.SendAsync(struct{}{}) }

// onComment applies a comment: the first public agent reply meets the
// first-response SLA; a requester's reply brings a ticket waiting on them, or
// a resolved one, back to work.
func (t *ticket) onComment(ctx workflow.Context, c CommentSignal) {
	if c.EventID != "" {
		if slices.Contains(t.s.SeenEvents, c.EventID) {
			return
		}
		t.s.SeenEvents = append(t.s.SeenEvents, c.EventID)
		if len(t.s.SeenEvents) > seenCap {
			t.s.SeenEvents = t.s.SeenEvents[len(t.s.SeenEvents)-seenCap:]
		}
	}
	now := workflow.Now(ctx)
	switch {
	case c.AuthorID == t.s.RequesterID:
		if t.s.Status != StatusPending && t.s.Status != StatusResolved {
			return
		}
		to := t.workStepFrom(t.s.Step)
		if to == "" {
			return
		}
		from := t.s.Step
		actor := Actor{ID: c.AuthorID, Role: RoleRequester}
		t.setStep(ctx, to, actor, "the requester replied")
		if err := t.record(ctx, actor, "requester replied"); err != nil {
			workflow.GetLogger(ctx).Error("record reply", "ticket_id", t.s.TicketID, "error", err)
		}
		t.publish(ctx, events.TicketStatusChanged, t.statusEvent(from, actor, "the requester replied"))
	case !c.Internal && (c.AuthorRole == RoleAgent || c.AuthorRole == RoleAdmin):
		fr := &t.s.FirstResponse
		if !fr.Met {
			t.stopClock(fr, now)
			fr.Met = true
		}
	}
}

// workStepFrom returns the step a requester's reply moves the ticket to:
// one with status open that the requester may reach from step.
func (t *ticket) workStepFrom(step string) string {
	for _, to := range t.s.Definition.Moves(step, RoleRequester) {
		if s, _ := t.s.Definition.StepOf(to); s.StatusOf() == StatusOpen {
			return to
		}
	}
	return ""
}

func (t *ticket) onAgentAvailable(ctx workflow.Context) {
	if !t.s.WaitingForAgent || t.closed() {
		return
	}
	t.tryAssign(ctx)
	if t.s.AssigneeID == "" {
		return
	}
	system := Actor{Role: RoleSystem}
	if err := t.record(ctx, system, "assigned when an agent became available"); err != nil {
		workflow.GetLogger(ctx).Error("record assignment", "ticket_id", t.s.TicketID, "error", err)
	}
	t.publish(ctx, events.TicketAssigned, t.assignedEvent("", system, "an agent became available"))
}

// tryAssign asks for the team's next available agent; with none, the
// ticket waits for one.
func (t *ticket) tryAssign(ctx workflow.Context) {
	now := workflow.Now(ctx)
	t.s.AgentCheckedAt = &now
	t.s.Seq++
	var res AssignAgentResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityAssignAgent, AssignAgentInput{
		TicketID: t.s.TicketID, TeamID: t.s.TeamID, Key: fmt.Sprintf("%s/%d", t.s.TicketID, t.s.Seq),
	}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Error("assign agent", "ticket_id", t.s.TicketID, "error", err)
	}
	if res.AgentID == "" {
		t.s.WaitingForAgent = true
		return
	}
	t.s.AssigneeID = res.AgentID
	t.s.WaitingForAgent = false
}

// setStep moves the ticket and applies what the new status means for the
// SLA clocks: waiting on the requester pauses them, resolving meets the
// resolution clock, reopening restarts it.
func (t *ticket) setStep(ctx workflow.Context, to string, actor Actor, note string) {
	now := workflow.Now(ctx)
	from := t.s.Step
	step, _ := t.s.Definition.StepOf(to)
	status := step.StatusOf()
	t.s.Step, t.s.Status = to, status
	t.s.History = append(t.s.History, TransitionRecord{From: from, To: to, Actor: actor, Note: note, At: now})
	if len(t.s.History) > historyCap {
		t.s.History = t.s.History[len(t.s.History)-historyCap:]
	}
	fr, res := &t.s.FirstResponse, &t.s.Resolution
	switch status {
	case StatusPending:
		t.pauseClock(fr, now)
		t.pauseClock(res, now)
	case StatusResolved, StatusClosed:
		if !res.Met {
			t.stopClock(res, now)
			res.Met = true
		}
		t.pauseClock(fr, now)
		if status == StatusResolved {
			t.s.ResolvedAt = &now
		}
	default:
		if res.Met && !res.Breached {
			res.Met = false // reopened: the clock goes on from where it stood
		}
		t.s.ResolvedAt = nil
		t.resumeClock(fr, now)
		t.resumeClock(res, now)
	}
}

// SLA clocks. A clock runs from RunningSince and has spent UsedSeconds
// before; its deadline is what is left of the budget, counted in the team's
// business hours when the policy says so.

func (t *ticket) calendar() *Calendar {
	if t.s.Policy.BusinessHours {
		return t.s.Calendar
	}
	return nil
}

func (t *ticket) startClock(c *SLAState, at time.Time) {
	c.RunningSince = &at
	c.Paused = false
	due := t.calendar().Add(at, time.Duration(c.BudgetSeconds-c.UsedSeconds)*time.Second)
	c.Due = &due
}

func (t *ticket) stopClock(c *SLAState, at time.Time) {
	if c.RunningSince != nil {
		c.UsedSeconds += int64(t.calendar().Elapsed(*c.RunningSince, at) / time.Second)
	}
	c.RunningSince, c.Due = nil, nil
}

func (t *ticket) pauseClock(c *SLAState, at time.Time) {
	if c.RunningSince == nil || c.Met || c.Breached {
		return
	}
	t.stopClock(c, at)
	c.Paused = true
}

func (t *ticket) resumeClock(c *SLAState, at time.Time) {
	if c.RunningSince != nil || c.Met || c.Breached {
		return
	}
	t.startClock(c, at)
}

// warnAt is when a running clock has spent WarnRatio of its budget.
func (t *ticket) warnAt(c *SLAState) (time.Time, bool) {
	if c.RunningSince == nil || c.Warned {
		return time.Time{}, false
	}
	warnBudget := int64(float64(c.BudgetSeconds) * t.s.Policy.WarnRatio)
	left := warnBudget - c.UsedSeconds
	if left < 0 {
		left = 0
	}
	return t.calendar().Add(*c.RunningSince, time.Duration(left)*time.Second), true
}

// nextWake is the earliest moment a timer must fire.
func (t *ticket) nextWake() (time.Time, bool) {
	var (
		next time.Time
		ok   bool
	)
	consider := func(at time.Time) {
		if !ok || at.Before(next) {
			next, ok = at, true
		}
	}
	for _, c := range []*SLAState{&t.s.FirstResponse, &t.s.Resolution} {
		if c.RunningSince != nil && c.Due != nil {
			consider(*c.Due)
		}
		if at, has := t.warnAt(c); has {
			consider(at)
		}
	}
	if at, has := t.autoCloseAt(); has {
		consider(at)
	}
	if at, has := t.agentRecheckAt(); has {
		// A missed availability signal costs at most agentRecheck.
		consider(at)
	}
	return next, ok
}

func (t *ticket) agentRecheckAt() (time.Time, bool) {
	if !t.s.WaitingForAgent || t.s.AgentCheckedAt == nil {
		return time.Time{}, false
	}
	return t.s.AgentCheckedAt.Add(agentRecheck), true
}

func (t *ticket) autoCloseAt() (time.Time, bool) {
	if t.s.Status != StatusResolved || t.s.ResolvedAt == nil || t.s.Policy.AutoCloseSeconds <= 0 {
		return time.Time{}, false
	}
	return t.s.ResolvedAt.Add(time.Duration(t.s.Policy.AutoCloseSeconds) * time.Second), true
}

// onTimers does what is due: warnings, breaches with escalation,
// auto-close, and the re-check of a ticket waiting for an agent.
func (t *ticket) onTimers(ctx workflow.Context) {
	now := workflow.Now(ctx)
	for _, k := range []struct {
		kind string
		c    *SLAState
	}{{"first_response", &t.s.FirstResponse}, {"resolution", &t.s.Resolution}} {
		if at, has := t.warnAt(k.c); has && !now.Before(at) && !k.c.Breached {
			k.c.Warned = true
			t.publish(ctx, events.SLAWarning, t.slaEvent(k.kind, k.c))
		}
		if k.c.RunningSince != nil && k.c.Due != nil && !now.Before(*k.c.Due) {
			due := *k.c.Due
			t.stopClock(k.c, now)
			// A breached clock stands, showing when it was due.
			k.c.Breached = true
			k.c.Due = &due
			t.breach(ctx, k.kind, due)
		}
	}
	if at, has := t.autoCloseAt(); has && !now.Before(at) {
		if to := t.closeStepFrom(t.s.Step); to != "" {
			from := t.s.Step
			system := Actor{Role: RoleSystem}
			t.setStep(ctx, to, system, "closed after no reply")
			if err := t.record(ctx, system, "auto-closed"); err != nil {
				workflow.GetLogger(ctx).Error("record auto-close", "ticket_id", t.s.TicketID, "error", err)
			}
			t.publish(ctx, events.TicketStatusChanged, t.statusEvent(from, system, "closed after no reply"))
		}
	}
	if at, has := t.agentRecheckAt(); has && !now.Before(at) {
		t.onAgentAvailable(ctx)
	}
}

// closeStepFrom returns a terminal step the system may move to from step.
func (t *ticket) closeStepFrom(step string) string {
	for _, to := range t.s.Definition.Moves(step, RoleSystem) {
		if s, _ := t.s.Definition.StepOf(to); s.Terminal {
			return to
		}
	}
	return ""
}

// breach escalates a ticket whose SLA clock ran out, once: its priority is
// raised and it goes to the escalation team's next agent.
func (t *ticket) breach(ctx workflow.Context, kind string, due time.Time) {
	c := &t.s.Resolution
	if kind == "first_response" {
		c = &t.s.FirstResponse
	}
	if workflow.GetVersion(ctx, versionEscalationChain, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		t.escalate(ctx, kind, c)
		return
	}
	t.publish(ctx, events.SLABreached, t.slaEvent(kind, c))
	if t.s.Escalated {
		if err := t.record(ctx, Actor{Role: RoleSystem}, kind+" SLA breached"); err != nil {
			workflow.GetLogger(ctx).Error("record breach", "ticket_id", t.s.TicketID, "error", err)
		}
		return
	}
	t.s.Escalated = true
	t.s.Priority = RaisePriority(t.s.Priority)
	t.raisedPriority = true
	previous := t.s.AssigneeID
	if esc := t.s.Definition.EscalationTeamID; esc != "" {
		t.s.TeamID = esc
		keep := t.s.AssigneeID
		t.tryAssign(ctx)
		if t.s.AssigneeID == "" || t.s.WaitingForAgent {
			// Nobody free in the escalation tier: the current agent keeps it.
			t.s.AssigneeID, t.s.WaitingForAgent = keep, keep == ""
		}
	}
	system := Actor{Role: RoleSystem}
	if err := t.record(ctx, system, "escalated: "+kind+" SLA breached"); err != nil {
		workflow.GetLogger(ctx).Error("record escalation", "ticket_id", t.s.TicketID, "error", err)
	}
	if t.s.AssigneeID != previous && t.s.AssigneeID != "" {
		t.publish(ctx, events.TicketAssigned, t.assignedEvent(previous, system, "escalated after an SLA breach"))
	}
}

// escalate handles a breach along the definition's escalation chain. The
// first breach raises the priority one level and hands the ticket on: to
// the lead of its team (EscalateToTeamLead, when they are available), else
// to the escalation team's next agent (unless the chain is EscalateNone);
// a ticket that moves to another team counts its SLA in that team's hours
// from then on. Every breach publishes sla.breached with the team lead to
// tell and where the ticket went.
func (t *ticket) escalate(ctx workflow.Context, kind string, c *SLAState) {
	log := workflow.GetLogger(ctx)
	var target LoadEscalationResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityLoadEscalation, LoadEscalationInput{
		CategoryID: t.s.Definition.CategoryID, DefinitionVersion: t.s.Definition.Version,
		TeamID: t.s.TeamID, EscalationTeamID: t.s.Definition.EscalationTeamID,
	}).Get(ctx, &target)
	if err != nil {
		// Without the lookup the ticket still escalates, to the team, in
		// the hours it has.
		log.Error("load escalation target; escalating to the escalation team", "ticket_id", t.s.TicketID, "error", err)
		target = LoadEscalationResult{Chain: EscalateToTeam}
	}
	previous, previousTeam := t.s.AssigneeID, t.s.TeamID
	first := !t.s.Escalated
	to := EscalateNone
	if first {
		t.s.Escalated = true
		t.s.Priority = RaisePriority(t.s.Priority)
		t.raisedPriority = true
		chain := target.Chain
		if chain != EscalateToTeam && chain != EscalateNone {
			chain = EscalateToTeamLead
		}
		esc := t.s.Definition.EscalationTeamID
		switch {
		case chain == EscalateToTeamLead && target.TeamLeadID != "" && target.LeadAvailable:
			t.s.AssigneeID, t.s.WaitingForAgent = target.TeamLeadID, false
			to = EscalateToTeamLead
		case chain != EscalateNone && esc != "":
			t.moveToTeam(ctx, esc, target.EscalationCalendar, err == nil)
			to = EscalateToTeam
		}
	}
	system := Actor{Role: RoleSystem}
	reason := kind + " SLA breached"
	if first {
		reason = "escalated: " + reason
	}
	if err := t.record(ctx, system, reason); err != nil {
		log.Error("record escalation", "ticket_id", t.s.TicketID, "error", err)
	}
	e := SLABreachedEvent{SLAEvent: t.slaEvent(kind, c), TeamLeadID: target.TeamLeadID, EscalatedTo: to}
	if previous != t.s.AssigneeID {
		e.PreviousAssigneeID = previous
	}
	if previousTeam != t.s.TeamID {
		e.PreviousTeamID = previousTeam
	}
	t.publish(ctx, events.SLABreached, e)
	if t.s.AssigneeID != previous && t.s.AssigneeID != "" {
		t.publish(ctx, events.TicketAssigned, t.assignedEvent(previous, system, "escalated after an SLA breach"))
	}
}

// moveToTeam hands the ticket to team's next available agent; with none,
// the current agent keeps it. With switchHours, the SLA clocks count in
// cal, the team's business hours, from now on: a running clock keeps the
// time it used in the old team's hours.
func (t *ticket) moveToTeam(ctx workflow.Context, team string, cal *Calendar, switchHours bool) {
	t.s.TeamID = team
	keep := t.s.AssigneeID
	t.tryAssign(ctx)
	if t.s.AssigneeID == "" || t.s.WaitingForAgent {
		t.s.AssigneeID, t.s.WaitingForAgent = keep, keep == ""
	}
	if !switchHours {
		return
	}
	now := workflow.Now(ctx)
	var running []*SLAState
	for _, c := range []*SLAState{&t.s.FirstResponse, &t.s.Resolution} {
		if c.RunningSince != nil {
			t.stopClock(c, now)
			running = append(running, c)
		}
	}
	t.s.Calendar = cal
	for _, c := range running {
		t.startClock(c, now)
	}
}

// record writes the state to the helpdesk and the board, and the search
// attributes to Temporal. The change ID makes a retried write one change.
func (t *ticket) record(ctx workflow.Context, actor Actor, reason string) error {
	t.s.Seq++
	in := RecordStateInput{
		ChangeID:    fmt.Sprintf("%s/%d", workflow.GetInfo(ctx).WorkflowExecution.ID, t.s.Seq),
		TicketID:    t.s.TicketID,
		CategoryID:  t.s.CategoryID,
		Title:       t.s.Title,
		RequesterID: t.s.RequesterID,
		TeamID:      t.s.TeamID,
		Step:        t.s.Step,
		Status:      t.s.Status,
		Priority:    t.s.Priority,
		AssigneeID:  t.s.AssigneeID,
		ActorID:     actor.ID,
		Reason:      reason,
		SLABreached: t.s.FirstResponse.Breached || t.s.Resolution.Breached,
		FirstDue:    t.s.FirstResponse.Due,
		ResolveDue:  t.s.Resolution.Due,
		At:          workflow.Now(ctx),

		KeepPriority: !t.raisedPriority,
	}
	t.raisedPriority = false
	t.upsertSearchAttributes(ctx)
	if err := workflow.ExecuteActivity(recordCtx(ctx), ActivityRecordState, in).Get(ctx, nil); err != nil {
		return fmt.Errorf("record ticket %s: %w", t.s.TicketID, err)
	}
	return nil
}

func (t *ticket) upsertSearchAttributes(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		temporalx.TicketID.ValueSet(t.s.TicketID),
		temporalx.TicketStatus.ValueSet(t.s.Status),
		temporalx.TicketPriority.ValueSet(t.s.Priority),
		temporalx.TicketCategory.ValueSet(t.s.CategoryID),
		temporalx.AssigneeID.ValueSet(t.s.AssigneeID),
		temporalx.SLABreached.ValueSet(t.s.FirstResponse.Breached || t.s.Resolution.Breached),
	)
	if err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "ticket_id", t.s.TicketID, "error", err)
	}
}

// publish writes an event to the outbox with an ID derived from the ticket
// and the change number.
func (t *ticket) publish(ctx workflow.Context, typ string, data any) {
	t.s.Seq++
	raw, err := json.Marshal(data)
	if err != nil {
		workflow.GetLogger(ctx).Error("encode event", "type", typ, "error", err)
		return
	}
	id := uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s/%d/%s", t.s.TicketID, t.s.Seq, typ)).String()
	in := PublishEventInput{ID: id, Type: typ, Subject: t.s.TicketID, Time: workflow.Now(ctx), Data: raw}
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityPublishEvent, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("publish event", "type", typ, "ticket_id", t.s.TicketID, "error", err)
	}
}

func (t *ticket) assignedEvent(previous string, actor Actor, reason string) AssignedEvent {
	return AssignedEvent{
		TicketID: t.s.TicketID, Title: t.s.Title, RequesterID: t.s.RequesterID, AssigneeID: t.s.AssigneeID,
		PreviousAssigneeID: previous, TeamID: t.s.TeamID, Priority: t.s.Priority, ActorID: actor.ID, Reason: reason,
	}
}

func (t *ticket) statusEvent(from string, actor Actor, note string) StatusChangedEvent {
	return StatusChangedEvent{
		TicketID: t.s.TicketID, Title: t.s.Title, RequesterID: t.s.RequesterID, AssigneeID: t.s.AssigneeID,
		From: from, To: t.s.Step, Status: t.s.Status, ActorID: actor.ID, Note: note,
	}
}

func (t *ticket) slaEvent(kind string, c *SLAState) SLAEvent {
	e := SLAEvent{
		TicketID: t.s.TicketID, Title: t.s.Title, RequesterID: t.s.RequesterID, AssigneeID: t.s.AssigneeID,
		TeamID: t.s.TeamID, Priority: t.s.Priority, Kind: kind,
	}
	if c.Due != nil {
		e.Due = *c.Due
	}
	return e
}

// Activity options. Database steps are local activities (no task-queue
// round trip); the helpdesk write is an ordinary activity, retried until the
// helpdesk answers, since a ticket's state must reach its source of truth.

func localCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Minute,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
}

func recordCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{ErrTicketNotFound},
		},
	})
}

// ErrTicketNotFound is the activity error type of a ticket the helpdesk
// does not know; retrying cannot help.
const ErrTicketNotFound = "TicketNotFound"
