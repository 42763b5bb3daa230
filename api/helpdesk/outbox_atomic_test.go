package helpdesk_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// refuseOutboxWrites makes every insert into this test's outbox table fail
// until the returned function drops the trigger again.
func (e *env) refuseOutboxWrites() (allow func()) {
	e.t.Helper()
	ctx := context.Background()
	for _, sql := range []string{
		`CREATE FUNCTION refuse_outbox_writes() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'outbox refuses writes (test)'; END $$`,
		`CREATE TRIGGER refuse_outbox_writes BEFORE INSERT ON outbox
			FOR EACH ROW EXECUTE FUNCTION refuse_outbox_writes()`,
	} {
		if _, err := e.pool.Exec(ctx, sql); err != nil {
			e.t.Fatal(err)
		}
	}
	dropped := false
	allow = func() {
		if dropped {
			return
		}
		dropped = true
		if _, err := e.pool.Exec(ctx, `DROP TRIGGER refuse_outbox_writes ON outbox; DROP FUNCTION refuse_outbox_writes()`); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Cleanup(allow)
	return allow
}

// failed checks that r is a 5xx problem document.
func (r response) failed(t testing.TB) {
	t.Helper()
	if r.status < 500 {
		t.Fatalf("status = %d, want 5xx; body %s", r.status, r.body)
	}
	r.problem(t, r.status)
}

// TestTickets_ChangeAndItsEventCommitTogether proves that every ticket
// write shares its transaction with its outbox row: with the outbox
// refusing rows, opening a ticket, a person's edit and the workflow
// engine's state change each fail as a whole, leaving no ticket, history
// entry or applied change behind; with the outbox back, the same requests
// write both.
func TestTickets_ChangeAndItsEventCommitTogether(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw := e.category("Hardware")
	tk := e.ticket(ana, hw, "Laptop")

	create := map[string]string{"title": "Printer", "category_id": hw.ID}
	patch := map[string]any{"priority": "urgent"}
	state := map[string]any{"change_id": "c1", "step": "triage", "status": "open", "assignee_id": agent.id}
	statePath := "/helpdesk/internal/tickets/" + tk.ID + "/state"

	before := e.rows()
	allow := e.refuseOutboxWrites()
	e.do("POST", "/helpdesk/tickets", ana.token, create).failed(t)
	e.unchanged(before)
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, agent.token, patch).failed(t)
	e.unchanged(before)
	e.do("PUT", statePath, e.service, state).failed(t)
	e.unchanged(before)
	var got helpdesk.Ticket
	e.do("GET", "/helpdesk/tickets/"+tk.ID, agent.token, nil).ok(t, http.StatusOK, &got)
	if got.Priority != helpdesk.PriorityNormal || got.Step != helpdesk.StepNew || got.AssigneeID != nil {
		t.Fatalf("ticket changed without its event: %+v", got)
	}

	// The same requests succeed once the outbox takes rows again, each
	// writing its change and its event: nothing above was refused for
	// another reason.
	allow()
	e.do("POST", "/helpdesk/tickets", ana.token, create).ok(t, http.StatusCreated, nil)
	e.do("PATCH", "/helpdesk/tickets/"+tk.ID, agent.token, patch).ok(t, http.StatusOK, nil)
	e.do("PUT", statePath, e.service, state).ok(t, http.StatusOK, nil)
	after := e.rows()
	if after.tickets != before.tickets+1 || after.outbox != before.outbox+3 || after.changes != before.changes+1 ||
		after.history != before.history+1+1+3 {
		t.Fatalf("rows after the outbox came back: %+v (before %+v)", after, before)
	}
}
