package loadtest

import (
	"context"
	"errors"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the time an OpenLoop schedules by; tests give it a fake one.
type Clock interface {
	Now() time.Time
	// SleepUntil returns at t, or earlier with ctx's error when ctx ends.
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns the current time.
func (RealClock) Now() time.Time { return time.Now() }

// SleepUntil waits until t or until ctx ends.
func (RealClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OpenLoop starts operations at a fixed rate whatever their answers: arrival
// i is due at Offset + i/Rate seconds after the start, and runs in a
// goroutine of its own. A slow system therefore shows up as latency and as
// operations in flight, never as a lower offered rate (no coordinated
// omission). An arrival due while MaxInFlight operations are running is
// dropped and counted as an error.
type OpenLoop struct {
	// Rate is the arrivals per second.
	Rate float64
	// Duration is the window in which arrivals are due.
	Duration time.Duration
	// Offset delays every arrival, so that two loops at the same rate can
	// interleave (give the second half an interval).
	Offset time.Duration
	// MaxInFlight caps the operations running at once; 0 means 10,000.
	MaxInFlight int
	// Clock defaults to the wall clock.
	Clock Clock
}

// Arrivals returns how many arrivals the loop schedules: those due before
// Duration ends.
func (o OpenLoop) Arrivals() int {
	if o.Rate <= 0 || o.Offset >= o.Duration {
		return 0
	}
	n := int(math.Ceil((o.Duration - o.Offset).Seconds() * o.Rate))
	// Guard against rounding: arrival n-1 must be due before the end.
	for n > 0 && o.due(n-1) >= o.Duration {
		n--
	}
	return n
}

// due returns when arrival i is due, after the start.
func (o OpenLoop) due(i int) time.Duration {
	return o.Offset + time.Duration(float64(i)*float64(time.Second)/o.Rate)
}

// Run schedules the arrivals, calling op for each in its own goroutine, and
// returns once every operation has finished. It counts into s: each
// arrival as sent, then as done or failed (ErrDropped when over the cap).
// An op's error becomes a failure of the kind KindOf gives. When ctx ends,
// no further arrival is scheduled; ctx is passed to the operations.
func (o OpenLoop) Run(ctx context.Context, s *Stream, op func(ctx context.Context) error) {
	clock := o.Clock
	if clock == nil {
		clock = RealClock{}
	}
	limit := int64(o.MaxInFlight)
	if limit <= 0 {
		limit = 10_000
	}
	start := clock.Now()
	s.begin(start, start.Add(o.Duration))
	var wg sync.WaitGroup
	for i := range o.Arrivals() {
		if clock.SleepUntil(ctx, start.Add(o.due(i))) != nil {
			break
		}
		s.sent.Add(1)
		if s.inFlight.Load() >= limit {
			s.Fail(ErrDropped)
			continue
		}
		s.inFlight.Add(1)
		wg.Go(func() {
			err := op(ctx)
			s.inFlight.Add(-1)
			if err != nil {
				s.Fail(err)
				return
			}
			s.completed(clock.Now())
		})
	}
	wg.Wait()
	s.finish(clock.Now())
}

// ErrDropped is the failure of an arrival that found MaxInFlight
// operations running.
var ErrDropped = Failure("dropped: in-flight cap reached")

// Failure is an error whose text is its kind: failures are counted per
// kind, so a kind must not carry IDs or times.
type Failure string

func (f Failure) Error() string { return string(f) }

// Kind returns f itself.
func (f Failure) Kind() string { return string(f) }

// Failed returns err counted as a failure of kind; its message keeps err's.
func Failed(kind string, err error) error { return &kindError{kind: kind, err: err} }

type kindError struct {
	kind string
	err  error
}

func (e *kindError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *kindError) Kind() string  { return e.kind }
func (e *kindError) Unwrap() error { return e.err }

// KindOf returns the kind an error is counted under: the Kind of the first
// error in its chain that has one (a Failure, or one made by Failed),
// "timeout" for a deadline, "error" otherwise.
func KindOf(err error) string {
	var k interface{ Kind() string }
	if errors.As(err, &k) {
		return k.Kind()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "error"
}

// Stream is what one kind of operation did in one step of a run: the
// counters the progress line shows, the failures by kind, and a latency
// histogram per step of the operation (for opening a ticket: "create",
// "assigned"). Safe for concurrent use.
type Stream struct {
	Name string

	sent, done, failed, inFlight atomic.Int64

	mu        sync.Mutex
	steps     map[string]*Histogram
	order     []string
	failures  map[string]int
	examples  map[string]string
	start     time.Time
	windowEnd time.Time
	end       time.Time
	// firstDone and lastDone bound the successful completions.
	firstDone, lastDone time.Time
}

// NewStream returns a stream whose operations time the given steps.
func NewStream(name string, steps ...string) *Stream {
	s := &Stream{Name: name, steps: map[string]*Histogram{}, failures: map[string]int{}, examples: map[string]string{}}
	for _, step := range steps {
		s.Step(step)
	}
	return s
}

// Step returns the histogram of a step, adding it on first use.
func (s *Stream) Step(name string) *Histogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.steps[name]
	if !ok {
		h = &Histogram{}
		s.steps[name] = h
		s.order = append(s.order, name)
	}
	return h
}

// Fail counts one failed operation under KindOf(err), keeping the first
// full message of each kind as an example.
func (s *Stream) Fail(err error) {
	kind := KindOf(err)
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[kind]++
	if _, ok := s.examples[kind]; !ok && err.Error() != kind {
		s.examples[kind] = err.Error()
	}
}

// completed counts one successful operation, finished at t.
func (s *Stream) completed(t time.Time) {
	s.done.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstDone.IsZero() || t.Before(s.firstDone) {
		s.firstDone = t
	}
	if t.After(s.lastDone) {
		s.lastDone = t
	}
}

func (s *Stream) begin(start, windowEnd time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start, s.windowEnd = start, windowEnd
}

func (s *Stream) finish(end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.end = end
}

// Counts is a snapshot of a stream's counters, as the progress line shows it.
type Counts struct {
	Sent, Done, Failed, InFlight int64
}

// Counts returns the stream's counters now.
func (s *Stream) Counts() Counts {
	return Counts{Sent: s.sent.Load(), Done: s.done.Load(), Failed: s.failed.Load(), InFlight: s.inFlight.Load()}
}

// Result returns the stream's figures for the report; call it after Run.
//
// Throughput is the rate at which operations completed: successful
// completions over the time between the first and the last of them. A
// system that keeps up completes at the arrival rate, shifted by its
// latency; one that falls behind spreads the completions over a longer
// time as its backlog grows, however long the backlog takes to drain. (A
// count of completions within the arrival window would instead punish
// latency itself: the last arrivals always finish after the window.)
func (s *Stream) Result(rate float64) StreamResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	window := s.windowEnd.Sub(s.start)
	r := StreamResult{
		Stream:       s.Name,
		TargetRate:   rate,
		WindowS:      round3(window.Seconds()),
		DrainS:       round3(max(0, s.end.Sub(s.windowEnd).Seconds())),
		Sent:         s.sent.Load(),
		Completed:    s.done.Load(),
		Errors:       s.failed.Load(),
		Dropped:      int64(s.failures[string(ErrDropped)]),
		ErrorKinds:   maps.Clone(s.failures),
		ErrorSamples: maps.Clone(s.examples),
		Latency:      map[string]Summary{},
		Steps:        append([]string(nil), s.order...),
	}
	switch span := s.lastDone.Sub(s.firstDone); {
	case r.Completed > 1 && span > 0:
		r.Throughput = round3(float64(r.Completed-1) / span.Seconds())
	case window > 0:
		r.Throughput = round3(float64(r.Completed) / window.Seconds())
	}
	if rate > 0 {
		r.KeepUp = round3(r.Throughput / rate)
	}
	for name, h := range s.steps {
		r.Latency[name] = h.Summary()
	}
	return r
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
