// Package outbox makes publishing an event part of a database transaction.
//
// A service writes the event with Write in the transaction that changes its
// data; the row commits or rolls back with the change. A Relay then
// publishes committed rows to the broker, in order, at least once, and
// marks them published. Because delivery is at least once, consumers record
// each event they process with Claim, in the transaction of their own
// work, and skip the ones already claimed.
//
// The tables live in the service's schema, beside its own tables, and are
// migrated by Migrate with a version table of their own.
package outbox

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable records the outbox migrations apart from the service's own
// goose_db_version, so both can evolve independently in one schema.
const VersionTable = "goose_outbox_version"

// channelSQL is the name of the notification channel, per schema so that
// services sharing a database wake only their own relay. Identifiers are
// at most 63 bytes; longer names would be truncated by LISTEN but rejected
// by pg_notify, so both sides truncate alike.
const channelSQL = `left('outbox_' || current_schema(), 63)`

// Migrate creates or updates the outbox and inbox tables in the pool's schema.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("outbox migrations: %w", err)
	}
	if err := postgres.MigrateTable(ctx, pool, sub, VersionTable); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// Write stores e for publication. Pass the transaction that makes the change
// e announces, so that the event exists if and only if the change commits;
// Writer.InTx runs such a transaction and wakes the relay after it commits. The
// event's ID must be a UUID (events.New makes one) and unique.
//
// Write does not notify the relay itself: a NOTIFY inside the writing
// transaction takes PostgreSQL's database-wide notification lock at commit
// and holds it through the commit's WAL flush, so every event-writing
// commit of every service would queue behind the others.
func Write(ctx context.Context, q postgres.Querier, e events.Event) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("outbox write: %w", err)
	}
	if _, err := uuid.Parse(e.ID); err != nil {
		return fmt.Errorf("outbox write: event id %q is not a UUID: %w", e.ID, events.ErrInvalid)
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("outbox write %s: encode: %w", e.ID, err)
	}
	// Consumers reject larger events; refusing here keeps them out of the
	// outbox, where they would wait forever.
	if len(payload) > events.MaxSize {
		return fmt.Errorf("outbox write %s: %d bytes, limit %d: %w", e.ID, len(payload), events.MaxSize, events.ErrInvalid)
	}
	_, err = q.Exec(ctx, `INSERT INTO outbox (event_id, type, payload) VALUES ($1, $2, $3)`, e.ID, e.Type, payload)
	if err != nil {
		return fmt.Errorf("outbox write %s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// Notify wakes the relays of the pool's schema, so events committed just
// before go out without waiting for the next poll. It runs as a transaction
// of its own that does not wait for its commit to reach disk: a lost
// notification only delays publication until the relay's next poll.
func Notify(ctx context.Context, pool *pgxpool.Pool) error {
	// No arguments: pgx sends this as one simple-protocol query, which
	// PostgreSQL runs as one implicit transaction.
	if _, err := pool.Exec(ctx, `SET LOCAL synchronous_commit TO off; SELECT pg_notify(`+channelSQL+`, '')`); err != nil {
		return fmt.Errorf("outbox notify: %w", err)
	}
	return nil
}

// notifyTimeout bounds one wake-up; a relay that misses it polls anyway.
const notifyTimeout = 5 * time.Second

// Writer runs the transactions that write events, and wakes the relays
// after they commit: in the background, off the request's path, and
// coalesced, so a burst of commits costs one notification in flight at a
// time rather than one each. A service keeps one Writer per pool.
type Writer struct {
	pool    *pgxpool.Pool
	dirty   atomic.Bool // a commit happened since the last notification began
	running atomic.Bool // a notifying goroutine is at work
}

// NewWriter returns a writer over pool.
func NewWriter(pool *pgxpool.Pool) *Writer { return &Writer{pool: pool} }

// InTx runs fn in a transaction, as postgres.InTx does; once it has
// committed, the relays are woken. Use it for transactions that Write events.
func (w *Writer) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := postgres.InTx(ctx, w.pool, fn); err != nil {
		return err
	}
	w.wake()
	return nil
}

// wake makes sure a notification goes out after this call. One goroutine
// at most sends them; commits that land while it sends mark the writer
// dirty, and it sends once more for all of them.
func (w *Writer) wake() {
	w.dirty.Store(true)
	if !w.running.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			for w.dirty.Swap(false) {
				ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
				_ = Notify(ctx, w.pool) // the change is committed; a lost wake-up costs a poll
				cancel()
			}
			w.running.Store(false)
			// A commit between the last Swap and the Store above found the
			// goroutine still running and left it the work: take it back.
			if !w.dirty.Load() || !w.running.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// Pending counts the events not yet published: the relay's backlog, for
// readiness checks and metrics.
func Pending(ctx context.Context, q postgres.Querier) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox pending: %w", err)
	}
	return n, nil
}

// Cleanup deletes the events published before now minus retention and
// returns how many it deleted. Published rows are kept a while only to
// investigate what was sent.
func Cleanup(ctx context.Context, q postgres.Querier, retention time.Duration) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM outbox WHERE published_at < $1`, time.Now().Add(-retention))
	if err != nil {
		return 0, fmt.Errorf("outbox cleanup: %w", err)
	}
	return tag.RowsAffected(), nil
}
