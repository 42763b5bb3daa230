package auth

import (
	"sync"
	"testing"
)

// PasswordCheck is the cost of one Argon2id hash that checkPassword computed.
type PasswordCheck struct {
	MemoryKiB, Passes uint32
	Threads           uint8
	KeyLen            int
}

// HashCost is the cost of a hash that hashPassword writes today.
var HashCost = PasswordCheck{MemoryKiB: argonMemoryKiB, Passes: argonTime, Threads: argonThreads, KeyLen: argonKeyLen}

// RecordPasswordChecks records every password hash check until the test
// ends, and returns a function that hands over (and forgets) those recorded
// so far. The hook is global: the test must not run in parallel with
// others that check passwords.
func RecordPasswordChecks(t testing.TB) (take func() []PasswordCheck) {
	var (
		mu     sync.Mutex
		checks []PasswordCheck
	)
	record := func(c hashCost) {
		mu.Lock()
		defer mu.Unlock()
		checks = append(checks, PasswordCheck{MemoryKiB: c.memoryKiB, Passes: c.passes, Threads: c.threads, KeyLen: c.keyLen})
	}
	if !passwordChecked.CompareAndSwap(nil, &record) {
		t.Fatal("password checks are already being recorded")
	}
	t.Cleanup(func() { passwordChecked.Store(nil) })
	return func() []PasswordCheck {
		mu.Lock()
		defer mu.Unlock()
		taken := checks
		checks = nil
		return taken
	}
}
