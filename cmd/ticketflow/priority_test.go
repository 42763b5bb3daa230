package main

import (
	"context"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// An agent raising a ticket's priority in the helpdesk tightens the SLA of
// its running workflow: the helpdesk's ticket.updated reaches the workflow,
// which re-plans its clocks under the urgent policy, and the priority is
// not written back and forth.
func TestPipeline_RaisingThePriorityTightensTheSLA(t *testing.T) {
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	id := d.open(t, emp, "Payroll server down")
	d.waitForAssignee(t, emp, id)

	type view struct {
		Priority string `json:"priority"`
		SLA      struct {
			FirstResponseDue *time.Time `json:"first_response_due"`
			ResolutionDue    *time.Time `json:"resolution_due"`
		} `json:"sla"`
	}
	var before view
	d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &before)
	if before.Priority != "normal" || before.SLA.FirstResponseDue == nil || before.SLA.ResolutionDue == nil {
		t.Fatalf("before: %+v", before)
	}

	d.agent.call("PATCH", "/helpdesk/tickets/"+id, map[string]string{"priority": "urgent"}, 200, nil)

	var after view
	eventually(t, 30*time.Second, "the workflow on the urgent priority", func() bool {
		d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &after)
		return after.Priority == "urgent"
	})
	// The default policies: normal answers in 8 h, urgent in 1 h.
	urgent, normal := workflows.DefaultSLAPolicy("urgent"), workflows.DefaultSLAPolicy("normal")
	if urgent.FirstResponseSeconds >= normal.FirstResponseSeconds {
		t.Fatalf("default policies: urgent first response %d s, normal %d s", urgent.FirstResponseSeconds, normal.FirstResponseSeconds)
	}
	if after.SLA.FirstResponseDue == nil || !after.SLA.FirstResponseDue.Before(*before.SLA.FirstResponseDue) {
		t.Fatalf("first response due %v, want earlier than %v", after.SLA.FirstResponseDue, before.SLA.FirstResponseDue)
	}
	if after.SLA.ResolutionDue == nil || !after.SLA.ResolutionDue.Before(*before.SLA.ResolutionDue) {
		t.Fatalf("resolution due %v, want earlier than %v", after.SLA.ResolutionDue, before.SLA.ResolutionDue)
	}
	// With business hours the due time is not opening + budget; without,
	// it is at most the urgent budget from now.
	if !urgent.BusinessHours {
		if limit := time.Now().Add(time.Duration(urgent.FirstResponseSeconds) * time.Second); after.SLA.FirstResponseDue.After(limit) {
			t.Fatalf("first response due %v, later than the urgent budget from now (%v)", after.SLA.FirstResponseDue, limit)
		}
	}

	// The run's search attribute follows.
	ctx := context.Background()
	tc, err := temporalx.Dial(ctx, testenv.TemporalAddress(), "default", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	desc, err := tc.DescribeWorkflow(ctx, workflows.TicketWorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := desc.TypedSearchAttributes.GetKeyword(temporalx.TicketPriority); got != "urgent" {
		t.Fatalf("TicketPriority search attribute %q, want urgent", got)
	}

	// The board the agents read follows too.
	var board struct {
		Columns []struct {
			Tickets []struct {
				TicketID         string     `json:"ticket_id"`
				Priority         string     `json:"priority"`
				FirstResponseDue *time.Time `json:"first_response_due"`
			} `json:"tickets"`
		} `json:"columns"`
	}
	d.agent.call("GET", "/workflow/board?category_id="+d.category, nil, 200, &board)
	onBoard := false
	for _, col := range board.Columns {
		for _, row := range col.Tickets {
			// (PostgreSQL keeps microseconds.)
			if row.TicketID == id {
				onBoard = true
				if row.Priority != "urgent" || row.FirstResponseDue == nil || row.FirstResponseDue.Sub(*after.SLA.FirstResponseDue).Abs() > time.Millisecond {
					t.Fatalf("board row: priority %s, first response due %v; want urgent, %v", row.Priority, row.FirstResponseDue, after.SLA.FirstResponseDue)
				}
			}
		}
	}
	if !onBoard {
		t.Fatal("the ticket is not on the board")
	}

	// The run's next write to the helpdesk (a transition) leaves the
	// priority alone; nothing went back to the helpdesk: one priority
	// change in its history, and the ticket still urgent.
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": workflows.StepInProgress}, 200, nil)
	time.Sleep(time.Second)
	var tk struct {
		Priority string `json:"priority"`
	}
	d.agent.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
	var history struct {
		Items []struct {
			Field string `json:"field"`
		} `json:"items"`
	}
	d.agent.call("GET", "/helpdesk/tickets/"+id+"/history", nil, 200, &history)
	changes := 0
	for _, h := range history.Items {
		if h.Field == "priority" {
			changes++
		}
	}
	if tk.Priority != "urgent" || changes != 1 {
		t.Fatalf("helpdesk: priority %s after %d priority changes, want urgent after 1", tk.Priority, changes)
	}
	recordHistory(t, id)
}
