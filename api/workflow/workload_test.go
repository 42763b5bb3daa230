package workflow_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// setStrategy and setCapacity configure a team through the store.
func (e *adminEnv) setStrategy(team, strategy string) {
	e.t.Helper()
	if _, err := e.store.UpdateTeam(context.Background(), team, workflow.TeamPatch{Strategy: &strategy}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *adminEnv) setCapacity(team, user string, capacity int) {
	e.t.Helper()
	if _, _, err := e.store.SetCapacity(context.Background(), team, user, &capacity); err != nil {
		e.t.Fatal(err)
	}
}

// bigStore is a store with a pool large enough for assignments to really
// overlap.
func (e *adminEnv) bigStore() *workflow.Store {
	e.t.Helper()
	pool, err := postgres.Open(context.Background(), testenv.DatabaseURL(), e.schema, 16)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(pool.Close)
	return workflow.NewStore(pool)
}

// assignConcurrently assigns n new tickets to the team at once and returns
// the agent of each ("" for none).
func assignConcurrently(t *testing.T, store *workflow.Store, team string, n int) []string {
	t.Helper()
	ctx := context.Background()
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			ticket := uuid.NewString()
			var a workflow.Assignment
			a, errs[i] = store.AssignTicket(ctx, team, ticket, ticket+"/1")
			got[i] = a.AgentID
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("assignment %d: %v", i, err)
		}
	}
	return got
}

func TestAssignTicket_FewestOpenStaysBalancedUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	team := e.team("Balanced")
	e.setStrategy(team, workflow.StrategyFewestOpen)
	agents := map[string]int{}
	var ids []string
	for i := range 4 {
		id := e.user(fmt.Sprintf("Agent %d", i), authn.RoleAgent)
		e.member(team, id, true)
		agents[id] = 0
		ids = append(ids, id)
	}
	// One agent starts with 40 open tickets (from another team): the first
	// 120 tickets go to the other three, then all four share.
	other := e.team("Elsewhere")
	e.member(other, ids[0], true)
	ctx := context.Background()
	for range 40 {
		if _, err := e.store.SyncOpenTicket(ctx, uuid.NewString(), ids[0], "open"); err != nil {
			t.Fatal(err)
		}
	}
	got := assignConcurrently(t, e.bigStore(), team, 1000)
	for i, id := range got {
		if _, ok := agents[id]; !ok {
			t.Fatalf("assignment %d went to %q, not a member", i, id)
		}
		agents[id]++
	}
	// Workloads end within one of each other: 1040 over 4 is 260 each.
	for id, c := range agents {
		load := c
		if id == ids[0] {
			load += 40
		}
		if load != 260 {
			t.Errorf("agent %s has %d open tickets, want 260 (new ones: %v)", id, load, agents)
		}
	}
	open, err := e.store.OpenTickets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if open[id] != 260 {
			t.Errorf("OpenTickets[%s] = %d, want 260", id, open[id])
		}
	}
}

func TestAssignTicket_NoAgentExceedsCapacityUnderConcurrency(t *testing.T) {
	t.Parallel()
	for _, strategy := range []string{workflow.StrategyRoundRobin, workflow.StrategyFewestOpen} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			e := newAdminEnv(t)
			team := e.team("Limited " + strategy)
			e.setStrategy(team, strategy)
			capacities := map[string]int{}
			for i, c := range []int{300, 300, 250, 50} {
				id := e.user(fmt.Sprintf("Agent %d", i), authn.RoleAgent)
				e.member(team, id, true)
				e.setCapacity(team, id, c)
				capacities[id] = c
			}
			// A second team shares the smallest member (with the same
			// capacity there), assigning at the same time: the capacity
			// holds for their open tickets in both teams together.
			var small string
			for id, c := range capacities {
				if c == 50 {
					small = id
				}
			}
			shared := e.team("Shared " + strategy)
			e.member(shared, small, true)
			e.setCapacity(shared, small, 50)
			store := e.bigStore()
			var (
				wg          sync.WaitGroup
				got, others []string
			)
			wg.Go(func() { got = assignConcurrently(t, store, team, 1000) })
			wg.Go(func() { others = assignConcurrently(t, store, shared, 100) })
			wg.Wait()
			counts := map[string]int{}
			none := 0
			for _, id := range append(got, others...) {
				if id == "" {
					none++
					continue
				}
				counts[id]++
			}
			for id, c := range counts {
				if c > capacities[id] {
					t.Errorf("agent %s got %d tickets over a capacity of %d", id, c, capacities[id])
				}
			}
			// 900 places for 1,100 tickets: every place taken, the rest wait.
			if total := len(got) + len(others) - none; total != 900 || none != 200 {
				t.Errorf("assigned %d, unassigned %d; want 900 and 200 (%v)", total, none, counts)
			}
			if n := e.count(`SELECT count(*) FROM open_tickets`); n != 900 {
				t.Errorf("open tickets = %d, want 900", n)
			}
		})
	}
}

func TestAssignTicket_FullTeamWaitsUntilATicketIsResolved(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	team := e.team("Full")
	a, b := e.user("Agent A", authn.RoleAgent), e.user("Agent B", authn.RoleAgent)
	for _, id := range []string{a, b} {
		e.member(team, id, true)
		e.setCapacity(team, id, 1)
	}
	t1, t2, t3 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	first, err := e.store.AssignTicket(ctx, team, t1, t1+"/1")
	if err != nil || first.AgentID == "" {
		t.Fatalf("first = %+v, %v", first, err)
	}
	second, _ := e.store.AssignTicket(ctx, team, t2, t2+"/1")
	if second.AgentID == "" || second.AgentID == first.AgentID {
		t.Fatalf("second = %+v, want the other agent", second)
	}
	third, err := e.store.AssignTicket(ctx, team, t3, t3+"/1")
	if err != nil || third.AgentID != "" {
		t.Fatalf("third = %+v, %v; want nobody (team full)", third, err)
	}
	// Retrying the same key does not change the answer or count twice.
	if again, _ := e.store.AssignTicket(ctx, team, t1, t1+"/1"); again.AgentID != first.AgentID {
		t.Fatalf("retry = %+v", again)
	}
	if err := e.store.MarkWaiting(ctx, t3, team); err != nil {
		t.Fatal(err)
	}
	// Still open after a move into progress: nothing is freed.
	if freed, err := e.store.SyncOpenTicket(ctx, t1, first.AgentID, "open"); err != nil || freed != "" {
		t.Fatalf("sync open = %q, %v", freed, err)
	}
	// Resolving frees the agent, whose teams' waiting tickets are listed.
	freed, err := e.store.SyncOpenTicket(ctx, t1, first.AgentID, "resolved")
	if err != nil || freed != first.AgentID {
		t.Fatalf("sync resolved = %q, %v; want %s", freed, err, first.AgentID)
	}
	waiting, err := e.store.WaitingForAgent(ctx, freed, 10)
	if err != nil || len(waiting) != 1 || waiting[0] != t3 {
		t.Fatalf("waiting for %s = %v, %v; want [%s]", freed, waiting, err, t3)
	}
	got, err := e.store.AssignTicket(ctx, team, t3, t3+"/2")
	if err != nil || got.AgentID != first.AgentID {
		t.Fatalf("after resolution = %+v, %v; want %s", got, err, first.AgentID)
	}
	// A reopened ticket goes back to its agent even over capacity.
	if freed, err := e.store.SyncOpenTicket(ctx, t1, first.AgentID, "open"); err != nil || freed != "" {
		t.Fatalf("reopen = %q, %v", freed, err)
	}
	if n := e.count(`SELECT count(*) FROM open_tickets WHERE agent_id = $1`, first.AgentID); n != 2 {
		t.Fatalf("open tickets of %s = %d, want 2", first.AgentID, n)
	}
	// Reassigning moves the ticket and frees the old agent.
	if freed, err := e.store.SyncOpenTicket(ctx, t2, first.AgentID, "open"); err != nil || freed != second.AgentID {
		t.Fatalf("reassign = %q, %v; want %s", freed, err, second.AgentID)
	}
	// Raising a capacity makes room at once.
	e.setCapacity(team, first.AgentID, 5)
	t4 := uuid.NewString()
	if got, _ := e.store.AssignTicket(ctx, team, t4, t4+"/1"); got.AgentID == "" {
		t.Fatal("no agent after capacities were raised and one was freed")
	}
	if _, err := e.store.SyncOpenTicket(ctx, "nope", a, "open"); err == nil {
		t.Fatal("SyncOpenTicket accepted a malformed ticket ID")
	}
}

func TestTeams_StrategyAndCapacityThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, _, _ := e.staff()
	team := e.team("Configurable")
	me := e.user("Me Agent", authn.RoleAgent)
	myToken := e.token(me, authn.RoleAgent)
	teamPath := "/workflow/teams/" + team
	memberPath := teamPath + "/members/" + me

	var got workflow.Team
	e.do("GET", teamPath, admin, nil).want(t, http.StatusOK, &got)
	if got.Strategy != workflow.StrategyRoundRobin {
		t.Fatalf("default strategy = %q", got.Strategy)
	}
	e.do("PATCH", teamPath, admin, map[string]any{"strategy": "fewest_open"}).want(t, http.StatusOK, &got)
	if got.Strategy != workflow.StrategyFewestOpen || got.Name != "Configurable" {
		t.Fatalf("after PATCH = %+v", got)
	}
	var m workflow.Member
	e.do("PUT", memberPath, admin, map[string]any{"available": true, "capacity": 3}).want(t, http.StatusCreated, &m)
	if m.Capacity == nil || *m.Capacity != 3 || m.OpenTickets != 0 {
		t.Fatalf("member = %+v", m)
	}
	// Left out, the capacity stays; null removes it.
	e.do("PUT", memberPath, admin, map[string]any{"available": false}).want(t, http.StatusOK, &m)
	if m.Capacity == nil || *m.Capacity != 3 || m.Available {
		t.Fatalf("member after availability change = %+v", m)
	}
	e.do("PUT", memberPath, admin, `{"available": true, "capacity": null}`).want(t, http.StatusOK, &m)
	if m.Capacity != nil {
		t.Fatalf("member after capacity null = %+v", m)
	}
	e.do("GET", teamPath, admin, nil).want(t, http.StatusOK, &got)
	if len(got.Members) != 1 || got.Members[0].Capacity != nil || got.Strategy != workflow.StrategyFewestOpen {
		t.Fatalf("team = %+v", got)
	}

	// Bad values: 422 and nothing changes.
	for _, body := range []string{
		`{"strategy": "random"}`, `{"strategy": ""}`, `{"strategy": "FEWEST_OPEN"}`,
	} {
		e.do("PATCH", teamPath, admin, body).problem(t, http.StatusUnprocessableEntity, "strategy")
	}
	e.do("PATCH", teamPath, admin, `{"strategy": 7}`).problem(t, http.StatusBadRequest, "")
	for _, body := range []string{
		`{"available": true, "capacity": 0}`, `{"available": true, "capacity": -1}`,
		`{"available": true, "capacity": 10001}`, `{"available": true, "capacity": 2.5}`,
		`{"available": true, "capacity": "5"}`, `{"available": true, "capacity": true}`,
		`{"available": true, "capacity": 1e3}`,
	} {
		e.do("PUT", memberPath, admin, body).problem(t, http.StatusUnprocessableEntity, "capacity")
	}
	// A bad capacity for a new member adds nobody.
	stranger := e.user("Stranger Agent", authn.RoleAgent)
	e.do("PUT", teamPath+"/members/"+stranger, admin, `{"available": true, "capacity": 0}`).
		problem(t, http.StatusUnprocessableEntity, "capacity")
	e.do("GET", teamPath, admin, nil).want(t, http.StatusOK, &got)
	if len(got.Members) != 1 || got.Members[0].Capacity != nil || !got.Members[0].Available || got.Strategy != workflow.StrategyFewestOpen {
		t.Fatalf("team after bad requests = %+v", got)
	}
	// Agents set their availability, never their capacity or the strategy.
	e.do("PUT", memberPath, myToken, map[string]any{"available": true, "capacity": 100}).problem(t, http.StatusForbidden, "")
	e.do("PATCH", teamPath, myToken, map[string]any{"strategy": "round_robin"}).problem(t, http.StatusForbidden, "")
	e.do("PUT", memberPath, myToken, map[string]any{"available": true}).want(t, http.StatusOK, &m)
	if m.Capacity != nil {
		t.Fatalf("agent's own change touched the capacity: %+v", m)
	}
}

func TestTeams_RaisingCapacityOrChangingStrategySignalsWaitingTickets(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	admin, _, _ := e.staff()
	team := e.team("Signals")
	me := e.user("Busy Agent", authn.RoleAgent)
	e.member(team, me, true)
	e.setCapacity(team, me, 1)
	waiting := uuid.NewString()
	if err := e.store.MarkWaiting(ctx, waiting, team); err != nil {
		t.Fatal(err)
	}
	want := workflows.TicketWorkflowID(waiting) + " " + workflows.SignalAgentAvailable
	memberPath := "/workflow/teams/" + team + "/members/" + me
	// Lowering changes nothing for the waiting.
	e.do("PUT", memberPath, admin, `{"available": true, "capacity": 1}`).want(t, http.StatusOK, nil)
	if got := e.temporal.sent(); len(got) != 0 {
		t.Fatalf("signals = %v, want none", got)
	}
	e.do("PUT", memberPath, admin, `{"available": true, "capacity": 2}`).want(t, http.StatusOK, nil)
	if got := e.temporal.sent(); len(got) != 1 || got[0] != want {
		t.Fatalf("signals = %v, want [%s]", got, want)
	}
	e.do("PATCH", "/workflow/teams/"+team, admin, `{"strategy": "fewest_open"}`).want(t, http.StatusOK, nil)
	if got := e.temporal.sent(); len(got) != 1 || got[0] != want {
		t.Fatalf("signals = %v, want [%s]", got, want)
	}
}
