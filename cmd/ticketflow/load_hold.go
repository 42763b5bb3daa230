package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/loadtest"
	"github.com/ticketflow/ticketflow/workflows"
)

type holdOptions struct {
	total         int
	rate          float64
	concurrency   int
	checkpoints   []int
	batch         int
	priority      string
	probes        int
	settleTimeout time.Duration
	maxDuration   time.Duration
	timeout       time.Duration
	pprof         string
}

func newLoadHoldCommand(statePath *string) *cobra.Command {
	var (
		o    holdOptions
		meas measureFlags
	)
	cmd := &cobra.Command{
		Use:   "hold",
		Short: "Open many tickets fast, each a TicketWorkflow left waiting on its SLA timers, and measure the cost curve",
		Long: `hold builds up open tickets faster than the API opens them, to measure what
holding them costs: it writes the ticket rows (and their creation in the
history) straight into the helpdesk schema of DATABASE_URL with COPY, --batch
at a time, and starts each ticket's TicketWorkflow with the Temporal SDK as the
worker's starter does (workflow ID ticket-<id>, the same input, task queue
TEMPORAL_TASK_QUEUE, TEMPORAL_ADDRESS), at --rate starts a second with at most
--concurrency in flight. The runs are real: the worker assigns each ticket,
records it in the helpdesk and leaves it waiting on its SLA timers.

At each of --checkpoints (and at --total) it stops starting, waits until the
helpdesk shows an assignee on every ticket started (at most --settle-timeout),
opens --probes real tickets through the API one after another (POST, then GET
until the assignee is visible, as the open scenario does), and records: starts
accepted and failed, start latency and rate, open and closed runs of the task
queue (visibility), the probes' latency, and the RSS and CPU of the --pids
processes (while starting, and while holding). It stops early after
--max-duration of starting (the pauses at checkpoints not counted), measuring
where it got as the last checkpoint, or when a checkpoint's settle times out.

Point it at a Temporal server of its own: it leaves --total runs open.`,
		Example: `  ticketflow load hold --total 100000 --rate 50 --checkpoints 1000,2000,5000,10000,20000,50000 --pids $WORKER,$TEMPORAL`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.rate <= 0 || o.concurrency < 1 || o.batch < 1 || o.probes < 0 {
				return errors.New("--rate, --concurrency and --batch must be positive, --probes not negative")
			}
			if _, err := loadtest.Checkpoints(o.checkpoints, o.total); err != nil {
				return fmt.Errorf("--checkpoints/--total: %w", err)
			}
			st, err := readLoadState(*statePath)
			if err != nil {
				return err
			}
			return runHold(cmd, st, o, meas)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.total, "total", 100_000, "tickets to open and hold")
	f.Float64Var(&o.rate, "rate", 50, "workflow starts per second")
	f.IntVar(&o.concurrency, "concurrency", 16, "workflow starts in flight at most")
	f.IntSliceVar(&o.checkpoints, "checkpoints", []int{1000, 2000, 5000, 10_000, 20_000, 50_000}, "open tickets at which to measure (and --total)")
	f.IntVar(&o.batch, "batch", 1000, "ticket rows per COPY")
	f.StringVar(&o.priority, "priority", "normal", "priority of the tickets, which sets their SLA timers")
	f.IntVar(&o.probes, "probes", 5, "real tickets opened through the API at each checkpoint")
	f.DurationVar(&o.settleTimeout, "settle-timeout", 10*time.Minute, "how long a checkpoint waits for every started ticket to be assigned")
	f.DurationVar(&o.maxDuration, "max-duration", 30*time.Minute, "stop after this much time of starting (pauses at checkpoints not counted), measuring where it got")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on one start, or one probe, after this long")
	f.StringVar(&o.pprof, "pprof", "", "base URL of the worker's PPROF_ADDR (http://127.0.0.1:6060): read its heap after a GC and its goroutines at each checkpoint")
	meas.register(cmd)
	return cmd
}

// holder opens and holds the tickets.
type holder struct {
	o        holdOptions
	st       *loadState
	tag      string
	pool     *pgxpool.Pool
	temporal client.Client
	queue    string
	probe    *openScenario
	pids     []int

	errMu      sync.Mutex
	errs       int64
	errorKinds map[string]int
}

func runHold(cmd *cobra.Command, st *loadState, o holdOptions, meas measureFlags) error {
	ctx := cmd.Context()
	out := cmd.ErrOrStderr()
	app, err := loadApp()
	if err != nil {
		return err
	}
	defer app.Close()
	h := &holder{o: o, st: st, queue: app.Config.TemporalTaskQueue, errorKinds: map[string]int{}}
	if h.tag, err = randomTag(); err != nil {
		return err
	}
	if h.pool, err = app.Pool(ctx, helpdesk.Schema); err != nil {
		return err
	}
	if h.temporal, err = app.Temporal(ctx); err != nil {
		return err
	}
	h.pids = meas.pids
	if len(h.pids) == 0 {
		if h.pids, err = loadtest.FindPIDs(meas.procs); err != nil {
			return err
		}
	}
	c := newLoadClient(st.Base)
	h.probe = &openScenario{o: openOptions{poll: 10 * time.Millisecond, priority: o.priority}, c: c, st: st}
	if o.probes > 0 {
		if h.probe.employees, err = c.signInAll(ctx, st.Employees, st.Password); err != nil {
			return err
		}
	}
	report := loadtest.HoldReport{Scenario: "hold", Command: newReport(cmd, "hold").Command, StartedAt: time.Now().UTC(), Machine: loadtest.ThisMachine()}
	report.Notes = append(report.Notes,
		fmt.Sprintf("tickets titled \"Hold %s #n\", priority %s, category %s; TicketWorkflow on task queue %s of %s", h.tag, o.priority, st.CategoryID, h.queue, app.Config.TemporalAddress),
		fmt.Sprintf("starts at %g/s, at most %d in flight; %d probes a checkpoint through %s", o.rate, o.concurrency, o.probes, st.Base))
	checkpoints, _ := loadtest.Checkpoints(o.checkpoints, o.total)
	base := loadtest.SnapshotProcs(h.pids)
	report.Baseline = loadtest.Between(base, base)
	report.BaselineHeap = h.heap(ctx)
	began := time.Now()
	var starting time.Duration
	opened := 0
	writeOut := func() error {
		report.Machine.LoadAvgEnd = loadtest.LoadAverage()
		if err := report.WriteText(out); err != nil {
			return err
		}
		return writeJSON(cmd, meas.out, report)
	}
	for _, target := range checkpoints {
		segStart := time.Now()
		before := loadtest.SnapshotProcs(h.pids)
		lat, reached, err := h.openSegment(ctx, opened, target, segStart.Add(o.maxDuration-starting), out)
		target = reached
		if ctx.Err() != nil {
			report.Stopped = "interrupted"
			return errors.Join(ctx.Err(), writeOut())
		}
		if err != nil {
			report.Stopped = err.Error()
			break
		}
		started := time.Now()
		starting += started.Sub(segStart)
		cp := loadtest.HoldCheckpoint{Target: target, StartLatency: lat.hist.Summary(), LoadAvg: loadtest.LoadAverage()}
		if d := lat.last.Sub(segStart).Seconds(); d > 0 {
			cp.StartRate = float64(int(float64(lat.ok)/d*10+0.5)) / 10
		}
		afterStarts := loadtest.SnapshotProcs(h.pids)
		cp.Starting = loadtest.Between(before, afterStarts)
		opened = target

		h.errMu.Lock()
		cp.Errors, cp.ErrorKinds = h.errs, cloneCounts(h.errorKinds)
		h.errMu.Unlock()
		cp.Started = int64(opened) - cp.Errors
		settled := h.settle(ctx, cp.Started, &cp)
		cp.SettleS = time.Since(started).Seconds()
		cp.Probe, cp.ProbeErrors = h.runProbes(ctx)
		cp.OpenRuns, cp.ClosedRuns = h.countRuns(ctx)
		cp.Holding = loadtest.Between(afterStarts, loadtest.SnapshotProcs(h.pids))
		cp.Heap = h.heap(ctx)
		cp.ElapsedS = time.Since(began).Seconds()
		report.Checkpoints = append(report.Checkpoints, cp)
		a := cp.Probe[stepAssigned]
		fmt.Fprintf(out, "checkpoint %d: started %d, errors %d, open runs %d, assigned %d (settle %.0f s), start %.1f/s p50 %.0f ms, probe assigned p50 %.0f ms max %.0f ms, %d probe errors\n",
			target, cp.Started, cp.Errors, cp.OpenRuns, cp.Assigned, cp.SettleS, cp.StartRate, cp.StartLatency.P50MS, a.P50MS, a.MaxMS, cp.ProbeErrors)
		if !settled {
			report.Stopped = fmt.Sprintf("at %d: not every started ticket was assigned within %s", target, o.settleTimeout)
			break
		}
		if starting >= o.maxDuration && target < o.total {
			report.Stopped = fmt.Sprintf("at %d: %s of starting reached --max-duration", target, starting.Round(time.Second))
			break
		}
	}
	return writeOut()
}

// segmentLatency is what one segment's starts took.
type segmentLatency struct {
	hist *loadtest.Histogram
	ok   int
	last time.Time
}

// openSegment opens tickets from+1 … to: their rows first, a batch at a
// time, then their workflow starts, paced at the rate.
//
// A segment that reaches stopAt ends at the next batch: it returns how far
// it got, which the caller measures as the last checkpoint.
func (h *holder) openSegment(ctx context.Context, from, to int, stopAt time.Time, out io.Writer) (segmentLatency, int, error) {
	lat := segmentLatency{hist: &loadtest.Histogram{}}
	var mu sync.Mutex
	sem := make(chan struct{}, h.o.concurrency)
	var wg sync.WaitGroup
	pace := loadtest.Pace{Rate: h.o.rate}
	origin := time.Now()
	lastReport := origin
	i := 0
	n := from
	for n < to && time.Now().Before(stopAt) {
		batch := h.rows(n, min(h.o.batch, to-n))
		if err := h.insert(ctx, batch); err != nil {
			wg.Wait()
			return lat, n, fmt.Errorf("insert tickets %d–%d: %w", n+1, n+len(batch), err)
		}
		for _, in := range batch {
			if err := (loadtest.RealClock{}).SleepUntil(ctx, origin.Add(pace.Due(i))); err != nil {
				wg.Wait()
				return lat, n, err
			}
			i++
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return lat, n, ctx.Err()
			}
			wg.Go(func() {
				defer func() { <-sem }()
				t0 := time.Now()
				err := h.start(ctx, in)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					h.fail(err)
					return
				}
				lat.hist.Record(time.Since(t0))
				lat.ok++
				lat.last = time.Now()
			})
		}
		n += len(batch)
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(out, "hold: %d/%d tickets queued for start, %.1f/s\n", n, h.o.total, float64(n-from)/time.Since(origin).Seconds())
		}
	}
	wg.Wait()
	return lat, n, nil
}

// rows returns the inputs of tickets n+1 … n+count.
func (h *holder) rows(n, count int) []workflows.TicketInput {
	now := time.Now().UTC().Truncate(time.Microsecond)
	out := make([]workflows.TicketInput, count)
	for i := range out {
		out[i] = workflows.TicketInput{
			TicketID:    ticketIDAt(now),
			Title:       fmt.Sprintf("Hold %s #%d: %s %s", h.tag, n+i+1, pickWord(), pickWord()),
			CategoryID:  h.st.CategoryID,
			Priority:    h.o.priority,
			RequesterID: h.st.Employees[rand.IntN(len(h.st.Employees))].ID,
			CreatedAt:   now,
		}
	}
	return out
}

// insert writes the tickets as the helpdesk's create does, without the
// outbox row: this tool starts the workflows itself.
func (h *holder) insert(ctx context.Context, batch []workflows.TicketInput) error {
	tickets := make([][]any, len(batch))
	history := make([][]any, len(batch))
	for i, t := range batch {
		tickets[i] = []any{t.TicketID, t.Title, ticketText(12), string(helpdesk.StatusNew), t.Priority, t.CategoryID, t.RequesterID, nil, helpdesk.StepNew, t.CreatedAt, t.CreatedAt}
		history[i] = []any{t.TicketID, helpdesk.FieldTicket, "created", t.RequesterID, t.RequesterID, t.CreatedAt}
	}
	return copyBatch(ctx, h.pool, tickets, history)
}

// start starts a ticket's workflow as workers.NewTicketStarter does.
func (h *holder) start(ctx context.Context, in workflows.TicketInput) error {
	ctx, cancel := context.WithTimeout(ctx, h.o.timeout)
	defer cancel()
	_, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.TicketWorkflowID(in.TicketID),
		TaskQueue:                h.queue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		EnableEagerStart:         true,
	}, workflows.TicketWorkflow, in)
	if err != nil {
		return loadtest.Failed("start", err)
	}
	return nil
}

func (h *holder) fail(err error) {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	h.errs++
	h.errorKinds[loadtest.KindOf(err)]++
}

// settle waits until the helpdesk shows an assignee on want of the run's
// tickets, or the settle timeout, recording the count in cp.
func (h *holder) settle(ctx context.Context, want int64, cp *loadtest.HoldCheckpoint) bool {
	deadline := time.Now().Add(h.o.settleTimeout)
	for {
		err := h.pool.QueryRow(ctx,
			`SELECT count(*) FROM tickets WHERE category_id = $1 AND title LIKE $2 AND assignee_id IS NOT NULL`,
			h.st.CategoryID, "Hold "+h.tag+" #%").Scan(&cp.Assigned)
		if err == nil && cp.Assigned >= want {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(2 * time.Second)
	}
}

// runProbes opens real tickets through the API, one after another.
func (h *holder) runProbes(ctx context.Context) (map[string]loadtest.Summary, int) {
	s := loadtest.NewStream("probe", stepCreate, stepAssigned)
	failed := 0
	for range h.o.probes {
		pctx, cancel := context.WithTimeout(ctx, h.o.timeout)
		if err := h.probe.openTicket(pctx, s); err != nil {
			failed++
		}
		cancel()
	}
	return map[string]loadtest.Summary{stepCreate: s.Step(stepCreate).Summary(), stepAssigned: s.Step(stepAssigned).Summary()}, failed
}

// countRuns asks visibility for the task queue's running and other runs
// (-1 when it cannot answer).
func (h *holder) countRuns(ctx context.Context) (open, closed int64) {
	count := func(q string) int64 {
		res, err := h.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil {
			return -1
		}
		return res.GetCount()
	}
	q := fmt.Sprintf("TaskQueue = '%s'", h.queue)
	return count(q + " AND ExecutionStatus = 'Running'"), count(q + " AND ExecutionStatus != 'Running'")
}

// heap reads the worker's live heap, after a GC, and its goroutines from
// its pprof endpoint; nil without --pprof or when it does not answer.
func (h *holder) heap(ctx context.Context) *loadtest.HeapReading {
	if h.o.pprof == "" {
		return nil
	}
	get := func(path string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(h.o.pprof, "/")+path, nil)
		if err != nil {
			return "", err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: HTTP %d", path, res.StatusCode)
		}
		raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		return string(raw), err
	}
	text, err := get("/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return nil
	}
	r, err := loadtest.ParseHeapProfile(text)
	if err != nil {
		return nil
	}
	if text, err = get("/debug/pprof/goroutine?debug=1"); err == nil {
		r.Goroutines, _ = loadtest.ParseGoroutineCount(text)
	}
	return &r
}

func cloneCounts(m map[string]int) map[string]int { return maps.Clone(m) }

// writeJSON writes v as the JSON summary: to stdout, or into path.
func writeJSON(cmd *cobra.Command, path string, r loadtest.HoldReport) error {
	if path == "" {
		return r.WriteJSON(cmd.OutOrStdout())
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "summary written to", path)
	return nil
}
