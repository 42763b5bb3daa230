package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat: 100 on every architecture Go supports, and not
// readable without cgo.
const clockTicks = 100

// ProcUsage is the CPU and memory one process used during a run.
type ProcUsage struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
	// CPUSeconds is user plus system CPU time spent between the first and
	// the last sample; CPUPercent the same per second of wall time, in
	// percent of one core (200 is both cores of a 2-core machine).
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPercent float64 `json:"cpu_percent"`
	// RSSPeakMiB is the largest resident set sampled during the run;
	// HWMMiB is the kernel's high-water mark (VmHWM) over the process's
	// whole life, which may predate the run.
	RSSPeakMiB float64 `json:"rss_peak_mib"`
	HWMMiB     float64 `json:"vm_hwm_mib"`
	// Exited is true when the process went away during the run.
	Exited bool `json:"exited,omitempty"`
}

// ProcSample is one reading of /proc/<pid>.
type ProcSample struct {
	Name   string
	CPU    time.Duration // user + system
	RSSKiB int64
	HWMKiB int64
}

// ReadProc reads the CPU time and memory of a process from /proc.
func ReadProc(pid int) (ProcSample, error) {
	var s ProcSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	if s.Name, s.CPU, err = parseStat(stat); err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.RSSKiB, s.HWMKiB = parseStatus(status)
	return s, nil
}

// parseStat reads the command name and utime + stime from the contents of
// /proc/<pid>/stat. The name sits in parentheses and may hold spaces and
// parentheses itself, so the fields are counted from the last ')'.
func parseStat(stat []byte) (string, time.Duration, error) {
	open, close := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || close < open {
		return "", 0, fmt.Errorf("malformed stat %q", stat)
	}
	name := string(stat[open+1 : close])
	// After ")": field 3 (state) onwards; utime and stime are fields 14, 15.
	fields := strings.Fields(string(stat[close+1:]))
	if len(fields) < 13 {
		return "", 0, fmt.Errorf("stat has %d fields after the name", len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, fmt.Errorf("malformed utime/stime %q %q", fields[11], fields[12])
	}
	return name, time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseStatus reads VmRSS and VmHWM, in KiB, from /proc/<pid>/status.
func parseStatus(status []byte) (rss, hwm int64) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch key {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}

// FindPIDs returns the processes whose command name (/proc/<pid>/comm) is
// one of names, except the process itself, in PID order.
func FindPIDs(names []string) ([]int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, d := range dirs {
		comm, err := os.ReadFile(d)
		if err != nil {
			continue // gone meanwhile
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil || pid == self {
			continue
		}
		if slices.Contains(names, strings.TrimSpace(string(comm))) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// ProcSampler follows the CPU and memory of some processes during a run.
type ProcSampler struct {
	mu    sync.Mutex
	procs []*tracked
}

type tracked struct {
	pid          int
	label        string
	first, last  ProcSample
	firstAt      time.Time
	lastAt       time.Time
	rssPeak      int64
	exited, seen bool
}

// NewProcSampler returns a sampler of pids; Sample or Run read them.
func NewProcSampler(pids []int) *ProcSampler {
	s := &ProcSampler{}
	for _, pid := range pids {
		s.procs = append(s.procs, &tracked{pid: pid})
	}
	return s
}

// Label names a process in Usage instead of its command name.
func (s *ProcSampler) Label(pid int, label string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if p.pid == pid {
			p.label = label
			return
		}
	}
	s.procs = append(s.procs, &tracked{pid: pid, label: label})
}

// Sample reads every process once.
func (s *ProcSampler) Sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, p := range s.procs {
		if p.exited {
			continue
		}
		r, err := ReadProc(p.pid)
		if err != nil {
			p.exited = p.seen
			continue
		}
		if !p.seen {
			p.first, p.firstAt, p.seen = r, now, true
		}
		p.last, p.lastAt = r, now
		p.rssPeak = max(p.rssPeak, r.RSSKiB)
	}
}

// Run samples every interval until ctx ends, and once more then.
func (s *ProcSampler) Run(ctx context.Context, every time.Duration) {
	s.Sample()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Sample()
			return
		case <-t.C:
			s.Sample()
		}
	}
}

// Usage returns what each process used between its first and last sample.
func (s *ProcSampler) Usage() []ProcUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ProcUsage
	for _, p := range s.procs {
		if !p.seen {
			continue
		}
		cpu := p.last.CPU - p.first.CPU
		name := p.last.Name
		if p.label != "" {
			name = p.label
		}
		u := ProcUsage{
			PID: p.pid, Name: name,
			CPUSeconds: round3(cpu.Seconds()),
			RSSPeakMiB: round3(float64(p.rssPeak) / 1024),
			HWMMiB:     round3(float64(p.last.HWMKiB) / 1024),
			Exited:     p.exited,
		}
		if wall := p.lastAt.Sub(p.firstAt); wall > 0 {
			u.CPUPercent = round3(100 * cpu.Seconds() / wall.Seconds())
		}
		out = append(out, u)
	}
	return out
}
