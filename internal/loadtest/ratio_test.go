package loadtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// ratioStep is a step of a measured stream "web" (pages at 200/s) beside
// the baselines "insert" and "select" at the same rate, and "bare" at a
// tenth of it.
func ratioStep() Step {
	return Step{Rate: 200, Streams: []StreamResult{
		{
			Stream: "web", TargetRate: 200, Throughput: 190, KeepUp: 0.95,
			Latency: map[string]Summary{
				"list":   {Count: 100, P50MS: 3, P99MS: 20},
				"create": {Count: 10, P50MS: 6, P99MS: 30},
				"never":  {},
			},
			Steps: []string{"list", "create", "never"},
		},
		{Stream: "insert", TargetRate: 200, Throughput: 200, KeepUp: 1, Latency: map[string]Summary{"insert": {Count: 100, P50MS: 1.5, P99MS: 8}}},
		{Stream: "select", TargetRate: 200, Throughput: 190, KeepUp: 0.95, Latency: map[string]Summary{"select": {Count: 100, P50MS: 0.5, P99MS: 4}}},
		{Stream: "bare", TargetRate: 20, Throughput: 10, KeepUp: 0.5, Latency: map[string]Summary{"workflow": {Count: 5, P50MS: 200, P99MS: 400}}},
		{Stream: "idle", TargetRate: 200, Latency: map[string]Summary{"select": {Count: 0}}},
	}}
}

func TestLoadRatioOf_PercentilesAndKeepUp(t *testing.T) {
	s := ratioStep()
	r, ok := RatioOf(*s.Stream("web"), "create", *s.Stream("insert"), "insert")
	want := Ratio{Stream: "web", Step: "create", Baseline: "insert", BaselineStep: "insert", P50: 4, P99: 3.75, Throughput: 0.95}
	if !ok || r != want {
		t.Fatalf("RatioOf = %+v %v, want %+v", r, ok, want)
	}
	// Same keep-up: throughput ratio 1, whatever the rates.
	if r, _ := RatioOf(*s.Stream("web"), "list", *s.Stream("select"), "select"); r.P50 != 6 || r.P99 != 5 || r.Throughput != 1 {
		t.Fatalf("list over select = %+v", r)
	}
	// A baseline at another rate is compared by keep-up, not throughput:
	// 0.95 of its rate against 0.5 of its own.
	if r, _ := RatioOf(*s.Stream("web"), "create", *s.Stream("bare"), "workflow"); r.Throughput != 1.9 || r.P50 != 0.03 {
		t.Fatalf("create over bare = %+v", r)
	}
	for _, tt := range []struct{ step, base, bstep string }{
		{"never", "insert", "insert"},  // the step has no samples
		{"list", "idle", "select"},     // the baseline has none
		{"list", "insert", "workflow"}, // the baseline lacks that step
	} {
		if r, ok := RatioOf(*s.Stream("web"), tt.step, *s.Stream(tt.base), tt.bstep); ok {
			t.Errorf("%s over %s %s: %+v, want none", tt.step, tt.base, tt.bstep, r)
		}
	}
}

func TestLoadAddRatios_KeepsOrderAndSkipsWhatDidNotRun(t *testing.T) {
	s := ratioStep()
	s.AddRatios(
		Pairing{"web", "list", "select", "select"},
		Pairing{"web", "never", "select", "select"},    // no samples
		Pairing{"web", "list", "absent", "select"},     // baseline not run
		Pairing{"missing", "list", "select", "select"}, // stream not run
		Pairing{"web", "create", "insert", "insert"},
		Pairing{"web", "create", "bare", "workflow"},
	)
	var got []string
	for _, r := range s.Ratios {
		got = append(got, r.Step+"/"+r.Baseline)
		if r.P50 <= 0 || r.P99 <= 0 || r.Throughput <= 0 {
			t.Errorf("ratio not positive: %+v", r)
		}
	}
	if strings.Join(got, " ") != "list/select create/insert create/bare" {
		t.Fatalf("ratios = %v", got)
	}
}

func TestLoadRatios_InTheReport(t *testing.T) {
	s := ratioStep()
	s.AddRatios(Pairing{"web", "list", "select", "select"}, Pairing{"web", "create", "bare", "workflow"})
	r := Report{Scenario: "browse", Steps: []Step{s}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	ratios := got["steps"].([]any)[0].(map[string]any)["ratios"].([]any)
	first := ratios[0].(map[string]any)
	want := map[string]any{"stream": "web", "step": "list", "baseline": "select", "baseline_step": "select", "p50": 6.0, "p99": 5.0, "throughput": 1.0}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("ratios[0].%s = %v, want %v", k, first[k], v)
		}
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ratios to the bare baselines", "bare workflow", "6.00", "1.900"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	// Without ratios, no ratio table.
	text.Reset()
	if err := (Report{Steps: []Step{ratioStep()}}).WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "ratios") {
		t.Errorf("ratio table without ratios:\n%s", text.String())
	}
}
