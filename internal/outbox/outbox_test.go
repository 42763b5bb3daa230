package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// migrated returns a pool on a fresh schema holding the outbox tables.
func migrated(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, _ := testenv.Schema(t, "outbox")
	if err := Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return pool
}

// newEvent returns a valid event whose data names n.
func newEvent(t *testing.T, n int) events.Event {
	t.Helper()
	e, err := events.New("/test", events.TicketCreated, fmt.Sprint(n), map[string]int{"n": n})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// write stores events in one committed transaction.
func write(t *testing.T, pool *pgxpool.Pool, es ...events.Event) {
	t.Helper()
	err := NewWriter(pool).InTx(t.Context(), func(tx pgx.Tx) error {
		for _, e := range es {
			if err := Write(t.Context(), tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
}

// outboxRow is what the relay left in a row.
type outboxRow struct {
	published bool
	attempts  int
	lastError *string
}

func rowOf(t *testing.T, pool *pgxpool.Pool, eventID string) outboxRow {
	t.Helper()
	var r outboxRow
	err := pool.QueryRow(t.Context(),
		`SELECT published_at IS NOT NULL, attempts, last_error FROM outbox WHERE event_id = $1`, eventID).
		Scan(&r.published, &r.attempts, &r.lastError)
	if err != nil {
		t.Fatalf("outbox row of %s: %v", eventID, err)
	}
	return r
}

func countRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrate_IsIdempotentAndKeepsApartFromServiceMigrations(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.Schema(t, "outbox")
	ctx := t.Context()
	service := fstest.MapFS{"00001_tickets.sql": {Data: []byte(
		"-- +goose Up\nCREATE TABLE tickets (id int);\n-- +goose Down\nDROP TABLE tickets;\n")}}
	if err := postgres.Migrate(ctx, pool, service); err != nil {
		t.Fatalf("service migrations: %v", err)
	}
	for range 2 {
		if err := Migrate(ctx, pool); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	for _, table := range []string{"tickets", "outbox", "inbox", "goose_db_version", VersionTable} {
		var exists bool
		err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists)
		if err != nil || !exists {
			t.Errorf("table %s missing (err %v)", table, err)
		}
	}
}

func TestWrite_StoresTheEnvelope(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	e := newEvent(t, 7)
	write(t, pool, e)

	var typ string
	var payload []byte
	err := pool.QueryRow(t.Context(), `SELECT type, payload FROM outbox WHERE event_id = $1`, e.ID).Scan(&typ, &payload)
	if err != nil {
		t.Fatal(err)
	}
	got, err := events.Parse(payload)
	if err != nil {
		t.Fatalf("stored payload is not an event: %v", err)
	}
	if typ != e.Type || got.ID != e.ID || got.Subject != "7" || !got.Time.Equal(e.Time) {
		t.Errorf("stored %s %+v, wrote %+v", typ, got, e)
	}
	if n, err := Pending(t.Context(), pool); err != nil || n != 1 {
		t.Errorf("Pending = %d, %v; want 1", n, err)
	}
	if r := rowOf(t, pool, e.ID); r.published || r.attempts != 0 || r.lastError != nil {
		t.Errorf("fresh row = %+v", r)
	}
}

func TestWrite_RejectsInvalidAndDuplicateEvents(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	ctx := t.Context()

	notUUID := newEvent(t, 1)
	notUUID.ID = "not-a-uuid"
	for name, e := range map[string]events.Event{
		"empty":        {},
		"no type":      {SpecVersion: "1.0", ID: newEvent(t, 1).ID, Source: "/x", Data: []byte("{}")},
		"id not uuid":  notUUID,
		"data is null": {SpecVersion: "1.0", ID: newEvent(t, 1).ID, Source: "/x", Type: "t", Data: []byte("null")},
		"too large": {SpecVersion: "1.0", ID: newEvent(t, 1).ID, Source: "/x", Type: "t",
			Data: []byte(`"` + strings.Repeat("a", events.MaxSize) + `"`)},
	} {
		if err := Write(ctx, pool, e); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%s: Write = %v, want ErrInvalid", name, err)
		}
	}

	e := newEvent(t, 2)
	write(t, pool, e)
	if err := Write(ctx, pool, e); !postgres.IsUniqueViolation(err) {
		t.Errorf("second Write of one event = %v, want a unique violation", err)
	}
	if n := countRows(t, pool); n != 1 {
		t.Errorf("%d rows stored, want 1", n)
	}
}

func TestWriter_NotifiesAfterCommitOnly(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	ctx := t.Context()
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	waitNotification := func(d time.Duration) error {
		wctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		_, err := conn.WaitForNotification(wctx)
		return err
	}

	w := NewWriter(pool)
	// Rolled back: no notification.
	_ = w.InTx(ctx, func(tx pgx.Tx) error {
		if err := Write(ctx, tx, newEvent(t, 1)); err != nil {
			t.Fatal(err)
		}
		return errors.New("roll back")
	})
	if err := waitNotification(300 * time.Millisecond); err == nil {
		t.Fatal("a rolled-back write notified the relay")
	}
	// Write alone does not notify: its commit must not take the lock.
	if err := Write(ctx, pool, newEvent(t, 2)); err != nil {
		t.Fatal(err)
	}
	if err := waitNotification(300 * time.Millisecond); err == nil {
		t.Fatal("a bare Write notified inside its transaction")
	}
	write(t, pool, newEvent(t, 3))
	if err := waitNotification(5 * time.Second); err != nil {
		t.Fatalf("no notification after a committed write: %v", err)
	}
}

func TestCleanup_DeletesOnlyOldPublishedEvents(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	ctx := t.Context()
	old, recent, pending := newEvent(t, 1), newEvent(t, 2), newEvent(t, 3)
	write(t, pool, old, recent, pending)
	_, err := pool.Exec(ctx, `
		UPDATE outbox SET published_at = CASE event_id
			WHEN $1::uuid THEN now() - interval '8 days'
			WHEN $2::uuid THEN now() - interval '1 day' END
		WHERE event_id IN ($1, $2)`, old.ID, recent.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Cleanup(ctx, pool, 7*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Cleanup = %d, %v; want 1", n, err)
	}
	var left []string
	rows, _ := pool.Query(ctx, `SELECT event_id::text FROM outbox ORDER BY id`)
	left, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0] != recent.ID || left[1] != pending.ID {
		t.Errorf("left %v, want [%s %s]", left, recent.ID, pending.ID)
	}
}

func TestWriter_CoalescesWakeUpsAndLosesNone(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	ctx := t.Context()
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(pool)
	const commits = 200
	var wg sync.WaitGroup
	for i := range commits {
		wg.Go(func() {
			if err := w.InTx(ctx, func(tx pgx.Tx) error { return Write(ctx, tx, newEvent(t, i)) }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// At least one wake-up follows the last commit, and a burst costs far
	// fewer than one each.
	got := 0
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			break
		}
		got++
	}
	if got == 0 || got >= commits {
		t.Fatalf("%d notifications for %d commits, want at least one and fewer than one each", got, commits)
	}
	if n := countRows(t, pool); n != commits {
		t.Fatalf("%d events stored, want %d", n, commits)
	}
}
