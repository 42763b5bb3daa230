package helpdesk_test

import (
	"net/http"
	"testing"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func TestHistory_RecordsEveryChangeOldestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	bob := e.user("Bob", authn.RoleEmployee)
	agent := e.user("Alice Agent", authn.RoleAgent)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop")

	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, ana.token, map[string]string{"title": "Laptop is dead"}).ok(t, http.StatusOK, nil)
	e.setState(tk.ID, map[string]any{"change_id": "1", "step": "triage", "status": "open", "assignee_id": agent.id, "reason": "round-robin"})
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, agent.token, map[string]string{"priority": "high"}).ok(t, http.StatusOK, nil)
	e.setState(tk.ID, map[string]any{"change_id": "2", "step": "resolved", "status": "resolved", "assignee_id": agent.id, "actor_id": agent.id})

	var history httpx.List[helpdesk.HistoryEntry]
	e.do("GET", "/helpdesk/tickets/"+tk.ID+"/history", ana.token, nil).ok(t, http.StatusOK, &history)
	type entry struct{ field, old, new, actor, name, reason string }
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	want := []entry{
		{"ticket", "<null>", "created", ana.id, "Ana", ""},
		{"title", "Laptop", "Laptop is dead", ana.id, "Ana", ""},
		{"step", "new", "triage", serviceClient, "", "round-robin"},
		{"status", "new", "open", serviceClient, "", "round-robin"},
		{"assignee_id", "<null>", agent.id, serviceClient, "", "round-robin"},
		{"priority", "normal", "high", agent.id, "Alice Agent", ""},
		{"step", "triage", "resolved", agent.id, "Alice Agent", ""},
		{"status", "open", "resolved", agent.id, "Alice Agent", ""},
	}
	if len(history.Items) != len(want) {
		t.Fatalf("history has %d entries, want %d: %+v", len(history.Items), len(want), history.Items)
	}
	for i, h := range history.Items {
		got := entry{h.Field, str(h.Old), str(h.New), h.ActorID, h.ActorName, h.Reason}
		if got != want[i] || h.At.IsZero() {
			t.Errorf("entry %d = %+v, want %+v", i, got, want[i])
		}
		if i > 0 && h.At.Before(history.Items[i-1].At) {
			t.Errorf("entry %d is older than the one before it", i)
		}
	}
	e.do("GET", "/helpdesk/tickets/"+tk.ID+"/history", agent.token, nil).ok(t, http.StatusOK, nil)
	e.do("GET", "/helpdesk/tickets/"+tk.ID+"/history", e.service, nil).ok(t, http.StatusOK, nil)
	e.do("GET", "/helpdesk/tickets/"+tk.ID+"/history", bob.token, nil).problem(t, http.StatusNotFound)
}
