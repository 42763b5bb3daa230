package loadtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock jumps to whatever time is slept until.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

func TestOpenLoop_SchedulesRateTimesDurationArrivals(t *testing.T) {
	tests := []struct {
		rate     float64
		duration time.Duration
		offset   time.Duration
		want     int
	}{
		{20, 60 * time.Second, 0, 1200},
		{20, 60 * time.Second, 25 * time.Millisecond, 1200}, // interleaved half an interval later
		{5, 60 * time.Second, 0, 300},
		{3, time.Second, 0, 3}, // 1/3 s does not add up to a fourth arrival at 1 s
		{200, 30 * time.Second, 0, 6000},
		{0.5, 3 * time.Second, 0, 2}, // at 0 s and 2 s
		{0, time.Second, 0, 0},
	}
	for _, tt := range tests {
		clock := newFakeClock()
		var dues []time.Duration
		var mu sync.Mutex
		start := clock.Now()
		loop := OpenLoop{Rate: tt.rate, Duration: tt.duration, Offset: tt.offset, Clock: clock}
		s := NewStream("x")
		loop.Run(context.Background(), s, func(context.Context) error {
			mu.Lock()
			dues = append(dues, clock.Now().Sub(start))
			mu.Unlock()
			return nil
		})
		c := s.Counts()
		if c.Sent != int64(tt.want) || c.Done != int64(tt.want) || c.Failed != 0 || loop.Arrivals() != tt.want {
			t.Errorf("rate %g for %s: counts %+v, Arrivals %d, want %d", tt.rate, tt.duration, c, loop.Arrivals(), tt.want)
		}
		for _, d := range dues {
			if d < tt.offset || d >= tt.duration {
				t.Errorf("rate %g: an arrival at %s, outside [%s, %s)", tt.rate, d, tt.offset, tt.duration)
			}
		}
	}
}

func TestOpenLoop_ArrivalsDoNotWaitForAnswers(t *testing.T) {
	// Every operation blocks until all have arrived: only an open loop,
	// which starts each without waiting for the previous, gets there.
	clock := newFakeClock()
	const n = 50
	release := make(chan struct{})
	var arrived atomic.Int64
	s := NewStream("x")
	done := make(chan struct{})
	go func() {
		defer close(done)
		OpenLoop{Rate: 50, Duration: time.Second, Clock: clock}.Run(context.Background(), s, func(context.Context) error {
			if arrived.Add(1) == n {
				close(release)
			}
			<-release
			return nil
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("stuck with %d of %d arrivals", arrived.Load(), n)
	}
	if c := s.Counts(); c.Done != n || c.InFlight != 0 {
		t.Fatalf("counts %+v", c)
	}
}

func TestOpenLoop_DropsArrivalsOverTheInFlightCap(t *testing.T) {
	clock := newFakeClock()
	release := make(chan struct{})
	var started atomic.Int64
	s := NewStream("x")
	done := make(chan struct{})
	go func() {
		defer close(done)
		OpenLoop{Rate: 100, Duration: time.Second, MaxInFlight: 3, Clock: clock}.Run(context.Background(), s, func(context.Context) error {
			started.Add(1)
			<-release
			return nil
		})
	}()
	// The schedule runs on the fake clock without waiting; once all 100
	// are sent, release the three that run.
	deadline := time.Now().Add(5 * time.Second)
	for s.Counts().Sent < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-done
	r := s.Result(100)
	if r.Sent != 100 || r.Completed != 3 || r.Dropped != 97 || r.Errors != 97 || started.Load() != 3 {
		t.Fatalf("result %+v, started %d", r, started.Load())
	}
	if r.ErrorKinds[string(ErrDropped)] != 97 {
		t.Fatalf("error kinds %v", r.ErrorKinds)
	}
}

func TestOpenLoop_CountsFailuresByKind(t *testing.T) {
	clock := newFakeClock()
	var i atomic.Int64
	s := NewStream("x", "create")
	OpenLoop{Rate: 10, Duration: time.Second, Clock: clock}.Run(context.Background(), s, func(context.Context) error {
		switch i.Add(1) % 5 {
		case 0:
			return Failed("create: HTTP 503", errors.New("create: HTTP 503: Service Unavailable"))
		case 1:
			return context.DeadlineExceeded
		}
		s.Step("create").Record(time.Millisecond)
		return nil
	})
	r := s.Result(10)
	if r.Completed != 6 || r.Errors != 4 || r.ErrorKinds["create: HTTP 503"] != 2 || r.ErrorKinds["timeout"] != 2 {
		t.Fatalf("result %+v", r)
	}
	if r.ErrorSamples["create: HTTP 503"] == "" || r.Latency["create"].Count != 6 {
		t.Fatalf("samples %v, latency %+v", r.ErrorSamples, r.Latency)
	}
}

func TestStreamResult_ThroughputIsTheRateOfCompletions(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name        string
		completions []time.Time
		throughput  float64
		keepUp      float64
	}{
		// 10 arrivals a second for 1 s, each done 300 ms later: the last
		// ones finish after the window, yet the system kept up.
		{"keeping up, whatever the latency", []time.Time{at(300), at(400), at(500), at(600), at(700), at(800), at(900), at(1000), at(1100), at(1200)}, 10, 1},
		// Done one every 200 ms: the backlog grows.
		{"falling behind", []time.Time{at(300), at(500), at(700), at(900), at(1100), at(1300), at(1500), at(1700), at(1900), at(2100)}, 5, 0.5},
		{"one completion", []time.Time{at(300)}, 1, 0.1},
		{"none", nil, 0, 0},
	}
	for _, tt := range tests {
		s := NewStream("x")
		s.begin(t0, t0.Add(time.Second))
		for _, c := range tt.completions {
			s.sent.Add(1)
			s.completed(c)
		}
		s.finish(t0.Add(3 * time.Second))
		r := s.Result(10)
		if r.Throughput != tt.throughput || r.KeepUp != tt.keepUp {
			t.Errorf("%s: throughput %v keep-up %v, want %v %v", tt.name, r.Throughput, r.KeepUp, tt.throughput, tt.keepUp)
		}
	}
}

func TestOpenLoop_RealClockShortRun(t *testing.T) {
	s := NewStream("x")
	start := time.Now()
	OpenLoop{Rate: 100, Duration: 200 * time.Millisecond}.Run(context.Background(), s, func(context.Context) error { return nil })
	took := time.Since(start)
	if c := s.Counts(); c.Sent != 20 || c.Done != 20 {
		t.Fatalf("counts %+v, want 20 sent and done", c)
	}
	// The last arrival is due at 190 ms.
	if took < 190*time.Millisecond || took > 2*time.Second {
		t.Fatalf("run took %s", took)
	}
}

func TestOpenLoop_StopsSchedulingWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := NewStream("x")
	var n atomic.Int64
	OpenLoop{Rate: 1000, Duration: time.Hour}.Run(ctx, s, func(context.Context) error {
		if n.Add(1) == 10 {
			cancel()
		}
		return nil
	})
	if c := s.Counts(); c.Sent < 10 || c.Sent > 1000 {
		t.Fatalf("sent %d after cancelling at the 10th", c.Sent)
	}
}

func TestProgressLine(t *testing.T) {
	s := NewStream("pipeline")
	s.sent.Add(40)
	s.done.Add(35)
	s.failed.Add(1)
	s.inFlight.Add(4)
	got := ProgressLine("open 20/s", 2*time.Second, 60*time.Second, s)
	want := "open 20/s   2s/60s | pipeline: sent 40 done 35 errors 1 in-flight 4"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
