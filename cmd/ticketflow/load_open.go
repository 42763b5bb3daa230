package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow/ticketflow/internal/loadtest"
)

// Streams and latency steps of the open scenario.
const (
	streamPipeline = "pipeline"
	streamBare     = "bare"
	// stepCreate is POST /helpdesk/tickets alone; stepAssigned is from
	// that POST leaving to the first GET that shows an assignee.
	stepCreate   = "create"
	stepAssigned = "assigned"
	// stepWorkflow is the bare workflow from ExecuteWorkflow to its result.
	stepWorkflow = "workflow"
)

type openOptions struct {
	rate        float64
	duration    time.Duration
	compare     bool
	bareEager   bool
	pipeline    bool
	poll        time.Duration
	pollMax     time.Duration
	timeout     time.Duration
	maxInFlight int
	priority    string

	findMax   bool
	rates     []float64
	step      time.Duration
	settle    time.Duration
	p99Bound  time.Duration
	minKeepUp float64
}

func newLoadOpenCommand(statePath *string) *cobra.Command {
	var (
		o    openOptions
		meas measureFlags
	)
	cmd := &cobra.Command{
		Use:   "open",
		Short: "Open tickets at a rate, each until its assignee is visible; --compare runs the bare Temporal baseline beside",
		Long: `open opens tickets at --rate per second for --duration, open-loop: each arrival
runs in its own goroutine whatever the earlier ones are doing. An arrival is
POST /helpdesk/tickets as a random employee of the desk, then GET
/helpdesk/tickets/{id} every --poll until assignee_id is set (or --timeout);
with --poll-max, each ticket's polls space out by half each time up to it, so
that a backlog of waiting tickets does not flood the helpdesk with GETs.
It records "create" (the POST) and "assigned" (from the POST leaving to the
answer that shows the assignee).

--compare runs, in the same process over the same window and at the same rate,
interleaved (stream k of n a k/n interval later), the bare baselines: a
Temporal workflow with two no-op activities started with the SDK
(ExecuteWorkflow, then waiting for its result) on a task queue of its own,
served by a worker in this process, on the same Temporal server
(TEMPORAL_ADDRESS), and a plain PostgreSQL insert of a ticket-shaped row into a
scratch table of its own (a schema of its own in DATABASE_URL, created and
dropped by the tool, a pool of 4). The report then
gives the rate ratio and the latency overhead of the pipeline over the bare
workflow, and the ratios (p50, p99, throughput) of "assigned" to the bare
workflow and of "create" to the plain insert.
--pipeline=false --compare runs the baselines alone; --bare-eager starts the
bare workflows with eager start, as Ticketflow's own starter does.

--find-max steps the rate through --rates, --step each, and reports per stream
the highest rate whose p99 stays under --p99-bound, that completes at least
--min-keep-up of its arrivals within the window, and that has no errors. It
stops once every stream has failed a step.`,
		Example: `  ticketflow load open --rate 20 --duration 60s --compare
  ticketflow load open --find-max --compare --rates 5,10,15,20,25,30 --step 30s --out open-max.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.pipeline && !o.compare {
				return errors.New("nothing to run: --pipeline=false needs --compare")
			}
			if !o.findMax {
				o.rates, o.step = []float64{o.rate}, o.duration
			}
			for _, r := range o.rates {
				if r <= 0 {
					return fmt.Errorf("rates must be positive, not %g", r)
				}
			}
			st, err := readLoadState(*statePath)
			if err != nil {
				return err
			}
			return runOpen(cmd, st, o, meas)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.rate, "rate", 20, "tickets opened per second")
	f.DurationVar(&o.duration, "duration", 60*time.Second, "how long arrivals go on")
	f.BoolVar(&o.compare, "compare", false, "run the bare baselines beside, interleaved: a Temporal workflow with two no-op activities, a plain PostgreSQL insert")
	f.BoolVar(&o.bareEager, "bare-eager", false, "start the bare workflows with eager start, as Ticketflow's starter does")
	f.BoolVar(&o.pipeline, "pipeline", true, "open tickets (false with --compare: the baseline alone)")
	f.DurationVar(&o.poll, "poll", 10*time.Millisecond, "how often to look for the assignee")
	f.DurationVar(&o.pollMax, "poll-max", 0, "when above --poll, each ticket's polling slows by half each time, up to this (bounds the GETs of a backlog)")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on a ticket (or a bare workflow) after this long")
	f.IntVar(&o.maxInFlight, "max-in-flight", 2000, "operations in flight per stream; arrivals over it are dropped and counted as errors")
	f.StringVar(&o.priority, "priority", "normal", "priority of the tickets")
	f.BoolVar(&o.findMax, "find-max", false, "step the rate through --rates and report the highest sustainable one")
	f.Float64SliceVar(&o.rates, "rates", []float64{5, 10, 15, 20, 25, 30, 35, 40}, "rates of --find-max, lowest first")
	f.DurationVar(&o.step, "step", 30*time.Second, "duration of each --find-max step")
	f.DurationVar(&o.settle, "settle", 2*time.Second, "pause between --find-max steps")
	f.DurationVar(&o.p99Bound, "p99-bound", time.Second, "--find-max: a rate is sustainable only with p99 under this")
	f.Float64Var(&o.minKeepUp, "min-keep-up", 0.95, "--find-max: share of arrivals that must complete within the window")
	meas.register(cmd)
	return cmd
}

// openScenario holds what every arrival of the open scenario uses.
type openScenario struct {
	o         openOptions
	c         *loadClient
	st        *loadState
	employees []*session
	// baselines is set with --compare.
	baselines *baselines
}

func runOpen(cmd *cobra.Command, st *loadState, o openOptions, meas measureFlags) error {
	ctx := cmd.Context()
	s := &openScenario{o: o, c: newLoadClient(st.Base), st: st}
	report := newReport(cmd, "open")
	if o.pipeline {
		var err error
		if s.employees, err = s.c.signInAll(ctx, st.Employees, st.Password); err != nil {
			return err
		}
	}
	if o.compare {
		b, err := startBaselines(ctx, report, baselineOptions{bare: true, bareEager: o.bareEager})
		if err != nil {
			return err
		}
		defer b.close(ctx)
		s.baselines = b
	}
	if o.pipeline {
		slowing := ""
		if o.pollMax > o.poll {
			slowing = fmt.Sprintf(" (slowing to %s)", o.pollMax)
		}
		report.Notes = append(report.Notes, fmt.Sprintf(
			"pipeline: POST /helpdesk/tickets at %s, then GET /helpdesk/tickets/{id} every %s%s until assignee_id is set", st.Base, o.poll, slowing))
	}

	ms, err := meas.start(ctx)
	if err != nil {
		return err
	}
	criteria := loadtest.Criteria{P99Bound: o.p99Bound, MinKeepUp: o.minKeepUp}
	failed := map[string]bool{}
	for i, rate := range o.rates {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(o.settle):
			}
		}
		step := s.runStep(ctx, cmd, ms, rate, o.step)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		judged := 0
		if o.findMax {
			// The pipeline and the bare workflow are judged; the plain
			// insert is only the yardstick of create.
			for j := range step.Streams {
				r := &step.Streams[j]
				latency, ok := map[string]string{streamPipeline: stepAssigned, streamBare: stepWorkflow}[r.Stream]
				if !ok {
					continue
				}
				judged++
				ok, why := criteria.Judge(*r, latency)
				r.Sustainable, r.Verdict = &ok, why
				failed[r.Stream] = failed[r.Stream] || !ok
			}
		}
		report.Steps = append(report.Steps, step)
		if o.findMax && len(failed) == judged && allTrue(failed) {
			break
		}
	}
	if o.findMax {
		fm := &loadtest.FindMax{P99BoundMS: float64(o.p99Bound.Milliseconds()), MinKeepUp: o.minKeepUp, MaxRate: map[string]float64{}}
		for _, name := range []string{streamPipeline, streamBare} {
			if r, ok := loadtest.MaxSustained(report.Steps, name); ok {
				fm.MaxRate[name] = r
			}
		}
		if p, b := fm.MaxRate[streamPipeline], fm.MaxRate[streamBare]; p > 0 && b > 0 {
			fm.RateRatio = float64(int(p/b*1000+0.5)) / 1000
		}
		report.FindMax = fm
	}
	return ms.finish(cmd, report)
}

func allTrue(m map[string]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return true
}

// runStep runs the streams at rate for d, interleaved, and returns their
// results once every operation has finished.
func (s *openScenario) runStep(ctx context.Context, cmd *cobra.Command, ms *measurement, rate float64, d time.Duration) loadtest.Step {
	var runs []streamRun
	if s.o.pipeline {
		runs = append(runs, streamRun{stream: loadtest.NewStream(streamPipeline, stepCreate, stepAssigned), rate: rate, op: s.openTicket})
	}
	if s.baselines != nil {
		runs = append(runs, s.baselines.runs(rate, rate, 0)...)
	}
	stop := ms.progress(ctx, cmd, fmt.Sprintf("open %g/s", rate), d, streamsOf(runs)...)
	runInterleaved(ctx, runs, d, s.o.maxInFlight, s.o.timeout)
	stop()
	step := loadtest.Step{Rate: rate, Streams: results(runs)}
	if p, b := step.Stream(streamPipeline), step.Stream(streamBare); p != nil && b != nil {
		c := loadtest.Compare(*p, *b, stepAssigned, stepWorkflow)
		step.Comparison = &c
	}
	step.AddRatios(
		loadtest.Pairing{Stream: streamPipeline, Step: stepAssigned, Baseline: streamBare, BaselineStep: stepWorkflow},
		loadtest.Pairing{Stream: streamPipeline, Step: stepCreate, Baseline: streamInsert, BaselineStep: stepInsert},
	)
	return step
}

// openTicket opens a ticket as a random employee and waits until the
// helpdesk shows its assignee.
func (s *openScenario) openTicket(ctx context.Context, stream *loadtest.Stream) error {
	emp := s.employees[rand.IntN(len(s.employees))]
	token, err := emp.bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	body := map[string]string{
		"title":       fmt.Sprintf("Load: %s %s", pickWord(), pickWord()),
		"description": ticketText(12),
		"category_id": s.st.CategoryID,
		"priority":    s.o.priority,
	}
	var t struct {
		ID         string  `json:"id"`
		AssigneeID *string `json:"assignee_id"`
	}
	start := time.Now()
	if err := s.c.call(ctx, stepCreate, http.MethodPost, "/helpdesk/tickets", token, body, &t, http.StatusCreated); err != nil {
		return err
	}
	stream.Step(stepCreate).Record(time.Since(start))
	interval := s.o.poll
	next := time.Now().Add(interval)
	for t.AssigneeID == nil {
		wait := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			wait.Stop()
			return loadtest.Failed("assigned: timeout", fmt.Errorf("ticket %s unassigned after %s", t.ID, time.Since(start).Round(time.Millisecond)))
		case <-wait.C:
		}
		if err := s.c.call(ctx, "poll", http.MethodGet, "/helpdesk/tickets/"+t.ID, token, nil, &t, http.StatusOK); err != nil {
			if ctx.Err() != nil {
				return loadtest.Failed("assigned: timeout", fmt.Errorf("ticket %s unassigned after %s", t.ID, time.Since(start).Round(time.Millisecond)))
			}
			return err
		}
		if s.o.pollMax > interval {
			interval = min(interval*3/2, s.o.pollMax)
		}
		// Polls keep their schedule as a ticker's do, skipping those a slow
		// answer made miss.
		next = next.Add(interval)
		if now := time.Now(); next.Before(now) {
			next = now
		}
	}
	stream.Step(stepAssigned).Record(time.Since(start))
	return nil
}
