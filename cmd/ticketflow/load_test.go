package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ticketflow/ticketflow/internal/loadtest"
)

// readReport reads a load command's JSON summary.
func readReport(t *testing.T, path string) loadtest.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r loadtest.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("summary is not a report: %v\n%s", err, raw)
	}
	return r
}

// TestLoad_MeasuresADevServer runs the load tool the way BENCHMARKS.md
// does, briefly, against `ticketflow dev` in-process: setup, seed, open
// beside the bare baseline, a two-step find-max, browse, and reply.
func TestLoad_MeasuresADevServer(t *testing.T) {
	base, _ := startDev(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	run(t, "load", "--state", state, "setup", "--base", base, "--agents", "2", "--employees", "3")
	st, err := readLoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Agents) != 2 || len(st.Employees) != 3 || st.CategoryID == "" || st.TeamID == "" || st.Password == "" {
		t.Fatalf("state = %+v", st)
	}

	run(t, "load", "--state", state, "seed", "--tickets", "3000", "--batch", "1000", "--categories", "2", "--requesters", "50", "--agents", "3")
	if st, _ = readLoadState(state); st.Seeded != 3000 || len(st.SeedCategories) != 2 {
		t.Fatalf("state after seeding = %+v", st)
	}

	out := filepath.Join(dir, "open.json")
	run(t, "load", "--state", state, "open", "--rate", "5", "--duration", "2s", "--compare", "--quiet", "--out", out)
	r := readReport(t, out)
	if r.Scenario != "open" || len(r.Steps) != 1 || r.Steps[0].Comparison == nil {
		t.Fatalf("open report = %+v", r)
	}
	pipe, bare := r.Steps[0].Stream(streamPipeline), r.Steps[0].Stream(streamBare)
	if pipe == nil || bare == nil {
		t.Fatalf("streams = %+v", r.Steps[0].Streams)
	}
	for _, s := range []*loadtest.StreamResult{pipe, bare} {
		if s.Sent != 10 || s.Completed != 10 || s.Errors != 0 {
			t.Fatalf("%s: sent %d, completed %d, errors %v", s.Stream, s.Sent, s.Completed, s.ErrorSamples)
		}
	}
	if a := pipe.Latency[stepAssigned]; a.Count != 10 || a.P50MS <= pipe.Latency[stepCreate].P50MS || bare.Latency[stepWorkflow].Count != 10 {
		t.Fatalf("latencies: pipeline %+v, bare %+v", pipe.Latency, bare.Latency)
	}

	out = filepath.Join(dir, "max.json")
	run(t, "load", "--state", state, "open", "--find-max", "--rates", "2,4", "--step", "1s", "--settle", "0s", "--p99-bound", "20s", "--min-keep-up", "0.5", "--compare", "--quiet", "--out", out)
	r = readReport(t, out)
	if r.FindMax == nil || len(r.Steps) != 2 || r.FindMax.MaxRate[streamPipeline] != 4 || r.FindMax.MaxRate[streamBare] != 4 {
		t.Fatalf("find-max: %+v, steps %+v", r.FindMax, r.Steps)
	}

	out = filepath.Join(dir, "browse.json")
	run(t, "load", "--state", state, "browse", "--rate", "40", "--duration", "1s", "--quiet", "--out", out)
	r = readReport(t, out)
	b := r.Steps[0].Stream("browse")
	if b == nil || b.Sent != 40 || b.Completed != 40 || b.Errors != 0 {
		t.Fatalf("browse = %+v", r.Steps)
	}
	for _, page := range []string{pageList, pageFiltered, pageSearch, pageDetail, pageHistory} {
		if b.Latency[page].Count == 0 {
			t.Errorf("no %s page measured: %+v", page, b.Latency)
		}
	}

	out = filepath.Join(dir, "reply.json")
	run(t, "load", "--state", state, "reply", "--rate", "10", "--duration", "1s", "--tickets", "3", "--subscribers", "2", "--quiet", "--out", out)
	r = readReport(t, out)
	rs := r.Steps[0].Stream(streamReply)
	if r.Scenario != "reply" || rs == nil || rs.Sent != 10 || rs.Completed != 10 || rs.Errors != 0 {
		t.Fatalf("reply = %+v", r.Steps)
	}
	// Every comment reached both sockets of its ticket, and no delivery
	// came before its POST left.
	post, delivered := rs.Latency[stepPost], rs.Latency[stepDelivered]
	if post.Count != 10 || delivered.Count != 20 || delivered.MinMS <= 0 {
		t.Fatalf("reply latencies = %+v", rs.Latency)
	}
}
