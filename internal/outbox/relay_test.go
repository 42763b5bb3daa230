package outbox

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// fastOptions shrinks the relay's delays for tests.
func fastOptions() RelayOptions {
	return RelayOptions{
		PollInterval:   100 * time.Millisecond,
		MinBackoff:     50 * time.Millisecond,
		MaxBackoff:     200 * time.Millisecond,
		PublishTimeout: 5 * time.Second,
	}
}

// countingPublisher counts the events a real publisher confirmed.
type countingPublisher struct {
	*rabbitmq.Publisher
	published atomic.Int64
}

func (p *countingPublisher) Publish(ctx context.Context, e events.Event) error {
	err := p.Publisher.Publish(ctx, e)
	if err == nil {
		p.published.Add(1)
	}
	return err
}

// PublishBatch counts the events of a batch the broker took; the relay
// publishes through it, since the embedded publisher batches.
func (p *countingPublisher) PublishBatch(ctx context.Context, es []events.Event) (int, error) {
	n, err := p.Publisher.PublishBatch(ctx, es)
	p.published.Add(int64(n))
	return n, err
}

// startRelay runs a relay of pool to the broker at amqpURL until the test
// ends, checks that it stops promptly, and returns it with its publisher.
func startRelay(t *testing.T, pool *pgxpool.Pool, amqpURL string, opts RelayOptions) (*Relay, *countingPublisher) {
	t.Helper()
	pub := &countingPublisher{Publisher: rabbitmq.NewPublisher(amqpURL, "", testenv.Logger(t), rabbitmq.WithDialRetry(1, 0))}
	r := NewRelay(pool, pub, testenv.Logger(t), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("relay Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("relay did not stop within 10s")
		}
		_ = pub.Close()
	})
	return r, pub
}

// deliveries records what a consumer bound to every event type receives.
type deliveries struct {
	mu     sync.Mutex
	order  []string
	counts map[string]int
}

// consumeAll starts a consumer of every event in the vhost of amqpURL and
// waits until it is ready, so nothing published afterwards is missed.
func consumeAll(t *testing.T, amqpURL string) *deliveries {
	t.Helper()
	d := &deliveries{counts: map[string]int{}}
	cfg := rabbitmq.ConsumerConfig{
		Queue: "audit", Bindings: []string{"#"}, Prefetch: 1,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	}
	c := rabbitmq.NewConsumer(amqpURL, cfg, func(_ context.Context, e events.Event) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.order = append(d.order, e.ID)
		d.counts[e.ID]++
		return nil
	}, testenv.Logger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer Run: %v", err)
		}
	})
	eventually(t, 10*time.Second, "the consumer to be ready", func() bool {
		conn, err := amqp.Dial(amqpURL)
		if err != nil {
			return false
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return false
		}
		q, err := ch.QueueDeclarePassive(cfg.Queue, true, false, false, false, nil)
		return err == nil && q.Consumers > 0
	})
	return d
}

// received returns the event ids in delivery order.
func (d *deliveries) received() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.order)
}

// has reports whether every id was received.
func (d *deliveries) has(ids ...string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if d.counts[id] == 0 {
			return false
		}
	}
	return true
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func idsOf(es []events.Event) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func TestRelay_PublishesCommittedEventOnce(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	amqpURL := testenv.VHost(t)
	got := consumeAll(t, amqpURL)
	opts := fastOptions()
	opts.PollInterval = time.Hour // only the commit notification can wake it
	relay, _ := startRelay(t, pool, amqpURL, opts)
	time.Sleep(200 * time.Millisecond) // let the relay go idle

	e := newEvent(t, 1)
	write(t, pool, e)
	eventually(t, 5*time.Second, "the event consumed", func() bool { return got.has(e.ID) })

	time.Sleep(300 * time.Millisecond) // room for a duplicate, which must not come
	if r := got.received(); len(r) != 1 {
		t.Fatalf("received %v, want the event once", r)
	}
	eventually(t, 5*time.Second, "the event marked published", func() bool {
		n, err := relay.Pending(t.Context())
		return err == nil && n == 0
	})
	if r := rowOf(t, pool, e.ID); !r.published || r.attempts != 1 || r.lastError != nil {
		t.Errorf("row after relaying = %+v", r)
	}
}

func TestRelay_NeverPublishesRolledBackEvent(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	amqpURL := testenv.VHost(t)
	got := consumeAll(t, amqpURL)
	startRelay(t, pool, amqpURL, fastOptions())

	rolledBack := newEvent(t, 1)
	err := postgres.InTx(t.Context(), pool, func(tx pgx.Tx) error {
		if err := Write(t.Context(), tx, rolledBack); err != nil {
			return err
		}
		return errors.New("ticket validation failed")
	})
	if err == nil {
		t.Fatal("transaction committed")
	}
	// Events go out in order: once a later event arrived, the rolled-back
	// one would have too.
	marker := newEvent(t, 2)
	write(t, pool, marker)
	eventually(t, 5*time.Second, "the committed event", func() bool { return got.has(marker.ID) })

	if r := got.received(); len(r) != 1 || r[0] != marker.ID {
		t.Fatalf("received %v, want only %s", r, marker.ID)
	}
	if n := countRows(t, pool); n != 1 {
		t.Errorf("%d outbox rows, want 1", n)
	}
}

func TestRelay_KeepsEventsWhileBrokerUnreachableThenPublishesInOrder(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	amqpURL := testenv.VHost(t)
	got := consumeAll(t, amqpURL)
	// The relay reaches the broker through a proxy the test can cut.
	u, _ := url.Parse(amqpURL)
	proxy := testenv.NewProxy(t, u.Host)
	relay, _ := startRelay(t, pool, proxy.URL(amqpURL), fastOptions())

	before := newEvent(t, 0)
	write(t, pool, before)
	eventually(t, 5*time.Second, "the event before the outage", func() bool { return got.has(before.ID) })

	proxy.Down() // drops the relay's connection; new ones are refused
	during := []events.Event{newEvent(t, 1), newEvent(t, 2), newEvent(t, 3)}
	write(t, pool, during[:2]...)
	write(t, pool, during[2])

	eventually(t, 10*time.Second, "failed attempts to be counted", func() bool {
		return rowOf(t, pool, during[0].ID).attempts >= 2
	})
	if n, err := relay.Pending(t.Context()); err != nil || n != 3 {
		t.Fatalf("Pending during the outage = %d, %v; want 3", n, err)
	}
	if r := rowOf(t, pool, during[0].ID); r.published || r.lastError == nil || *r.lastError == "" {
		t.Errorf("head of the backlog = %+v, want unpublished with the error recorded", r)
	}
	// A failure stops the batch: later events wait their turn, untried.
	if r := rowOf(t, pool, during[2].ID); r.attempts != 0 {
		t.Errorf("event behind the failed one tried %d times, want 0", r.attempts)
	}

	proxy.Up()
	eventually(t, 10*time.Second, "the backlog published", func() bool { return got.has(idsOf(during)...) })
	want := append([]string{before.ID}, idsOf(during)...)
	if r := got.received(); !slices.Equal(r, want) {
		t.Errorf("received %v, want %v in order", r, want)
	}
	// The relay marks a batch published when it commits, just after the
	// broker took it, so consumers may be a little ahead of the table.
	eventually(t, 5*time.Second, "the backlog marked published", func() bool {
		n, err := relay.Pending(t.Context())
		return err == nil && n == 0
	})
	if r := rowOf(t, pool, during[0].ID); !r.published || r.lastError != nil {
		t.Errorf("head of the backlog after the outage = %+v", r)
	}
}

func TestRelay_TwoReplicasPublishEachEventOnce(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	amqpURL := testenv.VHost(t)
	got := consumeAll(t, amqpURL)
	opts := fastOptions()
	opts.BatchSize = 5
	opts.PollInterval = 20 * time.Millisecond
	var all []string
	writeBatches := func(from, to int) {
		for tx := from; tx < to; tx++ {
			batch := make([]events.Event, 5)
			for i := range batch {
				batch[i] = newEvent(t, tx*5+i)
			}
			write(t, pool, batch...)
			all = append(all, idsOf(batch)...)
		}
	}
	// A backlog the two relays compete for from the start, then events
	// written while both run.
	writeBatches(0, 10)
	_, pub1 := startRelay(t, pool, amqpURL, opts)
	_, pub2 := startRelay(t, pool, amqpURL, opts)
	writeBatches(10, 20)
	eventually(t, 15*time.Second, "all 100 events consumed", func() bool { return got.has(all...) })
	time.Sleep(300 * time.Millisecond) // room for duplicates, which must not come

	got.mu.Lock()
	for id, n := range got.counts {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(got.order) != len(all) {
		t.Errorf("%d deliveries, want %d", len(got.order), len(all))
	}
	got.mu.Unlock()
	eventually(t, 5*time.Second, "all events marked published", func() bool {
		n, err := Pending(t.Context(), pool)
		return err == nil && n == 0
	})
	var published, extraAttempts int
	err := pool.QueryRow(t.Context(),
		`SELECT count(*) FILTER (WHERE published_at IS NOT NULL), count(*) FILTER (WHERE attempts <> 1) FROM outbox`).
		Scan(&published, &extraAttempts)
	if err != nil || published != len(all) || extraAttempts != 0 {
		t.Errorf("published %d rows, %d rows not published exactly once (err %v)", published, extraAttempts, err)
	}
	if n1, n2 := pub1.published.Load(), pub2.published.Load(); n1+n2 != int64(len(all)) {
		t.Errorf("relays published %d + %d events, want %d in all", n1, n2, len(all))
	} else {
		t.Logf("relays published %d + %d events", n1, n2)
	}
}

func TestRelay_ListenerReconnects(t *testing.T) {
	t.Parallel()
	pool, schema := testenv.Schema(t, "outbox")
	if err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	amqpURL := testenv.VHost(t)
	got := consumeAll(t, amqpURL)
	opts := fastOptions()
	opts.PollInterval = time.Hour // only notifications can wake it
	startRelay(t, pool, amqpURL, opts)

	listenerPID := func() int {
		var pid int
		err := pool.QueryRow(t.Context(), `
			SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
			"ticketflow-"+schema).Scan(&pid)
		if err != nil {
			return 0
		}
		return pid
	}
	var first int
	eventually(t, 5*time.Second, "the relay to listen", func() bool { first = listenerPID(); return first != 0 })
	if _, err := pool.Exec(t.Context(), `SELECT pg_terminate_backend($1)`, first); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the relay to listen again", func() bool {
		pid := listenerPID()
		return pid != 0 && pid != first
	})

	e := newEvent(t, 1)
	write(t, pool, e)
	eventually(t, 5*time.Second, "the event consumed", func() bool { return got.has(e.ID) })
}

func TestRelay_SkipsRowThatIsNotAnEvent(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	amqpURL := testenv.VHost(t)
	got := consumeAll(t, amqpURL)
	startRelay(t, pool, amqpURL, fastOptions())

	// Only a row written around Write can be malformed.
	var malformed string
	err := pool.QueryRow(t.Context(), `
		INSERT INTO outbox (event_id, type, payload) VALUES (gen_random_uuid(), 'x', '{"id": 1}')
		RETURNING event_id::text`).Scan(&malformed)
	if err != nil {
		t.Fatal(err)
	}
	e := newEvent(t, 1)
	write(t, pool, e)
	eventually(t, 5*time.Second, "the valid event behind it", func() bool { return got.has(e.ID) })
	eventually(t, 5*time.Second, "only the malformed row left pending", func() bool {
		n, err := Pending(t.Context(), pool)
		return err == nil && n == 1
	})
	if r := rowOf(t, pool, e.ID); !r.published {
		t.Errorf("valid event not marked published: %+v", r)
	}
	if r := rowOf(t, pool, malformed); r.published || r.attempts == 0 || r.lastError == nil {
		t.Errorf("malformed row = %+v, want pending with the failure recorded", r)
	}
}
