package loadtest

import (
	"strings"
	"testing"
)

func TestMix_EachCycleHoldsTheWeights(t *testing.T) {
	ws := []Weighted{{"browse", 64}, {"my-tickets", 8}, {"open", 5}, {"agent-reply", 10}, {"requester-reply", 5}, {"transition", 6}, {"board", 2}}
	m, err := NewMix(ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cycle()) != 100 {
		t.Fatalf("cycle of %d", len(m.Cycle()))
	}
	// Any 100 consecutive picks, not only the first, hold the weights.
	for _, offset := range []int64{0, 37, 1000} {
		counts := map[string]int{}
		for i := range int64(100) {
			counts[m.Pick(offset+i)]++
		}
		for _, w := range ws {
			if counts[w.Name] != w.Weight {
				t.Errorf("offset %d: %s picked %d times, want %d", offset, w.Name, counts[w.Name], w.Weight)
			}
		}
	}
	if sh := m.Shares(); sh["browse"] < 0.639 || sh["browse"] > 0.641 {
		t.Errorf("browse share = %v", sh["browse"])
	}
}

func TestMix_SpreadsRareKindsOut(t *testing.T) {
	m, err := NewMix([]Weighted{{"a", 90}, {"b", 5}, {"c", 5}})
	if err != nil {
		t.Fatal(err)
	}
	// b comes about every 20 picks, never twice in a row or in a burst.
	last := -1
	for i, k := range m.Cycle() {
		if k != "b" {
			continue
		}
		if last >= 0 && i-last < 15 {
			t.Fatalf("b at %d and %d: a burst\n%v", last, i, m.Cycle())
		}
		last = i
	}
	// The big kind never runs longer than its share needs.
	run, longest := 0, 0
	for _, k := range append(m.Cycle(), m.Cycle()...) {
		if k == "a" {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest > 12 {
		t.Fatalf("a ran %d times in a row", longest)
	}
}

func TestNewMix_RejectsBadWeights(t *testing.T) {
	for _, ws := range [][]Weighted{nil, {{"a", 0}}, {{"a", -1}, {"b", 3}}, {{"a", 1}, {"a", 2}}} {
		if _, err := NewMix(ws); err == nil {
			t.Errorf("NewMix(%v) accepted", ws)
		}
	}
}

func TestParseMix(t *testing.T) {
	known := []string{"browse", "open", "board"}
	ws, err := ParseMix(" browse=70, open=25 ,board=5", known)
	if err != nil || len(ws) != 3 || ws[0] != (Weighted{"browse", 70}) || ws[2] != (Weighted{"board", 5}) {
		t.Fatalf("ParseMix = %v, %v", ws, err)
	}
	for spec, want := range map[string]string{
		"":             "empty",
		"browse":       "name=weight",
		"shop=3":       "unknown operation",
		"open=lots":    "not a whole number",
		"browse=1.5,a": "not a whole number",
	} {
		if _, err := ParseMix(spec, known); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMix(%q) = %v, want an error with %q", spec, err, want)
		}
	}
}
