package workflow_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

func TestAssignNext_ExactlyFairUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	team := e.team("Fairness")
	agents := map[string]int{}
	for i := range 4 {
		id := e.user(fmt.Sprintf("Agent %d", i), authn.RoleAgent)
		e.member(team, id, true)
		agents[id] = 0
	}
	// A bigger pool on the same schema, so assignments really overlap.
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testenv.DatabaseURL(), e.schema, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := workflow.NewStore(pool)

	const n = 1000
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = store.AssignNext(ctx, team, fmt.Sprintf("ticket-%d/1", i))
		})
	}
	close(start)
	wg.Wait()
	for i, id := range got {
		if errs[i] != nil {
			t.Fatalf("assignment %d: %v", i, errs[i])
		}
		if _, ok := agents[id]; !ok {
			t.Fatalf("assignment %d went to %q, not a member", i, id)
		}
		agents[id]++
	}
	for id, c := range agents {
		if c != n/4 {
			t.Errorf("agent %s got %d tickets, want %d (all: %v)", id, c, n/4, agents)
		}
	}
	if pos := e.count(`SELECT position FROM team_cursors WHERE team_id = $1`, team); pos != n {
		t.Errorf("cursor = %d, want %d", pos, n)
	}
	if rows := e.count(`SELECT count(*) FROM assignments`); rows != n {
		t.Errorf("assignments recorded = %d, want %d", rows, n)
	}
}

func TestAssignNext_SkipsUnavailableInactiveAndNonAgentMembers(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	team := e.team("Skipping")
	agent := e.user("Available Agent", authn.RoleAgent)
	admin := e.user("Available Admin", authn.RoleAdmin)
	away := e.user("Away Agent", authn.RoleAgent)
	gone := e.user("Deactivated Agent", authn.RoleAgent)
	demoted := e.user("Demoted Agent", authn.RoleAgent)
	for _, id := range []string{agent, admin, gone, demoted} {
		e.member(team, id, true)
	}
	e.member(team, away, false)
	e.changeUser(gone, "Deactivated Agent", authn.RoleAgent, false)
	e.changeUser(demoted, "Demoted Agent", authn.RoleEmployee, true)

	counts := map[string]int{}
	for i := range 6 {
		id, err := e.store.AssignNext(ctx, team, fmt.Sprintf("t%d/1", i))
		if err != nil {
			t.Fatal(err)
		}
		counts[id]++
	}
	if counts[agent] != 3 || counts[admin] != 3 || len(counts) != 2 {
		t.Fatalf("assignments = %v, want 3 each to %s and %s only", counts, agent, admin)
	}
	// A member who comes back joins the rotation.
	if _, err := e.store.SetAvailability(ctx, team, away, true); err != nil {
		t.Fatal(err)
	}
	counts = map[string]int{}
	for i := range 9 {
		id, err := e.store.AssignNext(ctx, team, fmt.Sprintf("u%d/1", i))
		if err != nil {
			t.Fatal(err)
		}
		counts[id]++
	}
	if counts[agent] != 3 || counts[admin] != 3 || counts[away] != 3 {
		t.Fatalf("assignments after return = %v, want 3 each", counts)
	}
}

func TestAssignNext_NobodyAvailableReturnsEmptyAndLeavesCursor(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	team := e.team("Empty")
	e.member(team, e.user("Away", authn.RoleAgent), false)
	for _, teamID := range []string{team, "", uuid.NewString()} {
		id, err := e.store.AssignNext(ctx, teamID, "ticket/1")
		if err != nil || id != "" {
			t.Fatalf("AssignNext(%q) = %q, %v; want \"\", nil", teamID, id, err)
		}
	}
	if pos := e.count(`SELECT position FROM team_cursors WHERE team_id = $1`, team); pos != 0 {
		t.Fatalf("cursor = %d, want 0", pos)
	}
	if n := e.count(`SELECT count(*) FROM assignments`); n != 0 {
		t.Fatalf("assignments = %d, want 0", n)
	}
	if _, err := e.store.AssignNext(ctx, "not-a-uuid", "ticket/1"); err == nil {
		t.Fatal("AssignNext with a malformed team ID succeeded")
	}
}

func TestAssignNext_SameKeyGivesSameAgentOnce(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	team := e.team("Idempotent")
	for _, name := range []string{"One", "Two", "Three"} {
		e.member(team, e.user(name, authn.RoleAgent), true)
	}
	first, err := e.store.AssignNext(ctx, team, "ticket-a/1")
	if err != nil || first == "" {
		t.Fatalf("first assignment = %q, %v", first, err)
	}
	// Retries, some of them concurrent, all get the same answer.
	var wg sync.WaitGroup
	results := make([]string, 20)
	for i := range results {
		wg.Go(func() {
			id, err := e.store.AssignNext(ctx, team, "ticket-a/1")
			if err != nil {
				t.Error(err)
			}
			results[i] = id
		})
	}
	wg.Wait()
	for i, id := range results {
		if id != first {
			t.Fatalf("retry %d got %q, want %q", i, id, first)
		}
	}
	if pos := e.count(`SELECT position FROM team_cursors WHERE team_id = $1`, team); pos != 1 {
		t.Fatalf("cursor = %d after retries, want 1", pos)
	}
	// A first assignment racing itself is also recorded once.
	results = make([]string, 10)
	for i := range results {
		wg.Go(func() {
			id, err := e.store.AssignNext(ctx, team, "ticket-b/1")
			if err != nil {
				t.Error(err)
			}
			results[i] = id
		})
	}
	wg.Wait()
	for _, id := range results {
		if id != results[0] || id == "" {
			t.Fatalf("concurrent first assignments disagree: %v", results)
		}
	}
	if results[0] == first {
		t.Fatalf("the next key got the same agent %s: the cursor did not move", first)
	}
	if pos := e.count(`SELECT position FROM team_cursors WHERE team_id = $1`, team); pos != 2 {
		t.Fatalf("cursor = %d, want 2", pos)
	}
}

func TestIsAssignable_OnlyActiveAgentsAndAdmins(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	agent := e.user("Agent", authn.RoleAgent)
	admin := e.user("Admin", authn.RoleAdmin)
	employee := e.user("Employee", authn.RoleEmployee)
	inactive := e.user("Inactive", authn.RoleAgent)
	e.changeUser(inactive, "Inactive", authn.RoleAgent, false)
	for id, want := range map[string]bool{
		agent: true, admin: true, employee: false, inactive: false,
		uuid.NewString(): false, "not-a-uuid": false, "": false,
	} {
		got, err := e.store.IsAssignable(ctx, id)
		if err != nil || got != want {
			t.Errorf("IsAssignable(%q) = %v, %v; want %v", id, got, err, want)
		}
	}
}

func TestWaitingTickets_MarkedUntilCleared(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	team, other := uuid.NewString(), uuid.NewString()
	tickets := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	for _, id := range tickets {
		if err := e.store.MarkWaiting(ctx, id, team); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct "since"
	}
	elsewhere := uuid.NewString()
	if err := e.store.MarkWaiting(ctx, elsewhere, other); err != nil {
		t.Fatal(err)
	}
	// Marking again keeps the ticket's place in line.
	if err := e.store.MarkWaiting(ctx, tickets[0], team); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.WaitingTickets(ctx, team)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(tickets) {
		t.Fatalf("waiting = %v, want %v (longest waiting first)", got, tickets)
	}
	if err := e.store.ClearWaiting(ctx, tickets[1]); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ClearWaiting(ctx, uuid.NewString()); err != nil {
		t.Fatalf("clearing a ticket that was not waiting: %v", err)
	}
	got, _ = e.store.WaitingTickets(ctx, team)
	if fmt.Sprint(got) != fmt.Sprint([]string{tickets[0], tickets[2]}) {
		t.Fatalf("waiting after clear = %v", got)
	}
	if got, _ := e.store.WaitingTickets(ctx, other); len(got) != 1 || got[0] != elsewhere {
		t.Fatalf("other team's waiting = %v", got)
	}
	if err := e.store.MarkWaiting(ctx, "nope", team); err == nil {
		t.Fatal("MarkWaiting accepted a malformed ticket ID")
	}
}
