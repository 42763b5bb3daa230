package loadtest

import (
	"os"
	"testing"
	"time"
)

func TestParseStat_NameWithSpacesAndParens(t *testing.T) {
	stat := []byte("4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 12 0 100 2000000 5000 18446744073709551615")
	name, cpu, err := parseStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	if name != "my (odd) proc" || cpu != 3800*time.Millisecond {
		t.Fatalf("name %q cpu %s, want 'my (odd) proc' and 3.8s (380 ticks)", name, cpu)
	}
}

func TestParseStatus_RSSAndHighWaterMark(t *testing.T) {
	status := []byte("Name:\tticketflow\nVmPeak:\t 1500000 kB\nVmHWM:\t   90112 kB\nVmRSS:\t   81920 kB\nThreads:\t12\n")
	rss, hwm := parseStatus(status)
	if rss != 81920 || hwm != 90112 {
		t.Fatalf("rss %d hwm %d", rss, hwm)
	}
}

func TestProcSampler_ReadsALiveProcess(t *testing.T) {
	// Our parent (go test) is alive and readable; FindPIDs leaves out the
	// sampling process itself.
	s := NewProcSampler([]int{os.Getppid(), 1 << 30})
	s.Sample()
	busy := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(busy) {
	}
	s.Sample()
	u := s.Usage()
	if len(u) != 1 || u[0].PID != os.Getppid() || u[0].HWMMiB <= 0 || u[0].RSSPeakMiB <= 0 {
		t.Fatalf("usage = %+v", u)
	}
	pids, err := FindPIDs([]string{u[0].Name})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pids {
		if p == os.Getpid() {
			t.Fatal("FindPIDs returned the process itself")
		}
	}
}
