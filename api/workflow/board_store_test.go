package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/workflows"
)

func ticketRow(category, title, priority, status string, at time.Time) workflow.TicketRow {
	return workflow.TicketRow{
		TicketID: uuid.NewString(), CategoryID: category, Title: title, Priority: priority,
		Step: "triage", Status: status, RequesterID: uuid.NewString(), UpdatedAt: at,
	}
}

func titles(rows []workflow.TicketRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Title
	}
	return out
}

func TestBoard_MostUrgentFirstThenOldestWithoutClosed(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	hardware, software := uuid.NewString(), uuid.NewString()
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	rows := []workflow.TicketRow{
		ticketRow(hardware, "low old", "low", workflows.StatusOpen, t0),
		ticketRow(hardware, "urgent new", "urgent", workflows.StatusOpen, t0.Add(3*time.Minute)),
		ticketRow(hardware, "urgent old", "urgent", workflows.StatusNew, t0.Add(time.Minute)),
		ticketRow(hardware, "normal", "normal", workflows.StatusPending, t0.Add(2*time.Minute)),
		ticketRow(hardware, "high closed", "high", workflows.StatusClosed, t0),
		ticketRow(software, "software high", "high", workflows.StatusResolved, t0.Add(4*time.Minute)),
	}
	for _, r := range rows {
		if err := e.store.UpsertTicket(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// An update later in life does not make a ticket younger.
	rows[2].Step, rows[2].Status, rows[2].UpdatedAt = "in_progress", workflows.StatusOpen, t0.Add(10*time.Minute)
	if err := e.store.UpsertTicket(ctx, rows[2]); err != nil {
		t.Fatal(err)
	}

	board, err := e.store.Board(ctx, hardware)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"urgent old", "urgent new", "normal", "low old"}
	if got := titles(board); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("board = %v, want %v", got, want)
	}
	all, err := e.store.Board(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := titles(all); len(got) != 5 || got[2] != "software high" {
		t.Fatalf("board of all categories = %v", got)
	}
	if _, err := e.store.Board(ctx, "hardware"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("Board with a malformed category: %v, want invalid", err)
	}
	if empty, err := e.store.Board(ctx, uuid.NewString()); err != nil || len(empty) != 0 {
		t.Fatalf("board of an empty category = %v, %v", empty, err)
	}
}

func TestUpsertTicket_OlderRecordNeverOverwritesNewer(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	due := t0.Add(time.Hour)
	row := ticketRow(uuid.NewString(), "Printer on fire", "high", workflows.StatusOpen, t0)
	row.TeamID = uuid.NewString()
	row.FirstResponseDue = &due
	if err := e.store.UpsertTicket(ctx, row); err != nil {
		t.Fatal(err)
	}
	newer := row
	newer.AssigneeID, newer.Step, newer.SLABreached, newer.UpdatedAt = uuid.NewString(), "in_progress", true, t0.Add(time.Minute)
	newer.FirstResponseDue, newer.ResolutionDue = nil, &due
	if err := e.store.UpsertTicket(ctx, newer); err != nil {
		t.Fatal(err)
	}
	// The first record again, as a retried activity would send it.
	if err := e.store.UpsertTicket(ctx, row); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Ticket(ctx, row.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AssigneeID != newer.AssigneeID || got.Step != "in_progress" || !got.SLABreached ||
		got.FirstResponseDue != nil || got.ResolutionDue == nil || !got.ResolutionDue.Equal(due) ||
		!got.UpdatedAt.Equal(newer.UpdatedAt) || got.TeamID != row.TeamID || got.RequesterID != row.RequesterID {
		t.Fatalf("ticket = %+v, want the newer record %+v", got, newer)
	}
	// Unassigning is a change like any other.
	newest := newer
	newest.AssigneeID, newest.UpdatedAt = "", t0.Add(2*time.Minute)
	if err := e.store.UpsertTicket(ctx, newest); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.Ticket(ctx, row.TicketID); got.AssigneeID != "" {
		t.Fatalf("assignee = %q, want none", got.AssigneeID)
	}
}

func TestTicket_UnknownOrMalformedIsNotFound(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	for _, id := range []string{uuid.NewString(), "ticket-1", ""} {
		if _, err := e.store.Ticket(ctx, id); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("Ticket(%q): %v, want not found", id, err)
		}
	}
	bad := ticketRow("not-a-category", "Bad", "low", workflows.StatusOpen, time.Now())
	if err := e.store.UpsertTicket(ctx, bad); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("UpsertTicket with a malformed category: %v, want invalid", err)
	}
	noTime := ticketRow(uuid.NewString(), "No time", "low", workflows.StatusOpen, time.Time{})
	if err := e.store.UpsertTicket(ctx, noTime); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("UpsertTicket without updated_at: %v, want invalid", err)
	}
}
