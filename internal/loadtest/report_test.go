package loadtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleStep(rate float64, pipeP50, pipeP99, bareP50, bareP99, pipeThru, bareThru float64, errors int64) Step {
	return Step{Rate: rate, Streams: []StreamResult{
		{
			Stream: "pipeline", TargetRate: rate, Sent: 100, Completed: 100 - errors, Errors: errors,
			Throughput: pipeThru, KeepUp: round3(pipeThru / rate),
			Latency: map[string]Summary{"create": {Count: 100, P50MS: 5}, "assigned": {Count: 100, P50MS: pipeP50, P99MS: pipeP99}},
			Steps:   []string{"create", "assigned"},
		},
		{
			Stream: "bare", TargetRate: rate, Sent: 100, Completed: 100,
			Throughput: bareThru, KeepUp: round3(bareThru / rate),
			Latency: map[string]Summary{"workflow": {Count: 100, P50MS: bareP50, P99MS: bareP99}},
			Steps:   []string{"workflow"},
		},
	}}
}

func TestCompare_RatiosAndOverheads(t *testing.T) {
	s := sampleStep(20, 180, 400, 120, 300, 19, 20, 0)
	c := Compare(*s.Stream("pipeline"), *s.Stream("bare"), "assigned", "workflow")
	if c != (Comparison{RateRatio: 0.95, P50OverheadMS: 60, P99OverheadMS: 100}) {
		t.Fatalf("comparison = %+v", c)
	}
}

func TestCriteria_Judge(t *testing.T) {
	c := Criteria{P99Bound: time.Second, MinKeepUp: 0.95}
	tests := []struct {
		name string
		step Step
		ok   bool
		why  string
	}{
		{"fast and keeping up", sampleStep(20, 100, 400, 0, 0, 19.5, 20, 0), true, "sustained"},
		{"p99 at the bound", sampleStep(20, 100, 1000, 0, 0, 19.5, 20, 0), false, "p99 1000 ms ≥ 1000 ms"},
		{"falling behind", sampleStep(20, 100, 400, 0, 0, 18, 20, 0), false, "keep-up 0.900 < 0.95"},
		{"an error", sampleStep(20, 100, 400, 0, 0, 19.5, 20, 1), false, "1 errors"},
	}
	for _, tt := range tests {
		ok, why := c.Judge(*tt.step.Stream("pipeline"), "assigned")
		if ok != tt.ok || why != tt.why {
			t.Errorf("%s: Judge = %v %q, want %v %q", tt.name, ok, why, tt.ok, tt.why)
		}
	}
}

func TestMaxSustained_StopsAtTheFirstFailedStep(t *testing.T) {
	yes, no := true, false
	step := func(rate float64, ok *bool) Step {
		return Step{Rate: rate, Streams: []StreamResult{{Stream: "bare", Sustainable: ok}}}
	}
	steps := []Step{step(5, &yes), step(10, &yes), step(15, &no), step(20, &yes)}
	if got, ok := MaxSustained(steps, "bare"); got != 10 || !ok {
		t.Fatalf("MaxSustained = %v %v, want 10 (20 passing after 15 failed is luck)", got, ok)
	}
	if got, ok := MaxSustained([]Step{step(5, &no)}, "bare"); got != 0 || !ok {
		t.Fatalf("all failed: %v %v", got, ok)
	}
	if _, ok := MaxSustained(steps, "pipeline"); ok {
		t.Fatal("a stream that did not run was judged")
	}
}

func TestReport_JSONShape(t *testing.T) {
	s := sampleStep(20, 180, 400, 120, 300, 19, 20, 0)
	c := Compare(*s.Stream("pipeline"), *s.Stream("bare"), "assigned", "workflow")
	s.Comparison = &c
	r := Report{
		Scenario:  "open",
		Command:   "ticketflow load open --rate 20 --compare",
		StartedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		Machine:   Machine{CPUs: 2, GoVersion: "go1.26", OS: "linux/amd64"},
		Steps:     []Step{s},
		FindMax:   &FindMax{P99BoundMS: 1000, MinKeepUp: 0.95, MaxRate: map[string]float64{"pipeline": 25, "bare": 30}, RateRatio: 0.833},
		Resources: []ProcUsage{{PID: 42, Name: "ticketflow", CPUSeconds: 12.5, CPUPercent: 20.8, RSSPeakMiB: 80, HWMMiB: 81}},
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	// Read back as a client without our types would.
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	step := got["steps"].([]any)[0].(map[string]any)
	pipe := step["streams"].([]any)[0].(map[string]any)
	assigned := pipe["latency"].(map[string]any)["assigned"].(map[string]any)
	checks := map[string]any{
		"scenario":                  got["scenario"],
		"machine.cpus":              got["machine"].(map[string]any)["cpus"],
		"steps[0].rate":             step["rate"],
		"pipeline.stream":           pipe["stream"],
		"pipeline.throughput_per_s": pipe["throughput_per_s"],
		"assigned.p50_ms":           assigned["p50_ms"],
		"assigned.p99_ms":           assigned["p99_ms"],
		"comparison.rate_ratio":     step["comparison"].(map[string]any)["rate_ratio"],
		"comparison.p50_overhead":   step["comparison"].(map[string]any)["p50_overhead_ms"],
		"find_max.max_rate.bare":    got["find_max"].(map[string]any)["max_rate"].(map[string]any)["bare"],
		"resources[0].cpu_seconds":  got["resources"].([]any)[0].(map[string]any)["cpu_seconds"],
		"resources[0].vm_hwm_mib":   got["resources"].([]any)[0].(map[string]any)["vm_hwm_mib"],
	}
	want := map[string]any{
		"scenario": "open", "machine.cpus": 2.0, "steps[0].rate": 20.0, "pipeline.stream": "pipeline",
		"pipeline.throughput_per_s": 19.0, "assigned.p50_ms": 180.0, "assigned.p99_ms": 400.0,
		"comparison.rate_ratio": 0.95, "comparison.p50_overhead": 60.0, "find_max.max_rate.bare": 30.0,
		"resources[0].cpu_seconds": 12.5, "resources[0].vm_hwm_mib": 81.0,
	}
	for k, v := range want {
		if checks[k] != v {
			t.Errorf("%s = %v, want %v", k, checks[k], v)
		}
	}
	// Round trip through our own types loses nothing.
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Steps[0].Stream("bare").Latency["workflow"].P50MS != 120 || back.FindMax.RateRatio != 0.833 {
		t.Fatalf("round trip: %+v", back)
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pipeline", "assigned", "rate ratio 0.950", "p50 overhead +60.0 ms", "bare 30/s", "process ticketflow (pid 42)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}
