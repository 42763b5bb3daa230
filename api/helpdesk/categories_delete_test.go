package helpdesk_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
)

func TestCategories_DeleteOnlyWhenUnused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("Admin", authn.RoleAdmin)
	agent := e.user("Agent", authn.RoleAgent)
	ana := e.user("Ana", authn.RoleEmployee)

	// A category created by mistake goes away, and its name is free again.
	typo := e.category("Hardwre")
	e.do("DELETE", "/helpdesk/categories/"+typo.ID, admin.token, nil).ok(t, http.StatusNoContent, nil)
	e.do("GET", "/helpdesk/categories/"+typo.ID, admin.token, nil).problem(t, http.StatusNotFound)
	e.do("DELETE", "/helpdesk/categories/"+typo.ID, admin.token, nil).problem(t, http.StatusNotFound)
	e.category("Hardwre")

	// A category with a ticket stays, answered 409 pointing to archiving.
	hw := e.category("Hardware")
	tk := e.ticket(ana, hw, "Laptop")
	before := e.rows()
	p := e.do("DELETE", "/helpdesk/categories/"+hw.ID, admin.token, nil).problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, `"active": false`) {
		t.Errorf("409 does not say how to archive: %+v", p)
	}
	e.unchanged(before)

	// Archived, it is still not deleted: the ticket keeps its category.
	var got helpdesk.Category
	e.do("PATCH", "/helpdesk/categories/"+hw.ID, admin.token, map[string]any{"active": false}).ok(t, http.StatusOK, &got)
	e.do("DELETE", "/helpdesk/categories/"+hw.ID, admin.token, nil).problem(t, http.StatusConflict)
	e.do("GET", "/helpdesk/categories/"+hw.ID, ana.token, nil).ok(t, http.StatusOK, &got)
	if got.Name != "Hardware" || got.Active {
		t.Fatalf("archived category = %+v", got)
	}

	// A category no ticket is filed in any more, but whose name a ticket's
	// history shows, stays too.
	net := e.category("Network")
	moved := e.ticket(ana, net, "Wi-Fi")
	e.do("PATCH", "/helpdesk/tickets/"+moved.ID, agent.token, map[string]any{"category_id": e.category("Printers").ID}).ok(t, http.StatusOK, nil)
	if n := e.count(`SELECT count(*) FROM tickets WHERE category_id = $1`, net.ID); n != 0 {
		t.Fatalf("tickets still in Network: %d", n)
	}
	e.do("DELETE", "/helpdesk/categories/"+net.ID, admin.token, nil).problem(t, http.StatusConflict)

	// Who may delete, and how unknown and malformed IDs are answered.
	spare := e.category("Spare")
	before = e.rows()
	for _, c := range []struct {
		name, id, token string
		status          int
	}{
		{"employee", spare.ID, ana.token, http.StatusForbidden},
		{"agent", spare.ID, agent.token, http.StatusForbidden},
		{"service", spare.ID, e.service, http.StatusForbidden},
		{"no token", spare.ID, "", http.StatusUnauthorized},
		{"unknown id", uuid.NewString(), admin.token, http.StatusNotFound},
		// Like every other route: a malformed ID is an unknown one.
		{"malformed id", "spare", admin.token, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.do("DELETE", "/helpdesk/categories/"+c.id, c.token, nil).problem(t, c.status)
		})
	}
	e.unchanged(before)
	if tk2 := e.do("GET", "/helpdesk/tickets/"+tk.ID, ana.token, nil); tk2.status != http.StatusOK {
		t.Fatalf("ticket after the refused deletes: %d %s", tk2.status, tk2.body)
	}
}

// TestCategories_DeleteRacingATicketIsAConflict files a ticket in a
// category in a transaction that commits only once the DELETE waits on
// it: the DELETE's own check ran before the ticket existed, and the
// foreign key then refuses it. The answer is 409, not 500, and the
// category stays.
func TestCategories_DeleteRacingATicketIsAConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("Admin", authn.RoleAdmin)
	ana := e.user("Ana", authn.RoleEmployee)
	c := e.category("Racy")

	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var txPID int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&txPID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tickets (id, title, status, priority, category_id, requester_id, step)
		VALUES ($1, 'Racing', 'new', 'normal', $2, $3, 'new')`, uuid.NewString(), c.ID, ana.id); err != nil {
		t.Fatal(err)
	}

	answered := make(chan response, 1)
	go func() { answered <- e.do("DELETE", "/helpdesk/categories/"+c.ID, admin.token, nil) }()
	// Wait until the DELETE is blocked on the uncommitted ticket.
	for blocked := 0; blocked == 0; {
		select {
		case r := <-answered:
			t.Fatalf("DELETE answered %d %s while a ticket in the category was being filed", r.status, r.body)
		case <-time.After(20 * time.Millisecond):
		}
		blocked = e.count(`SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`, txPID)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	(<-answered).problem(t, http.StatusConflict)
	e.do("GET", "/helpdesk/categories/"+c.ID, admin.token, nil).ok(t, http.StatusOK, nil)
}
