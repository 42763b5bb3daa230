package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ticketflow/ticketflow/internal/loadtest"
	"github.com/ticketflow/ticketflow/workflows"
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

// checkBaselines fails t unless each named baseline stream ran in step,
// sent something and completed all of it.
func checkBaselines(t *testing.T, scenario string, step loadtest.Step, names ...string) {
	t.Helper()
	for _, name := range names {
		b := step.Stream(name)
		if b == nil || b.Sent == 0 || b.Completed != b.Sent || b.Errors != 0 {
			t.Errorf("%s: baseline %s = %+v", scenario, name, b)
			continue
		}
		if b.Latency[b.Steps[0]].Count != int(b.Completed) {
			t.Errorf("%s: baseline %s timed %d of %d", scenario, name, b.Latency[b.Steps[0]].Count, b.Completed)
		}
	}
}

// checkRatios fails t unless step has a ratio for each "step/baseline" of
// want, and every ratio it has is positive.
func checkRatios(t *testing.T, scenario string, step loadtest.Step, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, r := range step.Ratios {
		have[r.Step+"/"+r.Baseline] = true
		if r.P50 <= 0 || r.P99 <= 0 || r.Throughput <= 0 {
			t.Errorf("%s: ratio not positive: %+v", scenario, r)
		}
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s: no ratio %s among %+v", scenario, w, step.Ratios)
		}
	}
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
	checkBaselines(t, "open", r.Steps[0], streamBare, streamInsert)
	checkRatios(t, "open", r.Steps[0], stepAssigned+"/"+streamBare, stepCreate+"/"+streamInsert)
	if len(r.Steps[0].Ratios) != 2 {
		t.Errorf("open ratios = %+v", r.Steps[0].Ratios)
	}

	out = filepath.Join(dir, "max.json")
	run(t, "load", "--state", state, "open", "--find-max", "--rates", "2,4", "--step", "1s", "--settle", "0s", "--p99-bound", "20s", "--min-keep-up", "0.5", "--compare", "--quiet", "--out", out)
	r = readReport(t, out)
	if r.FindMax == nil || len(r.Steps) != 2 || r.FindMax.MaxRate[streamPipeline] != 4 || r.FindMax.MaxRate[streamBare] != 4 {
		t.Fatalf("find-max: %+v, steps %+v", r.FindMax, r.Steps)
	}

	out = filepath.Join(dir, "browse.json")
	run(t, "load", "--state", state, "browse", "--rate", "40", "--duration", "1s", "--compare", "--quiet", "--out", out)
	r = readReport(t, out)
	b := r.Steps[0].Stream("browse")
	if b == nil || b.Sent != 40 || b.Completed != 40 || b.Errors != 0 {
		t.Fatalf("browse = %+v", r.Steps)
	}
	for _, page := range []string{pageList, pageFiltered, pageSearch, pageDetail, pageHistory} {
		if b.Latency[page].Count == 0 {
			t.Errorf("no %s page measured: %+v", page, b.Latency)
		}
		checkRatios(t, "browse", r.Steps[0], page+"/"+streamSelect, page+"/"+streamInsert)
	}
	checkBaselines(t, "browse", r.Steps[0], streamSelect, streamInsert)

	out = filepath.Join(dir, "reply.json")
	run(t, "load", "--state", state, "reply", "--rate", "10", "--duration", "1s", "--tickets", "3", "--subscribers", "2", "--compare", "--quiet", "--out", out)
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
	checkBaselines(t, "reply", r.Steps[0], streamInsert)
	checkRatios(t, "reply", r.Steps[0], stepPost+"/"+streamInsert, stepDelivered+"/"+streamInsert)

	// mixed: 60 operations over 2 s in the default proportions, every one
	// of which must succeed; each kind that came up has its latency.
	out = filepath.Join(dir, "mixed.json")
	run(t, "load", "--state", state, "mixed", "--rate", "30", "--duration", "2s", "--tickets", "3", "--compare", "--quiet", "--out", out)
	r = readReport(t, out)
	ms := r.Steps[0].Stream("mixed")
	if r.Scenario != "mixed" || ms == nil || ms.Sent != 60 || ms.Completed != 60 || ms.Errors != 0 {
		t.Fatalf("mixed = %+v", r.Steps)
	}
	// In 60 picks of the default mix: 38 browse, 5 my-tickets, 3 opens,
	// 6 agent and 3 requester replies, 4 transitions, 1 board.
	for step, want := range map[string]int{stepMyTickets: 5, stepCreate: 3, stepAssigned: 3, stepAgentReply: 6, stepRequesterReply: 3, stepState: 4, stepBoard: 1} {
		if got := ms.Latency[step].Count; got != want {
			t.Errorf("mixed %s: %d measured, want %d (%+v)", step, got, want, ms.Latency)
		}
	}
	browsed := 0
	for _, page := range []string{pageList, pageFiltered, pageSearch, pageDetail, pageHistory} {
		browsed += ms.Latency[page].Count
	}
	if browsed != 38 {
		t.Errorf("mixed browse pages: %d, want 38", browsed)
	}
	// Beside it the baselines, at the rates of their operations (3.3/s
	// bare, 6/s insert, 22.2/s select), each judged against its steps.
	checkBaselines(t, "mixed", r.Steps[0], streamBare, streamInsert, streamSelect)
	checkRatios(t, "mixed", r.Steps[0], stepAssigned+"/"+streamBare, stepState+"/"+streamBare, stepCreate+"/"+streamInsert,
		stepAgentReply+"/"+streamInsert, stepRequesterReply+"/"+streamInsert, pageList+"/"+streamSelect, pageSearch+"/"+streamSelect,
		stepMyTickets+"/"+streamSelect, stepBoard+"/"+streamSelect)

	// hold: 30 tickets written and their workflows started directly, with a
	// checkpoint at 10; every run assigned, probes through the API.
	holdOut := filepath.Join(dir, "hold.json")
	run(t, "load", "--state", state, "hold", "--total", "30", "--rate", "30", "--checkpoints", "10", "--batch", "7",
		"--probes", "2", "--settle-timeout", "60s", "--pids", strconv.Itoa(os.Getpid()), "--out", holdOut)
	raw, err := os.ReadFile(holdOut)
	if err != nil {
		t.Fatal(err)
	}
	var hr loadtest.HoldReport
	if err := json.Unmarshal(raw, &hr); err != nil {
		t.Fatalf("hold summary: %v\n%s", err, raw)
	}
	if hr.Stopped != "" || len(hr.Checkpoints) != 2 || hr.Checkpoints[0].Target != 10 || hr.Checkpoints[1].Target != 30 {
		t.Fatalf("hold checkpoints: %+v (stopped: %q)", hr.Checkpoints, hr.Stopped)
	}
	for _, cp := range hr.Checkpoints {
		if cp.Started != int64(cp.Target) || cp.Errors != 0 || cp.Assigned != int64(cp.Target) || cp.ProbeErrors != 0 ||
			cp.Probe[stepAssigned].Count != 2 || cp.StartLatency.Count == 0 || len(cp.Holding) != 1 {
			t.Errorf("checkpoint %d: %+v", cp.Target, cp)
		}
		// The task queue is the test's own: its runs are this test's
		// tickets, all still open (waiting on their SLA timers).
		if cp.OpenRuns < int64(cp.Target) || cp.ClosedRuns != 0 {
			t.Errorf("checkpoint %d: %d open runs, %d closed", cp.Target, cp.OpenRuns, cp.ClosedRuns)
		}
	}
}

func TestLoadMixedBaselineRates_FollowTheMix(t *testing.T) {
	ws, err := loadtest.ParseMix(defaultMix, mixedOps)
	if err != nil {
		t.Fatal(err)
	}
	mix, err := loadtest.NewMix(ws)
	if err != nil {
		t.Fatal(err)
	}
	bare, insert, sel := mixedBaselineRates(100, mix.Shares())
	// open and transitions 11%; open and replies 20%; browse, my tickets
	// and the board 74%.
	if bare != 11 || insert != 20 || sel != 74 {
		t.Fatalf("rates at 100/s: bare %g, insert %g, select %g", bare, insert, sel)
	}
	if bare, _, _ := mixedBaselineRates(100, map[string]float64{opBrowse: 1}); bare != 0 {
		t.Fatalf("a mix without opening runs the bare workflow at %g/s", bare)
	}
	if seedReadRows(0) != 1000 || seedReadRows(50_000) != 50_000 || seedReadRows(1_000_000) != 100_000 {
		t.Fatal("seedReadRows")
	}
}

func TestNextMove_KeepsTicketsInPlay(t *testing.T) {
	if got := nextMove([]string{workflows.StepInProgress, workflows.StepClosed}); got != workflows.StepInProgress {
		t.Errorf("from triage: %q", got)
	}
	if got := nextMove([]string{workflows.StepClosed}); got != "" {
		t.Errorf("only closing allowed: %q, want no move", got)
	}
	if got := nextMove([]string{workflows.StepResolved}); got != workflows.StepResolved {
		t.Errorf("only resolving allowed: %q", got)
	}
	resolved := 0
	for range 400 {
		switch nextMove([]string{workflows.StepWaiting, workflows.StepResolved}) {
		case workflows.StepResolved:
			resolved++
		case workflows.StepWaiting:
		default:
			t.Fatal("a move not allowed")
		}
	}
	if resolved < 50 || resolved > 150 {
		t.Errorf("resolved %d of 400 in progress tickets, want about a quarter", resolved)
	}
}
