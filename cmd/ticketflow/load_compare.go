package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ticketflow/ticketflow/internal/loadtest"
)

// The bare baselines of --compare, besides the bare Temporal workflow
// (streamBare, step stepWorkflow): a plain INSERT of a ticket-shaped row and
// a plain SELECT of one by primary key (see loadtest.SQLBaseline).
const (
	streamInsert = "insert"
	streamSelect = "select"
	stepInsert   = "insert"
	stepSelect   = "select"
)

// baselineOptions say which bare baselines a scenario's --compare runs.
type baselineOptions struct {
	// bare runs the Temporal workflow with two no-op activities.
	bare      bool
	bareEager bool
	// readRows, when positive, runs the select baseline over that many
	// rows written before the clock starts.
	readRows int
}

// baselines are the bare baselines of one run: the Temporal one's client
// and worker, and the scratch schema of the PostgreSQL ones.
type baselines struct {
	o         baselineOptions
	app       *App
	temporal  client.Client
	worker    worker.Worker
	bareQueue string
	sql       *loadtest.SQLBaseline
}

// startBaselines prepares the baselines o asks for, plus the insert
// baseline that every --compare runs, and adds notes on them to report.
// DATABASE_URL and TEMPORAL_ADDRESS come from the environment, as for
// `load setup` and `load seed`.
func startBaselines(ctx context.Context, report *loadtest.Report, o baselineOptions) (_ *baselines, err error) {
	app, err := loadApp()
	if err != nil {
		return nil, err
	}
	b := &baselines{o: o, app: app}
	defer func() {
		if err != nil {
			b.close(ctx)
		}
	}()
	tag, err := randomTag()
	if err != nil {
		return nil, err
	}
	if o.bare {
		if b.temporal, err = app.Temporal(ctx); err != nil {
			return nil, err
		}
		b.bareQueue = "load-bare-" + tag
		b.worker = loadtest.NewBaselineWorker(b.temporal, b.bareQueue)
		if err := b.worker.Start(); err != nil {
			b.worker = nil
			return nil, fmt.Errorf("start the baseline worker: %w", err)
		}
		report.Notes = append(report.Notes, fmt.Sprintf(
			"bare: a workflow with two no-op activities on task queue %s of %s, worker in the load process, default worker options, eager start %v",
			b.bareQueue, app.Config.TemporalAddress, o.bareEager))
	}
	if b.sql, err = loadtest.NewSQLBaseline(ctx, app.Config.DatabaseURL, "load_baseline_"+tag, o.readRows); err != nil {
		return nil, err
	}
	report.Notes = append(report.Notes, fmt.Sprintf(
		"insert: one plain INSERT (autocommit) of a ticket-shaped row (uuid, title, description, created_at, updated_at) into %s.%s of DATABASE_URL, primary key only, pool of %d",
		b.sql.Schema, "baseline_tickets", loadtest.SQLBaselineConns))
	if o.readRows > 0 {
		report.Notes = append(report.Notes, fmt.Sprintf(
			"select: one plain SELECT of such a row by primary key among %d rows written before the clock started, same pool", o.readRows))
	}
	return b, nil
}

// close stops the worker, drops the scratch schema and closes the clients.
func (b *baselines) close(ctx context.Context) {
	if b.worker != nil {
		b.worker.Stop()
	}
	if b.sql != nil {
		if err := b.sql.Close(ctx); err != nil {
			b.app.Log.Warn("baseline clean-up", "error", err)
		}
	}
	b.app.Close()
}

// runs returns the baseline streams, each at its rate (a zero rate leaves
// that baseline out).
func (b *baselines) runs(bareRate, insertRate, selectRate float64) []streamRun {
	var runs []streamRun
	if b.o.bare && bareRate > 0 {
		runs = append(runs, streamRun{stream: loadtest.NewStream(streamBare, stepWorkflow), rate: bareRate, op: b.runBare})
	}
	if insertRate > 0 {
		runs = append(runs, streamRun{stream: loadtest.NewStream(streamInsert, stepInsert), rate: insertRate, op: b.insert})
	}
	if b.o.readRows > 0 && selectRate > 0 {
		runs = append(runs, streamRun{stream: loadtest.NewStream(streamSelect, stepSelect), rate: selectRate, op: b.selectRow})
	}
	return runs
}

// runBare runs one bare baseline workflow.
func (b *baselines) runBare(ctx context.Context, stream *loadtest.Stream) error {
	start := time.Now()
	if err := loadtest.RunBaseline(ctx, b.temporal, b.bareQueue, "load-bare-"+uuid.NewString(), b.o.bareEager); err != nil {
		return err
	}
	stream.Step(stepWorkflow).Record(time.Since(start))
	return nil
}

// insert writes one ticket-shaped row, with text like an opened ticket's.
func (b *baselines) insert(ctx context.Context, stream *loadtest.Stream) error {
	title, description := fmt.Sprintf("Load: %s %s", pickWord(), pickWord()), ticketText(12)
	start := time.Now()
	if err := b.sql.Insert(ctx, title, description); err != nil {
		return err
	}
	stream.Step(stepInsert).Record(time.Since(start))
	return nil
}

// selectRow reads one row by primary key.
func (b *baselines) selectRow(ctx context.Context, stream *loadtest.Stream) error {
	start := time.Now()
	if err := b.sql.Select(ctx); err != nil {
		return err
	}
	stream.Step(stepSelect).Record(time.Since(start))
	return nil
}

// seedReadRows is how many rows the select baseline reads among: as many as
// the seeded tickets the pages read, within 1,000 and 100,000.
func seedReadRows(seeded int) int {
	return min(max(seeded, 1000), 100_000)
}

// streamRun is one open-loop stream of a run: its operation at its rate.
type streamRun struct {
	stream *loadtest.Stream
	rate   float64
	op     func(context.Context, *loadtest.Stream) error
}

// runInterleaved runs the streams side by side for d, open-loop, each at
// its rate, stream k of n delayed by k/n of its own interval so that their
// arrivals interleave; timeout, when positive, bounds each operation. It
// returns once every operation has finished.
func runInterleaved(ctx context.Context, runs []streamRun, d time.Duration, maxInFlight int, timeout time.Duration) {
	var wg sync.WaitGroup
	for k, r := range runs {
		interval := time.Duration(float64(time.Second) / r.rate)
		loop := loadtest.OpenLoop{Rate: r.rate, Duration: d, MaxInFlight: maxInFlight,
			Offset: interval * time.Duration(k) / time.Duration(len(runs))}
		wg.Go(func() {
			loop.Run(ctx, r.stream, func(ctx context.Context) error {
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				return r.op(ctx, r.stream)
			})
		})
	}
	wg.Wait()
}

// streamsOf returns the runs' streams, for the progress line.
func streamsOf(runs []streamRun) []*loadtest.Stream {
	var s []*loadtest.Stream
	for _, r := range runs {
		s = append(s, r.stream)
	}
	return s
}

// results returns the runs' results, in order.
func results(runs []streamRun) []loadtest.StreamResult {
	var rs []loadtest.StreamResult
	for _, r := range runs {
		rs = append(rs, r.stream.Result(r.rate))
	}
	return rs
}

// pairAll pairs each of steps of stream with baseline's step.
func pairAll(stream string, steps []string, baseline, baselineStep string) []loadtest.Pairing {
	var ps []loadtest.Pairing
	for _, s := range steps {
		ps = append(ps, loadtest.Pairing{Stream: stream, Step: s, Baseline: baseline, BaselineStep: baselineStep})
	}
	return ps
}
