package workflow_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/internal/events"
)

func TestPublishEvent_SameEventIDIsWrittenOnce(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	ticket := uuid.NewString()
	ev, err := events.New("/workflow", events.TicketAssigned, ticket, map[string]string{"ticket_id": ticket, "assignee_id": uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := e.store.PublishEvent(ctx, ev); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE event_id = $1`, ev.ID); n != 1 {
		t.Fatalf("outbox rows = %d, want 1", n)
	}
	other, _ := events.New("/workflow", events.TicketStatusChanged, ticket, map[string]string{"ticket_id": ticket})
	if err := e.store.PublishEvent(ctx, other); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM outbox`); n != 2 {
		t.Fatalf("outbox rows = %d, want 2", n)
	}
	bad := ev
	bad.ID = "not-a-uuid"
	if err := e.store.PublishEvent(ctx, bad); err == nil {
		t.Fatal("an event with a malformed ID was published")
	}
}
