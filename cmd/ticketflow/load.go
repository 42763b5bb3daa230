package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ticketflow/ticketflow/internal/loadtest"
)

func newLoadCommand() *cobra.Command {
	var statePath string
	load := &cobra.Command{
		Use:   "load",
		Short: "Measure a running Ticketflow: set up a desk, seed tickets, open, browse and reply at a target rate",
		Long: `load measures a running Ticketflow from the outside, the way its users load it.

  setup   prepare a desk (admin, agents in a team, a category, employees) and
          write the state file the other commands read
  seed    bulk-load historical tickets straight into the helpdesk schema
  open    open tickets at a rate, each until its assignee is visible; with
          --compare beside a bare Temporal workflow and a plain insert;
          --find-max steps the rate up
  browse  list, search and detail pages as agents, at a rate
  reply   agents' comments at a rate, timed to the requesters' WebSockets
  mixed   a day's help-desk traffic (browsing, opening, replies, transitions)
          in proportions, at a total rate
  hold    open many tickets fast (rows by COPY, workflows started with the
          SDK) and measure what holding them costs at checkpoints

The scenarios are open-loop: arrivals keep their schedule whatever the answers,
so a slow system shows as latency, not as a lower rate. With --compare, open,
browse, reply and mixed run bare baselines beside, interleaved (a Temporal
workflow with two no-op activities; a plain PostgreSQL insert, and for reads a
plain select by primary key) and report each step's p50, p99 and throughput
as ratios to them, which hold better on a noisy machine than the figures
alone. Each prints a progress line on stderr every second, a table at the end,
and a JSON summary on stdout (or --out). setup and seed use the server's configuration (DATABASE_URL, ...),
so run them with the same environment as the server.`,
	}
	load.PersistentFlags().StringVar(&statePath, "state", "load-state.json", "load state file written by setup")
	load.AddCommand(
		newLoadSetupCommand(&statePath),
		newLoadSeedCommand(&statePath),
		newLoadOpenCommand(&statePath),
		newLoadBrowseCommand(&statePath),
		newLoadReplyCommand(&statePath),
		newLoadHoldCommand(&statePath),
		newLoadMixedCommand(&statePath),
	)
	return load
}

// measureFlags are the options every scenario shares: where the report
// goes and which processes' resources it reports.
type measureFlags struct {
	out        string
	pids       []int
	procs      []string
	noProgress bool
}

func (m *measureFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&m.out, "out", "", "write the JSON summary to this file instead of stdout")
	cmd.Flags().IntSliceVar(&m.pids, "pids", nil, "processes whose CPU and memory to report (default: found by --procs)")
	cmd.Flags().StringSliceVar(&m.procs, "procs", []string{"ticketflow", "temporal"}, "command names of the processes to report when --pids is not given")
	cmd.Flags().BoolVar(&m.noProgress, "quiet", false, "no progress line")
}

// measurement samples the measured processes while a scenario runs.
type measurement struct {
	flags   measureFlags
	started time.Time
	sampler *loadtest.ProcSampler
	stop    context.CancelFunc
	done    chan struct{}
}

// start begins sampling the processes, every second.
func (m measureFlags) start(ctx context.Context) (*measurement, error) {
	pids := m.pids
	if len(pids) == 0 {
		var err error
		if pids, err = loadtest.FindPIDs(m.procs); err != nil {
			return nil, fmt.Errorf("find processes: %w", err)
		}
	}
	ctx, stop := context.WithCancel(ctx)
	ms := &measurement{flags: m, started: time.Now(), sampler: loadtest.NewProcSampler(pids), stop: stop, done: make(chan struct{})}
	// The load process's own share: it runs the bare baseline's worker.
	ms.sampler.Label(os.Getpid(), "load (this process)")
	go func() {
		defer close(ms.done)
		ms.sampler.Run(ctx, time.Second)
	}()
	return ms, nil
}

// progress shows the streams' counters on stderr until the returned
// function is called.
func (ms *measurement) progress(ctx context.Context, cmd *cobra.Command, label string, total time.Duration, streams ...*loadtest.Stream) func() {
	if ms.flags.noProgress {
		return func() {}
	}
	w := cmd.ErrOrStderr()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		loadtest.Progress(ctx, w, isTerminal(w), label, total, streams...)
	}()
	return func() {
		cancel()
		<-done
	}
}

// finish stops sampling, adds the resource figures to r and writes it: the
// tables on stderr, the JSON on stdout or into --out.
func (ms *measurement) finish(cmd *cobra.Command, r *loadtest.Report) error {
	ms.stop()
	<-ms.done
	r.Resources = ms.sampler.Usage()
	r.Machine.LoadAvgEnd = loadtest.LoadAverage()
	if err := r.WriteText(cmd.ErrOrStderr()); err != nil {
		return err
	}
	if ms.flags.out == "" {
		return r.WriteJSON(cmd.OutOrStdout())
	}
	f, err := os.Create(ms.flags.out)
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
	fmt.Fprintln(cmd.ErrOrStderr(), "summary written to", ms.flags.out)
	return nil
}

// newReport starts the report of a scenario run by cmd, recording the
// command line with the flags that were set.
func newReport(cmd *cobra.Command, scenario string) *loadtest.Report {
	line := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		line = append(line, "--"+f.Name+"="+f.Value.String())
	})
	return &loadtest.Report{
		Scenario:  scenario,
		Command:   strings.Join(line, " "),
		StartedAt: time.Now().UTC(),
		Machine:   loadtest.ThisMachine(),
	}
}

// isTerminal reports whether w is a terminal, where a progress line may
// rewrite itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
