package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ticketflow/ticketflow/internal/events"
)

// backend plays the workflow engine's store and the helpdesk for the unit
// tests: in memory, recording what the workflow asked of it.
type backend struct {
	mu       sync.Mutex
	def      Definition
	policy   SLAPolicy
	teams    map[string][]string // available agents per team
	next     map[string]int
	assigned map[string]string // idempotency key → agent
	records  []RecordStateInput
	events   []PublishEventInput
}

func newBackend() *backend {
	def := DefaultDefinition()
	def.CategoryID, def.TeamID, def.EscalationTeamID = "cat-1", "team-1", "team-esc"
	return &backend{
		def:      def,
		policy:   SLAPolicy{Priority: "normal", FirstResponseSeconds: 3600, ResolutionSeconds: 8 * 3600, WarnRatio: 0.8, AutoCloseSeconds: 3 * 24 * 3600},
		teams:    map[string][]string{"team-1": {"agent-a", "agent-b"}, "team-esc": {"lead-x"}},
		next:     map[string]int{},
		assigned: map[string]string{},
	}
}

func (b *backend) LoadProcess(_ context.Context, in LoadProcessInput) (LoadProcessResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.policy
	p.Priority = in.Priority
	return LoadProcessResult{Definition: b.def, Policy: p}, nil
}

func (b *backend) AssignAgent(_ context.Context, in AssignAgentInput) (AssignAgentResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a, ok := b.assigned[in.Key]; ok {
		return AssignAgentResult{AgentID: a}, nil
	}
	agents := b.teams[in.TeamID]
	if len(agents) == 0 {
		return AssignAgentResult{}, nil
	}
	a := agents[b.next[in.TeamID]%len(agents)]
	b.next[in.TeamID]++
	b.assigned[in.Key] = a
	return AssignAgentResult{AgentID: a}, nil
}

func (b *backend) CheckAssignable(_ context.Context, id string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, agents := range b.teams {
		if slices.Contains(agents, id) {
			return true, nil
		}
	}
	return false, nil
}

func (b *backend) RecordState(_ context.Context, in RecordStateInput) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.records = append(b.records, in)
	return nil
}

func (b *backend) PublishEvent(_ context.Context, in PublishEventInput) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, in)
	return nil
}

func (b *backend) setTeam(team string, agents ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.teams[team] = agents
}

func (b *backend) lastRecord() RecordStateInput {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records[len(b.records)-1]
}

func (b *backend) eventTypes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		out = append(out, e.Type)
	}
	return out
}

func (b *backend) eventsOf(typ string) []PublishEventInput {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []PublishEventInput
	for _, e := range b.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// harness runs one TicketWorkflow in the test environment, with time
// skipping, against a backend.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	b   *backend
	// states are the query answers taken by at().
	states map[string]TicketState
}

var opened = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, b *backend) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(opened)
	env.RegisterWorkflow(TicketWorkflow)
	for name, fn := range map[string]any{
		ActivityLoadProcess: b.LoadProcess, ActivityAssignAgent: b.AssignAgent, ActivityCheckAssignable: b.CheckAssignable,
		ActivityRecordState: b.RecordState, ActivityPublishEvent: b.PublishEvent,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	return &harness{t: t, env: env, b: b, states: map[string]TicketState{}}
}

// at runs fn after d of workflow time.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// snapshot queries the state after d, under name.
func (h *harness) snapshot(d time.Duration, name string, role string) {
	h.at(d, func() { h.states[name] = h.query(role) })
}

func (h *harness) query(role string) TicketState {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryState, StateQuery{Actor: Actor{ID: "someone", Role: role}})
	if err != nil {
		h.t.Fatalf("query: %v", err)
	}
	var s TicketState
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// update sends an Update and returns its outcome.
type outcome struct {
	rejected error
	failed   error
	state    TicketState
	done     bool
}

func (h *harness) update(d time.Duration, name string, arg any) *outcome {
	o := &outcome{}
	h.at(d, func() {
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { o.rejected, o.done = err, true },
			OnComplete: func(v any, err error) {
				o.done, o.failed = true, err
				if s, ok := v.(TicketState); ok {
					o.state = s
				}
			},
		}, arg)
	})
	return o
}

func (h *harness) signal(d time.Duration, name string, arg any) {
	h.at(d, func() { h.env.SignalWorkflow(name, arg) })
}

func (h *harness) move(d time.Duration, to string, role string) *outcome {
	id := "agent-a"
	if role == RoleRequester {
		id = "requester-1"
	}
	return h.update(d, UpdateTransition, TransitionRequest{To: to, Actor: Actor{ID: id, Role: role}})
}

// run starts the ticket and runs the environment until the workflow ends
// or end passes; it returns the workflow's error, nil when it closed.
func (h *harness) run(end time.Duration) error {
	h.at(end, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(TicketWorkflow, TicketInput{
		TicketID: "ticket-1", Title: "Printer on fire", CategoryID: "cat-1",
		Priority: "normal", RequesterID: "requester-1", CreatedAt: opened,
	})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	return h.env.GetWorkflowError()
}

func isCanceled(err error) bool {
	var c *temporal.CanceledError
	return errors.As(err, &c)
}

func appErrType(err error) string {
	var a *temporal.ApplicationError
	if errors.As(err, &a) {
		return a.Type()
	}
	return ""
}

func TestTicket_OpeningTriagesAndAssignsRoundRobin(t *testing.T) {
	h := newHarness(t, newBackend())
	h.snapshot(time.Minute, "opened", RoleAgent)
	if err := h.run(time.Hour / 2); !isCanceled(err) {
		t.Fatalf("workflow ended with %v", err)
	}
	s := h.states["opened"]
	if s.Step != StepTriage || s.Status != StatusOpen || s.AssigneeID != "agent-a" || s.TeamID != "team-1" {
		t.Fatalf("state = step %s status %s assignee %s team %s", s.Step, s.Status, s.AssigneeID, s.TeamID)
	}
	if !slices.Equal(s.AllowedTransitions, []string{StepInProgress}) {
		t.Fatalf("allowed = %v", s.AllowedTransitions)
	}
	if d := s.FirstResponse.Due; d == nil || !d.Equal(opened.Add(time.Hour)) {
		t.Fatalf("first response due %v, want %s", d, opened.Add(time.Hour))
	}
	r := h.b.records[0]
	if r.Step != StepTriage || r.AssigneeID != "agent-a" || r.Status != StatusOpen || r.ChangeID == "" {
		t.Fatalf("first record = %+v", r)
	}
	if got := h.b.eventTypes(); !slices.Equal(got, []string{events.TicketAssigned}) {
		t.Fatalf("events = %v", got)
	}
}

func TestTicket_CategoryWithoutTeamStaysUnassignedInTriage(t *testing.T) {
	b := newBackend()
	b.def.TeamID = ""
	h := newHarness(t, b)
	h.snapshot(time.Minute, "opened", RoleAgent)
	_ = h.run(time.Hour / 2)
	s := h.states["opened"]
	if s.Step != StepTriage || s.AssigneeID != "" || s.WaitingForAgent {
		t.Fatalf("state = %+v", s)
	}
	if len(h.b.eventsOf(events.TicketAssigned)) != 0 {
		t.Fatal("ticket.assigned without an assignee")
	}
}

func TestTicket_WaitsForAnAgentThenAssignsOnSignal(t *testing.T) {
	b := newBackend()
	b.setTeam("team-1")
	h := newHarness(t, b)
	h.snapshot(time.Minute, "waiting", RoleAgent)
	h.at(2*time.Minute, func() { b.setTeam("team-1", "agent-c") })
	h.signal(3*time.Minute, SignalAgentAvailable, nil)
	h.snapshot(4*time.Minute, "assigned", RoleAgent)
	_ = h.run(5 * time.Minute)
	if s := h.states["waiting"]; !s.WaitingForAgent || s.AssigneeID != "" || s.Step != StepTriage {
		t.Fatalf("before an agent: %+v", s)
	}
	if s := h.states["assigned"]; s.WaitingForAgent || s.AssigneeID != "agent-c" {
		t.Fatalf("after the signal: waiting=%v assignee=%s", s.WaitingForAgent, s.AssigneeID)
	}
	if got := h.b.eventsOf(events.TicketAssigned); len(got) != 1 {
		t.Fatalf("ticket.assigned events = %d", len(got))
	}
}

func TestTicket_WaitingTicketRechecksOnATimer(t *testing.T) {
	b := newBackend()
	b.setTeam("team-1")
	h := newHarness(t, b)
	// The agent becomes available but nobody signals: the durable re-check finds them.
	h.at(2*time.Minute, func() { b.setTeam("team-1", "agent-c") })
	h.snapshot(agentRecheck+time.Minute, "rechecked", RoleAgent)
	_ = h.run(agentRecheck + 2*time.Minute)
	if s := h.states["rechecked"]; s.AssigneeID != "agent-c" {
		t.Fatalf("assignee after the re-check = %q", s.AssigneeID)
	}
}

func TestTransition_ValidatorRejectsIllegalMoves(t *testing.T) {
	h := newHarness(t, newBackend())
	unknown := h.update(time.Minute, UpdateTransition, TransitionRequest{To: "teleported", Actor: Actor{ID: "agent-a", Role: RoleAgent}})
	illegal := h.move(2*time.Minute, StepClosed, RoleAgent)
	requester := h.move(3*time.Minute, StepInProgress, RoleRequester)
	employee := h.update(4*time.Minute, UpdateTransition, TransitionRequest{To: StepInProgress, Actor: Actor{ID: "x", Role: "employee"}})
	h.snapshot(5*time.Minute, "after", RoleAgent)
	_ = h.run(10 * time.Minute)
	for name, c := range map[string]struct {
		o    *outcome
		want string
	}{
		"unknown step":           {unknown, ErrUnknownStep},
		"triage to closed":       {illegal, ErrIllegalTransition},
		"requester to work":      {requester, ErrRoleNotAllowed},
		"employee is not a role": {employee, ErrRoleNotAllowed},
	} {
		if !c.o.done || appErrType(c.o.rejected) != c.want {
			t.Errorf("%s: rejected = %v, want %s", name, c.o.rejected, c.want)
		}
	}
	if s := h.states["after"]; s.Step != StepTriage || len(s.History) != 1 {
		t.Fatalf("rejected moves changed the ticket: step %s history %d", s.Step, len(s.History))
	}
	if n := len(h.b.records); n != 1 {
		t.Fatalf("records = %d, want only the opening", n)
	}
}

func TestTransition_AgentMovesAndTheRequesterCloses(t *testing.T) {
	h := newHarness(t, newBackend())
	work := h.move(time.Minute, StepInProgress, RoleAgent)
	resolve := h.move(2*time.Minute, StepResolved, RoleAgent)
	closeIt := h.move(3*time.Minute, StepClosed, RoleRequester)
	err := h.run(time.Hour)
	if err != nil {
		t.Fatalf("workflow did not end cleanly after closing: %v", err)
	}
	if work.failed != nil || work.state.Step != StepInProgress || !slices.Contains(work.state.AllowedTransitions, StepResolved) {
		t.Fatalf("to in_progress: %+v", work)
	}
	if resolve.state.Status != StatusResolved || !resolve.state.Resolution.Met {
		t.Fatalf("resolve: status %s resolution met %v", resolve.state.Status, resolve.state.Resolution.Met)
	}
	if closeIt.failed != nil || closeIt.state.Status != StatusClosed {
		t.Fatalf("close: %+v", closeIt)
	}
	if r := h.b.lastRecord(); r.Step != StepClosed || r.Status != StatusClosed {
		t.Fatalf("last record = %+v", r)
	}
	if n := len(h.b.eventsOf(events.TicketStatusChanged)); n != 3 {
		t.Fatalf("status_changed events = %d, want 3 (in_progress, resolved, closed; triage is silent)", n)
	}
}

func TestSLA_FirstResponseWarnsThenBreachesAndEscalates(t *testing.T) {
	h := newHarness(t, newBackend())
	h.snapshot(47*time.Minute, "before warning", RoleAgent)
	h.snapshot(49*time.Minute, "warned", RoleAgent)
	h.snapshot(61*time.Minute, "breached", RoleAgent)
	_ = h.run(2 * time.Hour)
	if s := h.states["before warning"]; s.FirstResponse.Warned {
		t.Fatal("warned before 80% of the first-response time")
	}
	if s := h.states["warned"]; !s.FirstResponse.Warned || s.FirstResponse.Breached {
		t.Fatalf("at 49 min: %+v", s.FirstResponse)
	}
	s := h.states["breached"]
	if !s.FirstResponse.Breached || !s.Escalated || s.Priority != "high" || s.TeamID != "team-esc" || s.AssigneeID != "lead-x" {
		t.Fatalf("after the breach: breached=%v escalated=%v priority=%s team=%s assignee=%s",
			s.FirstResponse.Breached, s.Escalated, s.Priority, s.TeamID, s.AssigneeID)
	}
	breaches := h.b.eventsOf(events.SLABreached)
	if len(breaches) != 1 || len(h.b.eventsOf(events.SLAWarning)) != 1 {
		t.Fatalf("events = %v", h.b.eventTypes())
	}
	var e SLAEvent
	_ = json.Unmarshal(breaches[0].Data, &e)
	if e.Kind != "first_response" || !e.Due.Equal(opened.Add(time.Hour)) {
		t.Fatalf("sla.breached = %+v", e)
	}
	if r := h.b.lastRecord(); !r.SLABreached || r.Priority != "high" || r.AssigneeID != "lead-x" {
		t.Fatalf("escalation record = %+v", r)
	}
}

func TestSLA_FirstPublicAgentReplyMeetsFirstResponse(t *testing.T) {
	h := newHarness(t, newBackend())
	// An internal note and the requester's own comment do not count.
	h.signal(10*time.Minute, SignalComment, CommentSignal{EventID: "e1", AuthorID: "agent-a", AuthorRole: RoleAgent, Internal: true})
	h.signal(11*time.Minute, SignalComment, CommentSignal{EventID: "e2", AuthorID: "requester-1", AuthorRole: "employee"})
	h.snapshot(12*time.Minute, "notes", RoleAgent)
	h.signal(20*time.Minute, SignalComment, CommentSignal{EventID: "e3", AuthorID: "agent-a", AuthorRole: RoleAgent})
	h.snapshot(3*time.Hour, "later", RoleAgent)
	_ = h.run(4 * time.Hour)
	if s := h.states["notes"]; s.FirstResponse.Met {
		t.Fatal("an internal note or the requester's comment met the first response")
	}
	s := h.states["later"]
	if !s.FirstResponse.Met || s.FirstResponse.Breached || s.FirstResponse.UsedSeconds != 20*60 {
		t.Fatalf("first response = %+v", s.FirstResponse)
	}
	if len(h.b.eventsOf(events.SLABreached)) != 0 {
		t.Fatal("breached despite the reply")
	}
}

func TestSLA_PausedWhileWaitingOnTheRequester(t *testing.T) {
	h := newHarness(t, newBackend())
	h.signal(5*time.Minute, SignalComment, CommentSignal{EventID: "r1", AuthorID: "agent-a", AuthorRole: RoleAgent})
	h.move(10*time.Minute, StepInProgress, RoleAgent)
	h.move(time.Hour, StepWaiting, RoleAgent)
	h.snapshot(2*time.Hour, "waiting", RoleAgent)
	// Three days waiting would breach the 8 h resolution clock were it running.
	h.signal(72*time.Hour, SignalComment, CommentSignal{EventID: "r2", AuthorID: "requester-1", AuthorRole: "employee"})
	h.snapshot(72*time.Hour+time.Minute, "replied", RoleAgent)
	_ = h.run(73 * time.Hour)
	w := h.states["waiting"]
	if w.Status != StatusPending || !w.Resolution.Paused || w.Resolution.Due != nil || w.Resolution.UsedSeconds != 3600 {
		t.Fatalf("while waiting: status %s resolution %+v", w.Status, w.Resolution)
	}
	r := h.states["replied"]
	if r.Step != StepInProgress || r.Resolution.Breached || r.Resolution.Due == nil {
		t.Fatalf("after the reply: step %s resolution %+v", r.Step, r.Resolution)
	}
	if want := opened.Add(72*time.Hour + 7*time.Hour); !r.Resolution.Due.Equal(want) {
		t.Fatalf("resolution due %s, want %s (7 h left)", r.Resolution.Due, want)
	}
}

func TestAutoClose_ResolvedTicketClosesAfterSilence(t *testing.T) {
	h := newHarness(t, newBackend())
	h.move(time.Minute, StepInProgress, RoleAgent)
	h.move(2*time.Minute, StepResolved, RoleAgent)
	err := h.run(10 * 24 * time.Hour)
	if err != nil {
		t.Fatalf("workflow did not close by itself: %v", err)
	}
	r := h.b.lastRecord()
	if r.Status != StatusClosed || r.Reason != "auto-closed" || !r.At.Equal(opened.Add(2*time.Minute+3*24*time.Hour)) {
		t.Fatalf("last record = %+v", r)
	}
}

func TestAutoClose_RequesterReplyReopens(t *testing.T) {
	h := newHarness(t, newBackend())
	h.move(time.Minute, StepInProgress, RoleAgent)
	h.move(2*time.Minute, StepResolved, RoleAgent)
	h.signal(48*time.Hour, SignalComment, CommentSignal{EventID: "x", AuthorID: "requester-1", AuthorRole: "employee"})
	// The same event delivered twice counts once.
	h.signal(48*time.Hour+time.Second, SignalComment, CommentSignal{EventID: "x", AuthorID: "requester-1", AuthorRole: "employee"})
	h.snapshot(5*24*time.Hour, "reopened", RoleAgent)
	_ = h.run(5*24*time.Hour + time.Minute)
	s := h.states["reopened"]
	if s.Step != StepInProgress || s.Status != StatusOpen || s.ResolvedAt != nil {
		t.Fatalf("after the reply: step %s status %s", s.Step, s.Status)
	}
	if s.History[len(s.History)-1].Actor.Role != RoleRequester {
		t.Fatalf("last transition = %+v", s.History[len(s.History)-1])
	}
	if n := len(h.b.eventsOf(events.TicketStatusChanged)); n != 3 {
		t.Fatalf("status_changed = %d, want 3", n)
	}
}

func TestAssign_ReassignsToAnAgentOnly(t *testing.T) {
	h := newHarness(t, newBackend())
	ok := h.update(time.Minute, UpdateAssign, AssignRequest{AgentID: "agent-b", Actor: Actor{ID: "admin-1", Role: RoleAdmin}})
	notAgent := h.update(2*time.Minute, UpdateAssign, AssignRequest{AgentID: "requester-1", Actor: Actor{ID: "admin-1", Role: RoleAdmin}})
	byRequester := h.update(3*time.Minute, UpdateAssign, AssignRequest{AgentID: "agent-a", Actor: Actor{ID: "requester-1", Role: RoleRequester}})
	_ = h.run(10 * time.Minute)
	if ok.failed != nil || ok.state.AssigneeID != "agent-b" {
		t.Fatalf("reassign: %+v", ok)
	}
	if appErrType(notAgent.failed) != ErrNotAnAgent {
		t.Fatalf("non-agent: %+v", notAgent)
	}
	if appErrType(byRequester.rejected) != ErrRoleNotAllowed {
		t.Fatalf("by requester: %+v", byRequester)
	}
	assigned := h.b.eventsOf(events.TicketAssigned)
	var last AssignedEvent
	_ = json.Unmarshal(assigned[len(assigned)-1].Data, &last)
	if len(assigned) != 2 || last.AssigneeID != "agent-b" || last.PreviousAssigneeID != "agent-a" {
		t.Fatalf("assigned events = %d, last %+v", len(assigned), last)
	}
}

func TestContinueAsNew_CarriedStateResumesWithoutReloading(t *testing.T) {
	b := newBackend()
	// A first run takes the ticket to waiting on the requester...
	first := newHarness(t, b)
	first.move(time.Minute, StepInProgress, RoleAgent)
	first.move(30*time.Minute, StepWaiting, RoleAgent)
	first.snapshot(31*time.Minute, "carried", RoleSystem)
	_ = first.run(32 * time.Minute)
	carried := first.states["carried"]
	carried.AllowedTransitions = nil

	// ...and a run continuing as new starts from its state, loading nothing.
	b2 := newBackend()
	b2.def.Steps = nil // a reload would fail the run
	h := newHarness(t, b2)
	h.env.SetStartTime(opened.Add(32 * time.Minute))
	h.snapshot(time.Minute, "resumed", RoleAgent)
	h.signal(2*time.Minute, SignalComment, CommentSignal{EventID: "c1", AuthorID: "requester-1", AuthorRole: "employee"})
	h.snapshot(3*time.Minute, "replied", RoleAgent)
	h.at(10*time.Minute, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(TicketWorkflow, TicketInput{TicketID: "ticket-1", Carried: &carried})
	if s := h.states["resumed"]; s.Step != StepWaiting || s.AssigneeID != "agent-a" || !s.Resolution.Paused || s.Seq != carried.Seq {
		t.Fatalf("resumed state: step %s assignee %s paused %v seq %d/%d", s.Step, s.AssigneeID, s.Resolution.Paused, s.Seq, carried.Seq)
	}
	if s := h.states["replied"]; s.Step != StepInProgress || s.Resolution.Paused {
		t.Fatalf("after the reply: step %s paused %v", s.Step, s.Resolution.Paused)
	}
	if len(b2.records) != 1 || b2.records[0].ChangeID == b.records[0].ChangeID {
		t.Fatalf("records of the new run = %+v", b2.records)
	}
}
