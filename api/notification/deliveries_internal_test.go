package notification

import (
	"testing"
	"time"
)

// TestBackoff_DoublesUpToTheCapLessAtMostATenth: MinBackoff after the
// first failure, doubled after each further one, never above MaxBackoff,
// and less a random part of at most a tenth, which varies.
func TestBackoff_DoublesUpToTheCapLessAtMostATenth(t *testing.T) {
	o := SenderOptions{MinBackoff: 10 * time.Second, MaxBackoff: 100 * time.Second}
	for attempts, base := range map[int]time.Duration{
		1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: 80 * time.Second,
		5: 100 * time.Second, 6: 100 * time.Second, 1000: 100 * time.Second,
	} {
		seen := map[time.Duration]bool{}
		for range 500 {
			d := o.backoff(attempts)
			if d > base || d < base-base/10 {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", attempts, d, base-base/10, base)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff(%d) took %d distinct values in 500 draws: no jitter", attempts, len(seen))
		}
	}

	// The defaults: 30s doubling to at most an hour, over 8 attempts.
	var def SenderOptions
	def.setDefaults()
	if def.MinBackoff != 30*time.Second || def.MaxBackoff != time.Hour || def.MaxAttempts != 8 {
		t.Fatalf("defaults = %+v", def)
	}
	if d := def.backoff(8); d > time.Hour || d < 54*time.Minute {
		t.Fatalf("default backoff(8) = %s, want the hour cap less at most a tenth", d)
	}
	// A MaxBackoff below MinBackoff is raised, not obeyed.
	odd := SenderOptions{MinBackoff: 2 * time.Hour, MaxBackoff: time.Minute}
	odd.setDefaults()
	if d := odd.backoff(3); d > 2*time.Hour || d < 108*time.Minute {
		t.Fatalf("backoff with MaxBackoff < MinBackoff = %s, want about MinBackoff", d)
	}
}
