package loadtest

import (
	"testing"
	"time"
)

func TestPercentile_NearestRank(t *testing.T) {
	var h Histogram
	// 1..100 ms, recorded out of order.
	for i := 100; i >= 1; i-- {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	s := h.Summary()
	want := Summary{Count: 100, MinMS: 1, MeanMS: 50.5, P50MS: 50, P90MS: 90, P99MS: 99, MaxMS: 100}
	if s != want {
		t.Fatalf("summary = %+v, want %+v", s, want)
	}
}

func TestPercentile_SmallSamples(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"none", nil, 50, 0},
		{"one sample is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"p50 of two is the lower", ms(1, 2), 50, time.Millisecond},
		{"p99 of ten is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p90 of ten is the ninth", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{"p100 is the max", ms(3, 4), 100, 4 * time.Millisecond},
		{"tiny p is the min", ms(3, 4), 0.001, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.samples, tt.p); got != tt.want {
				t.Fatalf("Percentile(%v, %g) = %v, want %v", tt.samples, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummary_Empty(t *testing.T) {
	var h Histogram
	if s := h.Summary(); s != (Summary{}) {
		t.Fatalf("empty summary = %+v", s)
	}
}

func TestSummary_MicrosecondPrecision(t *testing.T) {
	s := Summarize([]time.Duration{1234567 * time.Nanosecond})
	if s.P50MS != 1.235 {
		t.Fatalf("p50 = %v ms, want 1.235", s.P50MS)
	}
}
