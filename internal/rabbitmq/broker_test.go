package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// Helpers shared by the publisher and consumer tests. They talk to the
// broker directly, with plain amqp091, to observe what the package did.

// fastConfig is a consumer configuration with the delays shrunk for tests.
func fastConfig(queue string, bindings ...string) ConsumerConfig {
	return ConsumerConfig{
		Queue:          queue,
		Bindings:       bindings,
		Prefetch:       4,
		RetryDelay:     10 * time.Millisecond,
		HandlerTimeout: 10 * time.Second,
		MinBackoff:     50 * time.Millisecond,
		MaxBackoff:     300 * time.Millisecond,
	}
}

// startConsumer runs c until the test ends and returns a function that
// stops it and returns Run's result.
func startConsumer(t *testing.T, c *Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("consumer did not stop within 15s")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("consumer Run: %v", err)
		}
	})
	return stop
}

// newPublisher returns a publisher closed at cleanup.
func newPublisher(t *testing.T, amqpURL string) *Publisher {
	t.Helper()
	p := NewPublisher(amqpURL, "", testenv.Logger(t), WithDialRetry(5, 50*time.Millisecond))
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// newEvent returns a ticket event of the given type whose data names n.
func newEvent(t *testing.T, typ string, n int) events.Event {
	t.Helper()
	e, err := events.New("/test", typ, fmt.Sprint(n), map[string]int{"n": n})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// inspect opens a plain connection to the test's vhost, closed at cleanup.
func inspect(t *testing.T, amqpURL string) *amqp.Connection {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// queueState returns the ready messages and consumers of queue, or ok
// false when the queue does not exist.
func queueState(t *testing.T, amqpURL, queue string) (messages, consumers int, ok bool) {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return 0, 0, false
	}
	return q.Messages, q.Consumers, true
}

// waitConsuming waits until queue exists and has a consumer, so that
// messages published afterwards are routed to it.
func waitConsuming(t *testing.T, amqpURL, queue string) {
	t.Helper()
	eventually(t, 10*time.Second, "queue "+queue+" has a consumer", func() bool {
		_, consumers, ok := queueState(t, amqpURL, queue)
		return ok && consumers > 0
	})
}

// getOne waits for a message on queue, acknowledges and returns it.
func getOne(t *testing.T, amqpURL, queue string) amqp.Delivery {
	t.Helper()
	ch, err := inspect(t, amqpURL).Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	var d amqp.Delivery
	eventually(t, 10*time.Second, "a message in "+queue, func() bool {
		var ok bool
		d, ok, err = ch.Get(queue, true)
		if err != nil {
			t.Fatalf("get from %s: %v", queue, err)
		}
		return ok
	})
	return d
}

// deathReason returns the reason of the latest x-death record of d.
func deathReason(d amqp.Delivery) string {
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) == 0 {
		return ""
	}
	first, _ := deaths[0].(amqp.Table)
	reason, _ := first["reason"].(string)
	return reason
}

// closeConnections makes the broker drop every connection to the vhost of
// amqpURL, as a broker restart would, without disturbing other tests.
func closeConnections(t *testing.T, amqpURL string) {
	t.Helper()
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	vhost := u.Path[1:]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "test: simulated outage").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl close_all_connections: %v\n%s", err, out)
	}
}

// eventually polls cond until it holds or timeout passes.
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

// recorder is a handler that records the events it is given.
type recorder struct {
	mu     sync.Mutex
	events []events.Event
	calls  map[string]int
	fail   func(e events.Event, call int) error
}

func newRecorder(fail func(e events.Event, call int) error) *recorder {
	return &recorder{calls: map[string]int{}, fail: fail}
}

func (r *recorder) handle(_ context.Context, e events.Event) error {
	r.mu.Lock()
	r.calls[e.ID]++
	call := r.calls[e.ID]
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(e, call); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	return nil
}

// handled returns how many events the handler accepted.
func (r *recorder) handled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// callsOf returns how often the handler was called with the event.
func (r *recorder) callsOf(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}
