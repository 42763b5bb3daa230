package loadtest

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckpoints_SortedUniqueUpToTheTotalWhichComesLast(t *testing.T) {
	for _, tc := range []struct {
		spec  []int
		total int
		want  []int
	}{
		{[]int{1000, 2000, 5000}, 10_000, []int{1000, 2000, 5000, 10_000}},
		{[]int{5000, 1000, 1000, 2000}, 3000, []int{1000, 2000, 3000}},
		{[]int{1000, 2000}, 2000, []int{1000, 2000}},
		{nil, 500, []int{500}},
	} {
		got, err := Checkpoints(tc.spec, tc.total)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Checkpoints(%v, %d) = %v, %v; want %v", tc.spec, tc.total, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		spec  []int
		total int
	}{{[]int{0, 10}, 100}, {[]int{-5}, 100}, {nil, 0}} {
		if _, err := Checkpoints(bad.spec, bad.total); err == nil {
			t.Errorf("Checkpoints(%v, %d) accepted", bad.spec, bad.total)
		}
	}
}

func TestPace_SpacesStartsAtTheRate(t *testing.T) {
	p := Pace{Rate: 40}
	if p.Due(0) != 0 || p.Due(1) != 25*time.Millisecond || p.Due(40) != time.Second || p.Due(1000) != 25*time.Second {
		t.Fatalf("due: %v %v %v %v", p.Due(0), p.Due(1), p.Due(40), p.Due(1000))
	}
	if (Pace{Rate: 3}).Due(3) != time.Second {
		t.Fatalf("a third of a second each: %v", Pace{Rate: 3}.Due(3))
	}
}

func TestBetween_CPUShareAndLaterRSS(t *testing.T) {
	t0 := time.Unix(1000, 0)
	from := ProcSnapshot{At: t0, Procs: map[int]ProcSample{
		7: {Name: "ticketflow", CPU: 2 * time.Second, RSSKiB: 100 << 10},
		9: {Name: "temporal", CPU: time.Second, RSSKiB: 50 << 10},
	}}
	to := ProcSnapshot{At: t0.Add(10 * time.Second), Procs: map[int]ProcSample{
		7:  {Name: "ticketflow", CPU: 7 * time.Second, RSSKiB: 300 << 10},
		9:  {Name: "temporal", CPU: 16 * time.Second, RSSKiB: 60 << 10},
		11: {Name: "late", CPU: time.Second, RSSKiB: 1},
	}}
	got := Between(from, to)
	want := []ProcWindow{{PID: 7, Name: "ticketflow", RSSMiB: 300, CPUPercent: 50}, {PID: 9, Name: "temporal", RSSMiB: 60, CPUPercent: 150}}
	if !slices.Equal(got, want) {
		t.Fatalf("Between = %+v, want %+v", got, want)
	}
}

func TestSnapshotProcs_ReadsThisProcessAndSkipsMissingOnes(t *testing.T) {
	s := SnapshotProcs([]int{os.Getpid(), 1 << 30})
	if len(s.Procs) != 1 || s.Procs[os.Getpid()].RSSKiB <= 0 {
		t.Fatalf("snapshot = %+v", s.Procs)
	}
}

func TestHoldReport_RSSGrowthPerOpenRun(t *testing.T) {
	r := HoldReport{
		Baseline: []ProcWindow{{PID: 7, RSSMiB: 100}},
		Checkpoints: []HoldCheckpoint{
			{Target: 1000, OpenRuns: 1024, Holding: []ProcWindow{{PID: 7, RSSMiB: 110}}},
			{Target: 2000, OpenRuns: 0, Holding: []ProcWindow{{PID: 7, RSSMiB: 120}}},
		},
	}
	if per, ok := r.RSSGrowthPerRunKiB(7, 0); !ok || per != 10 {
		t.Fatalf("per run = %v, %v; want 10 KiB", per, ok)
	}
	for _, c := range []struct{ pid, i int }{{7, 1}, {8, 0}, {7, 5}} {
		if _, ok := r.RSSGrowthPerRunKiB(c.pid, c.i); ok {
			t.Errorf("pid %d checkpoint %d: a figure without the readings", c.pid, c.i)
		}
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), "1000: 110 MiB (10.0 KiB/run)") {
		t.Fatalf("text: %v\n%s", err, text.String())
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back HoldReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Checkpoints) != 2 || back.Checkpoints[0].OpenRuns != 1024 {
		t.Fatalf("json round trip: %v %+v", err, back)
	}
}

func TestParseHeapProfile_ReadsTheMemStatsTrailer(t *testing.T) {
	text := "heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1\n\n# runtime.MemStats\n# Alloc = 1\n# HeapAlloc = 3145728\n# HeapSys = 9\n# HeapInuse = 5242880\n# NumGC = 4\n"
	h, err := ParseHeapProfile(text)
	if err != nil || h.HeapAllocMiB != 3 || h.HeapInuseMiB != 5 {
		t.Fatalf("heap = %+v, %v", h, err)
	}
	if _, err := ParseHeapProfile("<html>not a profile</html>"); err == nil {
		t.Fatal("a page that is no profile parsed")
	}
	n, err := ParseGoroutineCount("goroutine profile: total 394\n12 @ 0x1\n")
	if err != nil || n != 394 {
		t.Fatalf("goroutines = %d, %v", n, err)
	}
	if _, err := ParseGoroutineCount("nothing here"); err == nil {
		t.Fatal("no total parsed")
	}
}
