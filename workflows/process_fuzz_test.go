package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// FuzzDefinitionValidate feeds process definitions, as an admin's PUT
// body would carry them, to Validate. It never panics, it rejects only
// with a 422, and whatever it accepts can run: a terminal step exists,
// every step is reachable from the first, and every transition joins
// known steps — checked here independently of Validate's own code.
//
// Besides the JSON, the input's bytes also spell a small graph (see
// definitionFromBytes), so that the fuzzer reaches accepted definitions
// far more often than random JSON would.
func FuzzDefinitionValidate(f *testing.F) {
	def, _ := json.Marshal(DefaultDefinition())
	f.Add(def)
	f.Add([]byte(`{"steps":[{"key":"a","name":"A"},{"key":"b","name":"B","terminal":true}],"transitions":[{"from":"a","to":"b","roles":["agent"]}]}`))
	f.Add([]byte(`{"steps":[{"key":"a","name":"A"},{"key":"b","name":"B","terminal":true},{"key":"c","name":"C"}],"transitions":[{"from":"a","to":"b","roles":["agent"]},{"from":"c","to":"b","roles":["agent"]}]}`))
	f.Add([]byte(`{"steps":[{"key":"a","name":"A","terminal":true}],"transitions":[]}`))
	f.Add([]byte(`{"steps":[{"key":"a","name":"A"},{"key":"a","name":"A","terminal":true}],"transitions":[{"from":"a","to":"a","roles":["requester"]}]}`))
	f.Add([]byte{0, 1, 1, 2, 2, 3, 3, 0, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Definition
		if json.Unmarshal(data, &d) == nil {
			checkDefinition(t, d)
		}
		checkDefinition(t, definitionFromBytes(data))
	})
}

// definitionFromBytes reads data as: a step count (1-8), a terminal mask,
// then (from, to, roles) triples of transitions between those steps.
func definitionFromBytes(data []byte) Definition {
	if len(data) < 2 {
		return Definition{}
	}
	n := int(data[0])%8 + 1
	mask := data[1]
	var d Definition
	for i := range n {
		d.Steps = append(d.Steps, Step{Key: fmt.Sprintf("s%d", i), Name: fmt.Sprintf("Step %d", i), Terminal: mask&(1<<i) != 0})
	}
	roles := []string{RoleRequester, RoleAgent, RoleAdmin}
	for rest := data[2:]; len(rest) >= 3; rest = rest[3:] {
		d.Transitions = append(d.Transitions, Transition{
			From:  fmt.Sprintf("s%d", int(rest[0])%(n+1)), // n is an unknown step
			To:    fmt.Sprintf("s%d", int(rest[1])%(n+1)),
			Roles: roles[:int(rest[2])%4],
		})
	}
	return d
}

func checkDefinition(t *testing.T, d Definition) {
	t.Helper()
	err := d.Validate()
	if err != nil {
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.Unprocessable {
			t.Fatalf("Validate() = %v, want an Unprocessable *apperr.Error", err)
		}
		return
	}
	keys := map[string]bool{}
	terminal := false
	for _, s := range d.Steps {
		keys[s.Key] = true
		terminal = terminal || s.Terminal
	}
	if !terminal {
		t.Fatalf("accepted a definition without a terminal step: %+v", d)
	}
	if len(keys) != len(d.Steps) {
		t.Fatalf("accepted duplicate step keys: %+v", d)
	}
	for _, tr := range d.Transitions {
		if !keys[tr.From] || !keys[tr.To] {
			t.Fatalf("accepted a transition %s→%s between unknown steps: %+v", tr.From, tr.To, d)
		}
	}
	reached := map[string]bool{d.Steps[0].Key: true}
	for grew := true; grew; {
		grew = false
		for _, tr := range d.Transitions {
			if reached[tr.From] && !reached[tr.To] {
				reached[tr.To], grew = true, true
			}
		}
	}
	for _, s := range d.Steps {
		if !reached[s.Key] {
			t.Fatalf("accepted a definition where step %q cannot be reached: %+v", s.Key, d)
		}
	}
	if d.Steps[0].Terminal {
		t.Fatalf("accepted a terminal first step: %+v", d)
	}
}
