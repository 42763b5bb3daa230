package helpdesk_test

import (
	"os"
	"testing"
)

// TestMain drops the benchmarks' 100,000-ticket schema, which outlives any
// one benchmark run (see benchFixture).
func TestMain(m *testing.M) {
	code := m.Run()
	closeBenchFixture()
	os.Exit(code)
}
