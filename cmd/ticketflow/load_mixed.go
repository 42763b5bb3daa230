package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow/ticketflow/internal/loadtest"
	"github.com/ticketflow/ticketflow/workflows"
)

// The operations of the mixed scenario. Browsing records the browse
// scenario's page kinds (list, filtered, search, detail, history) as its
// steps; the others record the steps named here.
const (
	opBrowse         = "browse"
	opMyTickets      = "my-tickets"
	opOpen           = "open"
	opAgentReply     = "agent-reply"
	opRequesterReply = "requester-reply"
	opTransition     = "transition"
	opBoard          = "board"

	// stepMyTickets is an employee's list of their own tickets.
	stepMyTickets = "my tickets"
	// stepAgentReply and stepRequesterReply are the comment POSTs.
	stepAgentReply     = "agent reply"
	stepRequesterReply = "requester reply"
	// stepState is GET /workflow/tickets/{id}, which a transition reads
	// first for the moves allowed; stepTransition is the POST.
	stepState      = "state"
	stepTransition = "transition"
	stepBoard      = "board"
)

// mixedOps are the operations a --mix may name, in report order.
var mixedOps = []string{opBrowse, opMyTickets, opOpen, opAgentReply, opRequesterReply, opTransition, opBoard}

// defaultMix is a working day of a help desk, browse-heavy: agents spend
// most requests reading queues, searches and tickets; for every ticket
// opened there are about three comments, one step change and a look at
// the board.
const defaultMix = "browse=64,my-tickets=8,open=5,agent-reply=10,requester-reply=5,transition=6,board=2"

type mixedOptions struct {
	rate        float64
	duration    time.Duration
	mix         string
	tickets     int
	maxInFlight int
	timeout     time.Duration
	compare     bool
}

// The baselines' yardsticks in a mix: the steps that go through Temporal
// (opening's "assigned", a transition's update and the state's query) are
// judged against the bare workflow, the other writes (the ticket's and the
// comments' POSTs) against the plain insert, and the pages that only read
// PostgreSQL against the plain select. Each baseline runs at the rate of the
// operations it is the yardstick of.
var (
	mixedTemporalOps   = []string{opOpen, opTransition}
	mixedWriteOps      = []string{opOpen, opAgentReply, opRequesterReply}
	mixedReadOps       = []string{opBrowse, opMyTickets, opBoard}
	mixedTemporalSteps = []string{stepAssigned, stepState, stepTransition}
	mixedWriteSteps    = []string{stepCreate, stepAgentReply, stepRequesterReply}
	mixedReadSteps     = []string{pageList, pageFiltered, pageSearch, pageDetail, pageHistory, stepMyTickets, stepBoard}
)

// mixedBaselineRates returns the rates of the baselines beside a mix at
// rate with the given shares: each the rate of the operations it is the
// yardstick of.
func mixedBaselineRates(rate float64, shares map[string]float64) (bare, insert, sel float64) {
	sum := func(ops []string) float64 {
		var s float64
		for _, op := range ops {
			s += shares[op]
		}
		return math.Round(rate*s*1000) / 1000
	}
	return sum(mixedTemporalOps), sum(mixedWriteOps), sum(mixedReadOps)
}

func newLoadMixedCommand(statePath *string) *cobra.Command {
	var (
		o    mixedOptions
		meas measureFlags
	)
	cmd := &cobra.Command{
		Use:   "mixed",
		Short: "A day's help-desk traffic in proportions, open-loop at a total rate",
		Long: `mixed sends --rate operations per second in total for --duration, open-loop,
dealt in the proportions of --mix (name=weight, spread evenly over the run):

  browse           an agent's list, filtered list, search, detail or history
                   page, in the browse scenario's cycle
  my-tickets       an employee's list of their own tickets
  open             an employee opens a ticket and waits for its assignee
                   (create, assigned), as the open scenario does
  agent-reply      an agent's public comment on an open ticket
  requester-reply  the requester's comment on their own ticket
  transition       an agent reads a ticket's workflow state (state) and makes
                   one of its allowed moves, never to closed (transition)
  board            the workflow board of the desk's category

Replies and transitions act on tickets opened through the API: --tickets
opened before the clock starts, and every ticket the run opens. Each step's
latency is reported apart. Seed the helpdesk first (load seed) for browsing
to read a realistic table.

--compare runs the bare baselines beside, interleaved, each at the rate of
the operations it is the yardstick of: the Temporal workflow with two no-op
activities (TEMPORAL_ADDRESS, worker in this process) at the rate of open and
transition, judged against "assigned", "state" and "transition", the steps
that go through Temporal; a plain PostgreSQL INSERT of a ticket-shaped row at
the rate of open and the replies, judged against "create" and the replies; a
plain SELECT of one by primary key at the rate of browse, my-tickets and
board, judged against the pages, "my tickets" and "board" (DATABASE_URL, a
schema of its own, created and dropped, a pool of 4).`,
		Example: `  ticketflow load mixed --rate 100 --duration 60s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.rate <= 0 || o.tickets < 1 {
				return errors.New("--rate and --tickets must be positive")
			}
			ws, err := loadtest.ParseMix(o.mix, mixedOps)
			if err != nil {
				return fmt.Errorf("--mix: %w", err)
			}
			mix, err := loadtest.NewMix(ws)
			if err != nil {
				return fmt.Errorf("--mix: %w", err)
			}
			st, err := readLoadState(*statePath)
			if err != nil {
				return err
			}
			return runMixed(cmd, st, o, mix, meas)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.rate, "rate", 100, "operations per second, all kinds together")
	f.DurationVar(&o.duration, "duration", 60*time.Second, "how long arrivals go on")
	f.StringVar(&o.mix, "mix", defaultMix, "operations and their weights")
	f.IntVar(&o.tickets, "tickets", 20, "tickets opened before the clock starts, for replies and transitions")
	f.IntVar(&o.maxInFlight, "max-in-flight", 2000, "operations in flight; arrivals over it are dropped and counted as errors")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on an operation after this long")
	f.BoolVar(&o.compare, "compare", false, "run the bare baselines beside, interleaved: a Temporal workflow with two no-op activities, a plain PostgreSQL insert and select")
	meas.register(cmd)
	return cmd
}

// mixedTicket is a ticket the run may comment on or move, and its
// requester.
type mixedTicket struct {
	id        string
	requester *session
}

// mixedScenario holds what every operation uses.
type mixedScenario struct {
	o         mixedOptions
	mix       loadtest.Mix
	c         *loadClient
	st        *loadState
	browse    *browser
	agents    []*session
	employees []*session
	next      atomic.Int64

	mu      sync.Mutex
	tickets []mixedTicket
}

func runMixed(cmd *cobra.Command, st *loadState, o mixedOptions, mix loadtest.Mix, meas measureFlags) error {
	ctx := cmd.Context()
	c := newLoadClient(st.Base)
	s := &mixedScenario{o: o, mix: mix, c: c, st: st}
	var err error
	if s.agents, err = c.signInAll(ctx, st.Agents, st.Password); err != nil {
		return err
	}
	if s.employees, err = c.signInAll(ctx, st.Employees, st.Password); err != nil {
		return err
	}
	s.browse = &browser{c: c, agents: s.agents, categories: st.categories()}
	for _, a := range st.Agents {
		s.browse.agentIDs = append(s.browse.agentIDs, a.ID)
	}
	if err := s.browse.primeIDs(ctx); err != nil {
		return err
	}
	if err := s.openFirstTickets(ctx); err != nil {
		return err
	}

	report := newReport(cmd, "mixed")
	var shares []string
	shareOf := mix.Shares()
	for _, op := range mixedOps {
		if sh, ok := shareOf[op]; ok {
			shares = append(shares, fmt.Sprintf("%s %.0f%%", op, 100*sh))
		}
	}
	report.Notes = append(report.Notes,
		fmt.Sprintf("mixed: %s of %g operations/s at %s, as %d agents and %d employees; %d tickets seeded by load seed",
			strings.Join(shares, ", "), o.rate, st.Base, len(st.Agents), len(st.Employees), st.Seeded))
	var bl *baselines
	bareRate, insertRate, selectRate := mixedBaselineRates(o.rate, shareOf)
	if o.compare {
		if bl, err = startBaselines(ctx, report, baselineOptions{bare: bareRate > 0, readRows: seedReadRows(st.Seeded)}); err != nil {
			return err
		}
		defer bl.close(ctx)
		report.Notes = append(report.Notes, fmt.Sprintf("baseline rates: bare %g/s, insert %g/s, select %g/s", bareRate, insertRate, selectRate))
	}
	ms, err := meas.start(ctx)
	if err != nil {
		return err
	}
	stream := loadtest.NewStream("mixed",
		pageList, pageFiltered, pageSearch, pageDetail, pageHistory, stepMyTickets,
		stepCreate, stepAssigned, stepAgentReply, stepRequesterReply, stepState, stepTransition, stepBoard)
	runs := []streamRun{{stream: stream, rate: o.rate, op: s.operate}}
	if bl != nil {
		runs = append(runs, bl.runs(bareRate, insertRate, selectRate)...)
	}
	stop := ms.progress(ctx, cmd, fmt.Sprintf("mixed %g/s", o.rate), o.duration, streamsOf(runs)...)
	runInterleaved(ctx, runs, o.duration, o.maxInFlight, o.timeout)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	step := loadtest.Step{Rate: o.rate, Streams: results(runs)}
	res := step.Stream("mixed")
	// Steps no operation reached (a mix without them) stay out of the table.
	res.Steps = slices.DeleteFunc(res.Steps, func(name string) bool { return res.Latency[name].Count == 0 })
	step.AddRatios(append(append(
		pairAll("mixed", mixedTemporalSteps, streamBare, stepWorkflow),
		pairAll("mixed", mixedWriteSteps, streamInsert, stepInsert)...),
		pairAll("mixed", mixedReadSteps, streamSelect, stepSelect)...)...)
	report.Steps = []loadtest.Step{step}
	report.Notes = append(report.Notes, fmt.Sprintf("tickets acted on at the end: %d", s.ticketCount()))
	return ms.finish(cmd, report)
}

// openFirstTickets opens the tickets replies and transitions start with,
// each until its assignee is visible.
func (s *mixedScenario) openFirstTickets(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	warmup := loadtest.NewStream("warm-up", stepCreate, stepAssigned)
	for range s.o.tickets {
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(gctx, s.o.timeout)
			defer cancel()
			return s.openTicket(ctx, warmup)
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("open the first tickets: %w", err)
	}
	return nil
}

// operate runs the next operation of the mix.
func (s *mixedScenario) operate(ctx context.Context, stream *loadtest.Stream) error {
	switch op := s.mix.Pick(s.next.Add(1) - 1); op {
	case opBrowse:
		return s.browse.request(ctx, stream)
	case opMyTickets:
		return s.myTickets(ctx, stream)
	case opOpen:
		return s.openTicket(ctx, stream)
	case opAgentReply:
		t := s.pickTicket()
		return s.comment(ctx, stream, stepAgentReply, s.agents[rand.IntN(len(s.agents))], t)
	case opRequesterReply:
		t := s.pickTicket()
		return s.comment(ctx, stream, stepRequesterReply, t.requester, t)
	case opTransition:
		return s.transition(ctx, stream)
	case opBoard:
		return s.board(ctx, stream)
	default:
		return fmt.Errorf("unknown operation %q", op)
	}
}

// openTicket opens a ticket as a random employee, as the open scenario
// does, and adds it to the tickets replies and transitions act on.
func (s *mixedScenario) openTicket(ctx context.Context, stream *loadtest.Stream) error {
	i := rand.IntN(len(s.employees))
	emp := s.employees[i]
	token, err := emp.bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	id, err := s.openAs(ctx, stream, token)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.tickets = append(s.tickets, mixedTicket{id: id, requester: emp})
	s.mu.Unlock()
	return nil
}

// openAs opens a ticket with token and polls it until its assignee is
// visible, recording create and assigned as the open scenario does (every
// 10 ms, slowing by half each time up to 200 ms, so that a backlog does not
// flood the helpdesk with polls).
func (s *mixedScenario) openAs(ctx context.Context, stream *loadtest.Stream, token string) (string, error) {
	body := map[string]string{
		"title":       fmt.Sprintf("Load mixed: %s %s", pickWord(), pickWord()),
		"description": ticketText(12),
		"category_id": s.st.CategoryID,
		"priority":    "normal",
	}
	var t struct {
		ID         string  `json:"id"`
		AssigneeID *string `json:"assignee_id"`
	}
	start := time.Now()
	if err := s.c.call(ctx, stepCreate, http.MethodPost, "/helpdesk/tickets", token, body, &t, http.StatusCreated); err != nil {
		return "", err
	}
	stream.Step(stepCreate).Record(time.Since(start))
	interval := 10 * time.Millisecond
	for t.AssigneeID == nil {
		select {
		case <-ctx.Done():
			return "", loadtest.Failed("assigned: timeout", fmt.Errorf("ticket %s unassigned after %s", t.ID, time.Since(start).Round(time.Millisecond)))
		case <-time.After(interval):
		}
		if err := s.c.call(ctx, "poll", http.MethodGet, "/helpdesk/tickets/"+t.ID, token, nil, &t, http.StatusOK); err != nil {
			if ctx.Err() != nil {
				return "", loadtest.Failed("assigned: timeout", fmt.Errorf("ticket %s unassigned after %s", t.ID, time.Since(start).Round(time.Millisecond)))
			}
			return "", err
		}
		interval = min(interval*3/2, 200*time.Millisecond)
	}
	stream.Step(stepAssigned).Record(time.Since(start))
	return t.ID, nil
}

func (s *mixedScenario) pickTicket() mixedTicket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tickets[rand.IntN(len(s.tickets))]
}

func (s *mixedScenario) ticketCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tickets)
}

// myTickets lists an employee's own tickets.
func (s *mixedScenario) myTickets(ctx context.Context, stream *loadtest.Stream) error {
	token, err := s.employees[rand.IntN(len(s.employees))].bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	start := time.Now()
	if err := s.c.call(ctx, stepMyTickets, http.MethodGet, "/helpdesk/tickets?sort=updated", token, nil, nil, http.StatusOK); err != nil {
		return err
	}
	stream.Step(stepMyTickets).Record(time.Since(start))
	return nil
}

// comment posts a public comment on t as who.
func (s *mixedScenario) comment(ctx context.Context, stream *loadtest.Stream, step string, who *session, t mixedTicket) error {
	token, err := who.bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	body := map[string]any{"body": ticketText(10), "internal": false}
	start := time.Now()
	if err := s.c.call(ctx, step, http.MethodPost, "/messaging/tickets/"+t.id+"/comments", token, body, nil, http.StatusCreated); err != nil {
		return err
	}
	stream.Step(step).Record(time.Since(start))
	return nil
}

// transition moves a ticket as an agent: it reads the moves allowed and
// makes one (see nextMove). A ticket with no move left but closing is
// left alone, and counted as done.
func (s *mixedScenario) transition(ctx context.Context, stream *loadtest.Stream) error {
	t := s.pickTicket()
	token, err := s.agents[rand.IntN(len(s.agents))].bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	var state struct {
		Step    string   `json:"step"`
		Allowed []string `json:"allowed_transitions"`
	}
	start := time.Now()
	if err := s.c.call(ctx, stepState, http.MethodGet, "/workflow/tickets/"+t.id, token, nil, &state, http.StatusOK); err != nil {
		return err
	}
	stream.Step(stepState).Record(time.Since(start))
	to := nextMove(state.Allowed)
	if to == "" {
		return nil
	}
	start = time.Now()
	err = s.c.call(ctx, stepTransition, http.MethodPost, "/workflow/tickets/"+t.id+"/transitions", token,
		map[string]string{"to": to, "note": "load: " + pickWord()}, nil, http.StatusOK)
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusConflict {
		// Another operation moved the ticket between the read and the
		// move: the workflow said no, as it should.
		stream.Step(stepTransition).Record(time.Since(start))
		return nil
	}
	if err != nil {
		return err
	}
	stream.Step(stepTransition).Record(time.Since(start))
	return nil
}

// nextMove picks the move a working desk makes most: work on it, ask the
// requester, resolve, reopen; never close, so that tickets stay in play.
func nextMove(allowed []string) string {
	can := func(step string) bool { return slices.Contains(allowed, step) }
	switch {
	case can(workflows.StepInProgress):
		return workflows.StepInProgress
	// Resolve now and then: most moves of a ticket in work keep it open.
	case can(workflows.StepResolved) && (!can(workflows.StepWaiting) || rand.IntN(4) == 0):
		return workflows.StepResolved
	case can(workflows.StepWaiting):
		return workflows.StepWaiting
	}
	return ""
}

// board reads the workflow board of the desk's category.
func (s *mixedScenario) board(ctx context.Context, stream *loadtest.Stream) error {
	token, err := s.agents[rand.IntN(len(s.agents))].bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	start := time.Now()
	if err := s.c.call(ctx, stepBoard, http.MethodGet, "/workflow/board?category_id="+url.QueryEscape(s.st.CategoryID), token, nil, nil, http.StatusOK); err != nil {
		return err
	}
	stream.Step(stepBoard).Record(time.Since(start))
	return nil
}
