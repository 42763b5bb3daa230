package loadtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Checkpoints returns the points of a hold run at which to measure: the
// positive counts of spec in increasing order, each once, up to total, and
// total itself as the last one, so that a run always ends measured.
func Checkpoints(spec []int, total int) ([]int, error) {
	if total < 1 {
		return nil, errors.New("the total must be positive")
	}
	var out []int
	for _, n := range spec {
		if n < 1 {
			return nil, fmt.Errorf("checkpoint %d: must be positive", n)
		}
		if n < total {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return append(out, total), nil
}

// Pace spaces n starts at Rate per second: start i is due i/Rate seconds
// after the pace's origin, whatever the earlier starts are doing, so a
// slow server shows as starts in flight rather than as a lower rate (up
// to the concurrency bound the caller keeps).
type Pace struct {
	Rate float64
}

// Due returns when start i is due, after the origin.
func (p Pace) Due(i int) time.Duration {
	if p.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(i) * float64(time.Second) / p.Rate)
}

// ProcSnapshot is one reading of some processes, taken at one time.
type ProcSnapshot struct {
	At    time.Time
	Procs map[int]ProcSample
}

// SnapshotProcs reads each of pids; a process that cannot be read (gone)
// is left out.
func SnapshotProcs(pids []int) ProcSnapshot {
	s := ProcSnapshot{At: time.Now(), Procs: map[int]ProcSample{}}
	for _, pid := range pids {
		if r, err := ReadProc(pid); err == nil {
			s.Procs[pid] = r
		}
	}
	return s
}

// ProcWindow is what one process used between two snapshots.
type ProcWindow struct {
	PID    int     `json:"pid"`
	Name   string  `json:"name"`
	RSSMiB float64 `json:"rss_mib"`
	// CPUPercent is user + system time over the window's wall time, in
	// percent of one core.
	CPUPercent float64 `json:"cpu_percent"`
}

// Between returns, per process present in both snapshots, its RSS at the
// later one and its CPU share between them, in PID order.
func Between(from, to ProcSnapshot) []ProcWindow {
	wall := to.At.Sub(from.At).Seconds()
	var out []ProcWindow
	for _, pid := range slices.Sorted(maps.Keys(to.Procs)) {
		a, ok := from.Procs[pid]
		if !ok {
			continue
		}
		b := to.Procs[pid]
		w := ProcWindow{PID: pid, Name: b.Name, RSSMiB: round3(float64(b.RSSKiB) / 1024)}
		if wall > 0 {
			w.CPUPercent = round3(100 * (b.CPU - a.CPU).Seconds() / wall)
		}
		out = append(out, w)
	}
	return out
}

// HoldCheckpoint is what a hold run measured when Target tickets had been
// opened and their workflows started.
type HoldCheckpoint struct {
	Target int `json:"target"`
	// Started counts workflow starts the server accepted so far, Errors the
	// starts (or row inserts) that failed, by kind in ErrorKinds.
	Started    int64          `json:"started"`
	Errors     int64          `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	// ElapsedS is the time since the run began, pauses at earlier
	// checkpoints included.
	ElapsedS float64 `json:"elapsed_s"`
	// StartRate is the segment's accepted starts per second, from its first
	// start due to its last answered; StartLatency is ExecuteWorkflow's
	// round trip in the segment.
	StartRate    float64 `json:"start_rate_per_s"`
	StartLatency Summary `json:"start_latency"`
	// Assigned counts the run's tickets whose assignee the helpdesk shows,
	// SettleS how long after the segment's last start that reached
	// Started (or the settle timeout ran out).
	Assigned int64   `json:"assigned"`
	SettleS  float64 `json:"settle_s"`
	// OpenRuns and ClosedRuns are the task queue's workflow runs by
	// visibility: running, and anything else (failed, terminated, ...).
	OpenRuns   int64 `json:"open_runs"`
	ClosedRuns int64 `json:"closed_runs"`
	// Probe is real tickets opened through the API at the checkpoint:
	// "create" and "assigned" as in the open scenario.
	Probe       map[string]Summary `json:"probe"`
	ProbeErrors int                `json:"probe_errors"`
	// Starting is the processes' CPU over the segment's starts and their
	// RSS at its end; Holding the same over the settle and probe window
	// (RSS after it).
	Starting []ProcWindow `json:"starting"`
	Holding  []ProcWindow `json:"holding"`
	// Heap is the worker's Go heap after a forced GC, read from its pprof
	// endpoint (--pprof), when given.
	Heap    *HeapReading `json:"heap,omitempty"`
	LoadAvg float64      `json:"load_avg"`
}

// HeapReading is a Go process's live heap and goroutines, as its
// net/http/pprof endpoint reports them.
type HeapReading struct {
	HeapInuseMiB float64 `json:"heap_inuse_mib"`
	HeapAllocMiB float64 `json:"heap_alloc_mib"`
	Goroutines   int     `json:"goroutines"`
}

// ParseHeapProfile reads HeapInuse and HeapAlloc from the text heap
// profile (/debug/pprof/heap?debug=1), whose trailer lists runtime.MemStats
// as "# Name = value" lines.
func ParseHeapProfile(text string) (HeapReading, error) {
	var h HeapReading
	found := 0
	for line := range strings.Lines(text) {
		name, val, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), " = ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "HeapInuse":
			h.HeapInuseMiB, found = round3(float64(n)/(1<<20)), found+1
		case "HeapAlloc":
			h.HeapAllocMiB, found = round3(float64(n)/(1<<20)), found+1
		}
	}
	if found < 2 {
		return h, errors.New("no HeapInuse and HeapAlloc in the heap profile")
	}
	return h, nil
}

// ParseGoroutineCount reads the total from the first line of
// /debug/pprof/goroutine?debug=1: "goroutine profile: total N".
func ParseGoroutineCount(text string) (int, error) {
	first, _, _ := strings.Cut(text, "\n")
	_, n, ok := strings.Cut(first, "total ")
	if !ok {
		return 0, fmt.Errorf("not a goroutine profile: %q", first)
	}
	return strconv.Atoi(strings.TrimSpace(n))
}

// HoldReport is the JSON summary of `ticketflow load hold`.
type HoldReport struct {
	Scenario  string    `json:"scenario"`
	Command   string    `json:"command"`
	StartedAt time.Time `json:"started_at"`
	Machine   Machine   `json:"machine"`
	// Baseline is the processes' RSS before the first start.
	Baseline     []ProcWindow     `json:"baseline"`
	BaselineHeap *HeapReading     `json:"baseline_heap,omitempty"`
	Checkpoints  []HoldCheckpoint `json:"checkpoints"`
	// Stopped says why the run ended before its total, if it did.
	Stopped string   `json:"stopped,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// RSSGrowthPerRunKiB returns, for process pid, the growth of its RSS from
// the baseline to checkpoint i's holding reading, per open run, in KiB; ok
// is false when either reading or the runs are missing.
func (r HoldReport) RSSGrowthPerRunKiB(pid, i int) (float64, bool) {
	if i < 0 || i >= len(r.Checkpoints) {
		return 0, false
	}
	cp := r.Checkpoints[i]
	base, ok1 := findProc(r.Baseline, pid)
	now, ok2 := findProc(cp.Holding, pid)
	if !ok1 || !ok2 || cp.OpenRuns <= 0 {
		return 0, false
	}
	return round3((now.RSSMiB - base.RSSMiB) * 1024 / float64(cp.OpenRuns)), true
}

func findProc(ws []ProcWindow, pid int) (ProcWindow, bool) {
	for _, w := range ws {
		if w.PID == pid {
			return w, true
		}
	}
	return ProcWindow{}, false
}

// WriteJSON writes r as indented JSON.
func (r HoldReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the curve as a table: a line per checkpoint, then per
// process its RSS and CPU at each.
func (r HoldReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\tstarted\terrors\topen runs\tclosed\tassigned\telapsed s\tstart/s\tstart p50\tp99\tsettle s\tprobe p50\tp90\tmax\tprobe err\tload\t\n")
	for _, cp := range r.Checkpoints {
		a := cp.Probe["assigned"]
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%.2f\t\n",
			cp.Target, cp.Started, cp.Errors, cp.OpenRuns, cp.ClosedRuns, cp.Assigned, cp.ElapsedS, cp.StartRate,
			cp.StartLatency.P50MS, cp.StartLatency.P99MS, cp.SettleS, a.P50MS, a.P90MS, a.MaxMS, cp.ProbeErrors, cp.LoadAvg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, b := range r.Baseline {
		fmt.Fprintf(w, "process %s (pid %d): baseline %.0f MiB;", b.Name, b.PID, b.RSSMiB)
		for i, cp := range r.Checkpoints {
			h, _ := findProc(cp.Holding, b.PID)
			s, _ := findProc(cp.Starting, b.PID)
			per, _ := r.RSSGrowthPerRunKiB(b.PID, i)
			fmt.Fprintf(w, " %d: %.0f MiB (%.1f KiB/run), cpu %.0f%% starting / %.0f%% holding;", cp.Target, h.RSSMiB, per, s.CPUPercent, h.CPUPercent)
		}
		fmt.Fprintln(w)
	}
	if r.BaselineHeap != nil {
		fmt.Fprintf(w, "worker heap (after GC): baseline %.1f MiB, %d goroutines;", r.BaselineHeap.HeapInuseMiB, r.BaselineHeap.Goroutines)
		for _, cp := range r.Checkpoints {
			if cp.Heap != nil && cp.OpenRuns > 0 {
				fmt.Fprintf(w, " %d: %.1f MiB (%.1f KiB/run), %d goroutines;", cp.Target, cp.Heap.HeapInuseMiB,
					(cp.Heap.HeapInuseMiB-r.BaselineHeap.HeapInuseMiB)*1024/float64(cp.OpenRuns), cp.Heap.Goroutines)
			}
		}
		fmt.Fprintln(w)
	}
	for _, cp := range r.Checkpoints {
		for _, k := range slices.Sorted(maps.Keys(cp.ErrorKinds)) {
			fmt.Fprintf(w, "  at %d: %d × %s\n", cp.Target, cp.ErrorKinds[k], k)
		}
	}
	if r.Stopped != "" {
		fmt.Fprintln(w, "stopped:", r.Stopped)
	}
	fmt.Fprintf(w, "machine: %d CPUs, load average %.2f at the start, %.2f at the end\n", r.Machine.CPUs, r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd)
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}
