package loadtest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress writes a line about streams to w every second until ctx ends:
// elapsed time of total, then per stream what was sent, done, failed and
// is in flight. On a terminal (tty) the line rewrites itself; elsewhere
// each update is a line of its own.
func Progress(ctx context.Context, w io.Writer, tty bool, label string, total time.Duration, streams ...*Stream) {
	start := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(w)
			}
			return
		case <-t.C:
			line := ProgressLine(label, time.Since(start), total, streams...)
			if tty {
				fmt.Fprintf(w, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(w, line)
			}
		}
	}
}

// ProgressLine formats one progress update.
func ProgressLine(label string, elapsed, total time.Duration, streams ...*Stream) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %3.0fs/%.0fs", label, elapsed.Seconds(), total.Seconds())
	for _, s := range streams {
		c := s.Counts()
		fmt.Fprintf(&b, " | %s: sent %d done %d errors %d in-flight %d", s.Name, c.Sent, c.Done, c.Failed, c.InFlight)
	}
	return b.String()
}
