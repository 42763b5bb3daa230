package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the machine-readable summary of one `ticketflow load` run.
type Report struct {
	Scenario  string    `json:"scenario"`
	Command   string    `json:"command"`
	StartedAt time.Time `json:"started_at"`
	Machine   Machine   `json:"machine"`
	// Steps are the measured windows: one per rate, each with a result per
	// stream ("pipeline", "bare", or the browse scenario's "browse").
	Steps []Step `json:"steps"`
	// FindMax is set when the run stepped the rate up to find the highest
	// sustainable one.
	FindMax *FindMax `json:"find_max,omitempty"`
	// Resources are the CPU and memory of the measured processes over the
	// whole run.
	Resources []ProcUsage `json:"resources,omitempty"`
	// Notes say what a reader of the figures must know (store, settings).
	Notes []string `json:"notes,omitempty"`
}

// Machine describes where the run took place.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	// LoadAvgStart and LoadAvgEnd are the 1-minute load averages when the
	// run started and ended: above the CPU count, something else competed
	// for the cores (-1: unknown).
	LoadAvgStart float64 `json:"load_avg_start"`
	LoadAvgEnd   float64 `json:"load_avg_end"`
}

// ThisMachine returns the machine the process runs on, with the load
// average now as LoadAvgStart.
func ThisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, LoadAvgStart: LoadAverage(), LoadAvgEnd: -1}
}

// LoadAverage returns the 1-minute load average, or -1 when unknown.
func LoadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// Step is one measured window at one target rate.
type Step struct {
	Rate    float64        `json:"rate"`
	Streams []StreamResult `json:"streams"`
	// Comparison is set when the step ran the pipeline beside the bare
	// baseline.
	Comparison *Comparison `json:"comparison,omitempty"`
	// Ratios relate the steps of the measured streams to the bare
	// baselines run beside them (--compare), one per step and baseline.
	Ratios []Ratio `json:"ratios,omitempty"`
}

// Stream returns the result of the named stream, or nil.
func (s Step) Stream(name string) *StreamResult {
	for i := range s.Streams {
		if s.Streams[i].Stream == name {
			return &s.Streams[i]
		}
	}
	return nil
}

// StreamResult is what one stream did in one step.
type StreamResult struct {
	Stream     string  `json:"stream"`
	TargetRate float64 `json:"target_rate"`
	WindowS    float64 `json:"window_s"`
	// DrainS is how long the operations still running at the window's end
	// took to finish.
	DrainS    float64 `json:"drain_s"`
	Sent      int64   `json:"sent"`
	Completed int64   `json:"completed"`
	Errors    int64   `json:"errors"`
	Dropped   int64   `json:"dropped"`
	// Throughput is the rate of successful completions, measured between
	// the first and the last (see Stream.Result).
	Throughput float64 `json:"throughput_per_s"`
	// KeepUp is Throughput / TargetRate.
	KeepUp       float64            `json:"keep_up"`
	ErrorKinds   map[string]int     `json:"error_kinds,omitempty"`
	ErrorSamples map[string]string  `json:"error_samples,omitempty"`
	Latency      map[string]Summary `json:"latency"`
	// Steps orders the keys of Latency as the operation takes them.
	Steps []string `json:"steps"`
	// Sustainable and Verdict are set by a find-max run.
	Sustainable *bool  `json:"sustainable,omitempty"`
	Verdict     string `json:"verdict,omitempty"`
}

// Comparison relates the pipeline to the bare baseline measured in the
// same step.
type Comparison struct {
	// RateRatio is the pipeline's throughput over the baseline's.
	RateRatio float64 `json:"rate_ratio"`
	// P50OverheadMS and P99OverheadMS are the pipeline's end-to-end
	// latency minus the baseline's, at those percentiles.
	P50OverheadMS float64 `json:"p50_overhead_ms"`
	P99OverheadMS float64 `json:"p99_overhead_ms"`
}

// Compare relates stream p (latency step pStep) to baseline b (step bStep).
func Compare(p, b StreamResult, pStep, bStep string) Comparison {
	var c Comparison
	if b.Throughput > 0 {
		c.RateRatio = round3(p.Throughput / b.Throughput)
	}
	pl, bl := p.Latency[pStep], b.Latency[bStep]
	c.P50OverheadMS = round3(pl.P50MS - bl.P50MS)
	c.P99OverheadMS = round3(pl.P99MS - bl.P99MS)
	return c
}

// Ratio relates one latency step of a measured stream to one of a bare
// baseline stream run in the same window: on a noisy machine both move
// together, so the ratio holds better than either figure.
type Ratio struct {
	Stream       string `json:"stream"`
	Step         string `json:"step"`
	Baseline     string `json:"baseline"`
	BaselineStep string `json:"baseline_step"`
	// P50 and P99 are the step's percentiles over the baseline step's.
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	// Throughput is the stream's keep-up over the baseline's: its
	// throughput over the baseline's when both had the same target rate,
	// and comparable when they had not (a baseline run at the rate of a
	// share of a mix). The same for every step of a stream.
	Throughput float64 `json:"throughput"`
}

// Pairing names a step of a measured stream and the baseline step it is
// judged against.
type Pairing struct {
	Stream, Step, Baseline, BaselineStep string
}

// RatioOf relates step of s to bStep of b. ok is false when either has no
// latency samples, or the baseline's percentiles are zero.
func RatioOf(s StreamResult, step string, b StreamResult, bStep string) (Ratio, bool) {
	sl, bl := s.Latency[step], b.Latency[bStep]
	if sl.Count == 0 || bl.Count == 0 || bl.P50MS <= 0 || bl.P99MS <= 0 {
		return Ratio{}, false
	}
	r := Ratio{
		Stream: s.Stream, Step: step, Baseline: b.Stream, BaselineStep: bStep,
		P50: round3(sl.P50MS / bl.P50MS),
		P99: round3(sl.P99MS / bl.P99MS),
	}
	if b.KeepUp > 0 {
		r.Throughput = round3(s.KeepUp / b.KeepUp)
	}
	return r, true
}

// AddRatios sets the step's Ratios for the pairings whose streams both ran
// and measured the steps, in the order given.
func (s *Step) AddRatios(pairings ...Pairing) {
	for _, p := range pairings {
		sr, br := s.Stream(p.Stream), s.Stream(p.Baseline)
		if sr == nil || br == nil {
			continue
		}
		if r, ok := RatioOf(*sr, p.Step, *br, p.BaselineStep); ok {
			s.Ratios = append(s.Ratios, r)
		}
	}
}

// FindMax is the outcome of stepping the rate up.
type FindMax struct {
	// P99BoundMS and MinKeepUp are the criteria: a rate is sustainable
	// when the stream's p99 stays under the bound, its throughput is at
	// least MinKeepUp of the arrival rate, and nothing fails.
	P99BoundMS float64 `json:"p99_bound_ms"`
	MinKeepUp  float64 `json:"min_keep_up"`
	// MaxRate is, per stream, the highest rate of the unbroken run of
	// sustainable steps from the lowest; 0 when even the first failed.
	MaxRate map[string]float64 `json:"max_rate"`
	// RateRatio is the pipeline's MaxRate over the baseline's, when both ran.
	RateRatio float64 `json:"rate_ratio,omitempty"`
}

// Criteria decide whether a stream sustained a step.
type Criteria struct {
	P99Bound  time.Duration
	MinKeepUp float64
	// MaxErrorRatio is the share of failed operations tolerated (0: none).
	MaxErrorRatio float64
}

// Judge reports whether r sustained its rate under c, judging the latency
// of step, and why not.
func (c Criteria) Judge(r StreamResult, step string) (bool, string) {
	var why []string
	if r.Sent > 0 && float64(r.Errors)/float64(r.Sent) > c.MaxErrorRatio {
		why = append(why, fmt.Sprintf("%d errors", r.Errors))
	}
	if p99 := r.Latency[step].P99MS; p99 >= ms(c.P99Bound) {
		why = append(why, fmt.Sprintf("p99 %.0f ms ≥ %.0f ms", p99, ms(c.P99Bound)))
	}
	if r.KeepUp < c.MinKeepUp {
		why = append(why, fmt.Sprintf("keep-up %.3f < %.2f", r.KeepUp, c.MinKeepUp))
	}
	if len(why) == 0 {
		return true, "sustained"
	}
	return false, strings.Join(why, ", ")
}

// MaxSustained returns the highest rate of the unbroken run of sustainable
// steps from the first (lowest): a rate that passes only after a lower one
// failed is luck, not capacity. ok tells whether the stream's results were
// judged at all.
func MaxSustained(steps []Step, stream string) (rate float64, ok bool) {
	for _, s := range steps {
		r := s.Stream(stream)
		if r == nil || r.Sustainable == nil {
			continue
		}
		ok = true
		if !*r.Sustainable {
			return rate, true
		}
		rate = max(rate, s.Rate)
	}
	return rate, ok
}

// WriteJSON writes r as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as tables for a person: one line per stream and
// latency step of every step, then the comparison, find-max and resources.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rate/s\tstream\tsent\tok\terrors\tthru/s\tkeep-up\tstep\tcount\tp50 ms\tp90 ms\tp99 ms\tmax ms\t\n")
	for _, s := range r.Steps {
		for _, sr := range s.Streams {
			for i, name := range sr.Steps {
				l := sr.Latency[name]
				if i == 0 {
					fmt.Fprintf(tw, "%g\t%s\t%d\t%d\t%d\t%.2f\t%.3f\t", s.Rate, sr.Stream, sr.Sent, sr.Completed, sr.Errors, sr.Throughput, sr.KeepUp)
				} else {
					fmt.Fprintf(tw, "\t\t\t\t\t\t\t")
				}
				fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", name, l.Count, l.P50MS, l.P90MS, l.P99MS, l.MaxMS)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Steps {
		for _, sr := range s.Streams {
			kinds := slices.Sorted(maps.Keys(sr.ErrorKinds))
			for _, k := range kinds {
				fmt.Fprintf(w, "  %g/s %s: %d × %s", s.Rate, sr.Stream, sr.ErrorKinds[k], k)
				if ex := sr.ErrorSamples[k]; ex != "" {
					fmt.Fprintf(w, " (e.g. %s)", ex)
				}
				fmt.Fprintln(w)
			}
			if sr.Verdict != "" {
				fmt.Fprintf(w, "  %g/s %s: %s\n", s.Rate, sr.Stream, sr.Verdict)
			}
		}
		if c := s.Comparison; c != nil {
			fmt.Fprintf(w, "  %g/s pipeline vs bare: rate ratio %.3f, p50 overhead %+.1f ms, p99 overhead %+.1f ms\n",
				s.Rate, c.RateRatio, c.P50OverheadMS, c.P99OverheadMS)
		}
	}
	if err := writeRatios(w, r.Steps); err != nil {
		return err
	}
	if f := r.FindMax; f != nil {
		fmt.Fprintf(w, "highest sustainable rate (p99 < %.0f ms, keep-up ≥ %.2f, no errors):", f.P99BoundMS, f.MinKeepUp)
		for _, k := range slices.Sorted(maps.Keys(f.MaxRate)) {
			fmt.Fprintf(w, " %s %g/s", k, f.MaxRate[k])
		}
		if f.RateRatio > 0 {
			fmt.Fprintf(w, ", ratio %.3f", f.RateRatio)
		}
		fmt.Fprintln(w)
	}
	for _, p := range r.Resources {
		fmt.Fprintf(w, "process %s (pid %d): cpu %.1f s (%.0f%% of a core), rss peak %.0f MiB during the run, VmHWM %.0f MiB\n",
			p.Name, p.PID, p.CPUSeconds, p.CPUPercent, p.RSSPeakMiB, p.HWMMiB)
	}
	fmt.Fprintf(w, "machine: %d CPUs, load average %.2f at the start, %.2f at the end\n", r.Machine.CPUs, r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd)
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// writeRatios writes the steps' ratios to the bare baselines as a table.
func writeRatios(w io.Writer, steps []Step) error {
	if !slices.ContainsFunc(steps, func(s Step) bool { return len(s.Ratios) > 0 }) {
		return nil
	}
	fmt.Fprintln(w, "ratios to the bare baselines (step over baseline step, run side by side):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rate/s\tstream\tstep\tbaseline\tp50 ×\tp99 ×\tthroughput ×\t\n")
	for _, s := range steps {
		for _, q := range s.Ratios {
			baseline := q.Baseline
			if q.BaselineStep != q.Baseline {
				baseline += " " + q.BaselineStep
			}
			fmt.Fprintf(tw, "%g\t%s\t%s\t%s\t%.2f\t%.2f\t%.3f\t\n", s.Rate, q.Stream, q.Step, baseline, q.P50, q.P99, q.Throughput)
		}
	}
	return tw.Flush()
}
