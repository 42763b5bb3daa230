package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/events"
)

// Publisher sends one event to the broker and returns nil only once the
// broker has accepted it; *rabbitmq.Publisher is one.
type Publisher interface {
	Publish(ctx context.Context, e events.Event) error
}

// BatchPublisher is a Publisher that can also send several events in order
// and wait for their confirms together, returning how many from the first
// the broker took; *rabbitmq.Publisher is one. The relay uses it when it can:
// one round trip per batch instead of one per event.
type BatchPublisher interface {
	Publisher
	PublishBatch(ctx context.Context, es []events.Event) (int, error)
}

// RelayOptions tune a Relay; zero values take the defaults.
type RelayOptions struct {
	// PollInterval is how often the relay looks for events when no
	// notification woke it, a safety net for lost notifications. Default 1s.
	PollInterval time.Duration
	// BatchSize is how many events one transaction publishes. Default 100.
	BatchSize int
	// MinBackoff and MaxBackoff bound the pause after a failed publish,
	// doubled on each consecutive failure. Defaults 1s and 5s, so that
	// events flow again within seconds of the broker's return.
	MinBackoff, MaxBackoff time.Duration
	// PublishTimeout bounds one publish, confirm included. Default 10s.
	PublishTimeout time.Duration
	// Retention is how long published events are kept before the relay
	// deletes them (it checks hourly). Default 7 days; negative keeps them.
	Retention time.Duration
}

func (o *RelayOptions) setDefaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 10 * time.Second
	}
	if o.Retention == 0 {
		o.Retention = 7 * 24 * time.Hour
	}
}

// cleanupEvery is how often Run deletes published events past retention.
const cleanupEvery = time.Hour

// Relay publishes the events written to the outbox of its pool's schema.
//
// Each batch runs in a transaction that locks its rows with FOR UPDATE SKIP
// LOCKED, so several replicas may relay the same schema at once without
// publishing an event twice in the normal case; events then leave in id
// order per replica, not globally. An event is marked published only after
// the broker confirmed it, so a crash in between publishes it again: the
// guarantee is at least once.
type Relay struct {
	pool *pgxpool.Pool
	pub  Publisher
	log  *slog.Logger
	opts RelayOptions
}

// NewRelay returns a relay of pool's outbox to pub; Run starts it.
func NewRelay(pool *pgxpool.Pool, pub Publisher, log *slog.Logger, opts RelayOptions) *Relay {
	opts.setDefaults()
	return &Relay{pool: pool, pub: pub, log: log.With("component", "outbox.relay"), opts: opts}
}

// Pending counts the events not yet published (see the package function).
func (r *Relay) Pending(ctx context.Context) (int, error) { return Pending(ctx, r.pool) }

// Run relays until ctx is done, then returns nil. It publishes whenever a
// transaction that wrote to the outbox commits (LISTEN/NOTIFY), at least
// every PollInterval, and, while the broker or the database fails, after
// an exponential backoff.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	listenCtx, stopListening := context.WithCancel(ctx)
	var listener sync.WaitGroup
	listener.Go(func() { r.listen(listenCtx, wake) })
	defer func() {
		stopListening()
		listener.Wait()
	}()

	bo := backoff{min: r.opts.MinBackoff, max: r.opts.MaxBackoff}
	lastCleanup := time.Time{}
	for {
		published, err := r.relayBatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			delay := bo.next()
			r.log.Warn("relay failed; backing off", "err", err, "retry_in", delay)
			// Notifications cannot help while the broker is down.
			if sleep(ctx, delay) != nil {
				return nil
			}
			continue
		}
		bo.reset()
		if published == r.opts.BatchSize {
			continue // probably more waiting
		}
		if r.opts.Retention > 0 && time.Since(lastCleanup) >= cleanupEvery {
			lastCleanup = time.Now()
			if n, err := Cleanup(ctx, r.pool, r.opts.Retention); err != nil {
				r.log.Warn("outbox cleanup failed", "err", err)
			} else if n > 0 {
				r.log.Info("outbox cleanup", "deleted", n)
			}
		}
		poll := time.NewTimer(r.opts.PollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return nil
		case <-wake:
		case <-poll.C:
		}
		poll.Stop()
	}
}

// pendingRow is an outbox row being relayed.
type pendingRow struct {
	id      int64
	payload []byte
}

// relayBatch publishes up to BatchSize events in one transaction and
// returns how many it published. It stops at the first failed publish so
// that events leave in order, and returns that failure.
func (r *Relay) relayBatch(ctx context.Context) (int, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit

	rows, err := tx.Query(ctx, `
		SELECT id, payload FROM outbox
		WHERE published_at IS NULL
		ORDER BY id
		LIMIT $1
		FOR UPDATE SKIP LOCKED`, r.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("select pending events: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pendingRow, error) {
		var p pendingRow
		err := row.Scan(&p.id, &p.payload)
		return p, err
	})
	if err != nil {
		return 0, fmt.Errorf("select pending events: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}

	// Rows that are not events are skipped, as are failed ones below, with
	// their failure recorded; the rest go out in order.
	var (
		ids  []int64
		evts []events.Event
	)
	for _, row := range batch {
		e, err := events.Parse(row.payload)
		if err != nil {
			// Write validates every event, so only a row written by other
			// means gets here. Retrying cannot fix it; skipping it keeps the
			// events behind it moving. It stays pending for a person to see.
			r.log.Error("outbox row is not a valid event; skipping it", "outbox_id", row.id, "err", err)
			if err := r.recordFailure(ctx, tx, row.id, err); err != nil {
				return 0, err
			}
			continue
		}
		ids, evts = append(ids, row.id), append(evts, e)
	}
	n, failed := r.publish(ctx, evts)
	published := ids[:n]
	if failed != nil && n < len(ids) && ctx.Err() == nil {
		// The first event the broker did not take carries the failure;
		// those behind it wait their turn, untried.
		failed = fmt.Errorf("publish event %s (outbox id %d): %w", evts[n].ID, ids[n], failed)
		if err := r.recordFailure(ctx, tx, ids[n], failed); err != nil {
			return 0, err
		}
	}

	// The broker has these events now. Finishing the bookkeeping despite a
	// shutdown saves the consumers a duplicate of each.
	finish, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if len(published) > 0 {
		_, err := tx.Exec(finish, `
			UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL
			WHERE id = ANY($1)`, published)
		if err != nil {
			return 0, fmt.Errorf("mark %d events published: %w", len(published), err)
		}
	}
	if err := tx.Commit(finish); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	if len(published) > 0 {
		r.log.Debug("relayed events", "count", len(published))
	}
	return len(published), failed
}

// publish sends es in order, within PublishTimeout each, and returns how
// many from the first the broker took. A BatchPublisher gets them all at
// once; any other Publisher one at a time.
func (r *Relay) publish(ctx context.Context, es []events.Event) (int, error) {
	if len(es) == 0 {
		return 0, nil
	}
	if bp, ok := r.pub.(BatchPublisher); ok {
		ctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
		defer cancel()
		return bp.PublishBatch(ctx, es)
	}
	for i, e := range es {
		pctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
		err := r.pub.Publish(pctx, e)
		cancel()
		if err != nil {
			return i, err
		}
	}
	return len(es), nil
}

// recordFailure counts a failed attempt on a row, for operators and metrics.
func (r *Relay) recordFailure(ctx context.Context, tx pgx.Tx, id int64, cause error) error {
	ctx = context.WithoutCancel(ctx)
	_, err := tx.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, id, cause.Error())
	if err != nil {
		return fmt.Errorf("record failed attempt on outbox id %d: %w", id, err)
	}
	return nil
}

// listen wakes the relay whenever a transaction that wrote to the outbox
// commits. It holds a connection of its own outside the pool (LISTEN is
// per session) and reconnects when it is lost, until ctx is done.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	bo := backoff{min: r.opts.MinBackoff, max: r.opts.MaxBackoff}
	for {
		err := r.listenOnce(ctx, wake, bo.reset)
		if ctx.Err() != nil {
			return
		}
		delay := bo.next()
		r.log.Warn("outbox listener lost; relying on polling until it reconnects", "err", err, "retry_in", delay)
		if sleep(ctx, delay) != nil {
			return
		}
	}
}

// listenOnce listens on one connection until it fails or ctx is done.
func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL).Scan(&channel); err != nil {
		return fmt.Errorf("channel name: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen %s: %w", channel, err)
	}
	listening()
	// Whatever was committed while nobody listened went unannounced.
	notify(wake)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		notify(wake)
	}
}

// notify wakes the relay loop without blocking; one pending wake-up is
// enough however many commits happened.
func notify(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// backoff yields exponentially growing delays between min and max, with
// jitter so that replicas do not retry in lockstep.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur - time.Duration(rand.Int64N(int64(b.cur)/5+1))
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits for d or until ctx is done, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
