package loadtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Weighted is one kind of operation of a mix and its share.
type Weighted struct {
	Name   string
	Weight int
}

// Mix deals operations in fixed proportions: one cycle holds each kind as
// often as its weight, spread out the way smooth weighted round robin
// spreads them (a kind of weight w in a cycle of n comes about every n/w
// picks, never in bursts), so that any window of the run, not only the
// whole of it, has the proportions.
type Mix struct {
	cycle []string
}

// NewMix returns the mix of ws; weights must be positive and names unique.
func NewMix(ws []Weighted) (Mix, error) {
	if len(ws) == 0 {
		return Mix{}, errors.New("a mix needs at least one kind of operation")
	}
	total := 0
	seen := map[string]bool{}
	for _, w := range ws {
		if w.Weight < 1 {
			return Mix{}, fmt.Errorf("%s: weight %d, must be positive", w.Name, w.Weight)
		}
		if seen[w.Name] {
			return Mix{}, fmt.Errorf("%s: named twice", w.Name)
		}
		seen[w.Name] = true
		total += w.Weight
	}
	current := make([]int, len(ws))
	cycle := make([]string, total)
	for i := range cycle {
		best := 0
		for j, w := range ws {
			current[j] += w.Weight
			if current[j] > current[best] {
				best = j
			}
		}
		current[best] -= total
		cycle[i] = ws[best].Name
	}
	return Mix{cycle: cycle}, nil
}

// Pick returns the kind of the i-th operation of the run.
func (m Mix) Pick(i int64) string {
	return m.cycle[int(i%int64(len(m.cycle)))]
}

// Cycle returns one cycle of picks.
func (m Mix) Cycle() []string { return append([]string(nil), m.cycle...) }

// Shares returns each kind's share of the cycle, in [0, 1].
func (m Mix) Shares() map[string]float64 {
	out := map[string]float64{}
	for _, k := range m.cycle {
		out[k] += 1 / float64(len(m.cycle))
	}
	return out
}

// ParseMix reads "name=weight,name=weight,…", allowing only the names in
// known, in that order of appearance.
func ParseMix(spec string, known []string) ([]Weighted, error) {
	var out []Weighted
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want name=weight", part)
		}
		name = strings.TrimSpace(name)
		if !contains(known, name) {
			return nil, fmt.Errorf("%q: unknown operation (known: %s)", name, strings.Join(known, ", "))
		}
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("%s: weight %q is not a whole number", name, val)
		}
		out = append(out, Weighted{Name: name, Weight: w})
	}
	if len(out) == 0 {
		return nil, errors.New("empty mix")
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
