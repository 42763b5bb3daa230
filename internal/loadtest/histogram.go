// Package loadtest is the measuring kit of `ticketflow load`: an open-loop
// arrival scheduler, latency histograms, a progress line, process resource
// sampling from /proc, the JSON report with its sustainability verdicts, and
// the bare Temporal workflow that Ticketflow's pipeline is judged against.
// It is plumbing: it knows nothing of tickets.
package loadtest

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Histogram collects the latencies of one step. It keeps every sample, so
// its percentiles are exact: a run of minutes at hundreds of operations a
// second holds a few hundred thousand durations at most. Safe for
// concurrent use.
type Histogram struct {
	mu      sync.Mutex
	samples []time.Duration
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	h.mu.Lock()
	h.samples = append(h.samples, d)
	h.mu.Unlock()
}

// Summary returns the count and percentiles of the latencies recorded so far.
func (h *Histogram) Summary() Summary {
	h.mu.Lock()
	sorted := slices.Clone(h.samples)
	h.mu.Unlock()
	return Summarize(sorted)
}

// Summary is the distribution of one step's latencies, in milliseconds.
type Summary struct {
	Count  int     `json:"count"`
	MinMS  float64 `json:"min_ms"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// Summarize returns the summary of samples, which it sorts in place.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	return Summary{
		Count:  len(samples),
		MinMS:  ms(samples[0]),
		MeanMS: ms(sum / time.Duration(len(samples))),
		P50MS:  ms(Percentile(samples, 50)),
		P90MS:  ms(Percentile(samples, 90)),
		P99MS:  ms(Percentile(samples, 99)),
		MaxMS:  ms(samples[len(samples)-1]),
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted samples by
// the nearest-rank method: the smallest sample that at least p percent of
// the samples do not exceed. It is always one of the samples, never an
// interpolation; 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms converts d to milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
