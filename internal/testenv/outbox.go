package testenv

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/events"
)

// OutboxEvents returns the events of type typ in the outbox of the schema
// pool works in (internal/outbox's table), oldest first.
func OutboxEvents(t testing.TB, pool *pgxpool.Pool, typ string) []events.Event {
	t.Helper()
	rs, err := pool.Query(context.Background(), `SELECT payload FROM outbox WHERE type = $1 ORDER BY id`, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []events.Event
	for rs.Next() {
		var payload []byte
		if err := rs.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		ev, err := events.Parse(payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
