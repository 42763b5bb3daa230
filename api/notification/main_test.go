package notification_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines outlive the tests: every
// consumer, sender loop, subscription and mail server must be gone once
// its test ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to timeout for the goroutines started by the
// tests to end, and returns the stacks of those that do not.
func leakedGoroutines(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			// Only goroutines of this code or its drivers count; the
			// runtime's and the test runner's are not ours to stop.
			ours := strings.Contains(g, "ticketflow") || strings.Contains(g, "amqp091") ||
				strings.Contains(g, "jackc/pgx") || strings.Contains(g, "go-redis") || strings.Contains(g, "emersion/go-smtp")
			if !ours || strings.Contains(g, "leakedGoroutines") {
				continue
			}
			leaked = append(leaked, g)
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
