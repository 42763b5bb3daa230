// Package rabbitmq carries Ticketflow's events over RabbitMQ: a Publisher
// that returns only once the broker has confirmed a message, and a Consumer
// that reads a quorum queue with manual acks, bounded retries and a
// dead-letter queue. Both reconnect on their own, so a broker restart costs
// latency, never events.
//
// Topology (see ARCHITECTURE.md, "Events"): one durable topic exchange for
// events, routing key = event type; one durable topic dead-letter exchange,
// ticketflow.dead, where each consumer's queue dead-letters under the queue's
// own name into "<queue>.dead".
package rabbitmq

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// DefaultExchange is the events exchange of the architecture.
	DefaultExchange = "ticketflow.events"
	// DeadLetterExchange receives the messages consumers give up on.
	DeadLetterExchange = "ticketflow.dead"
	// ContentType is the content type of every published message: the
	// CloudEvents structured mode, where the body is the whole envelope.
	ContentType = "application/cloudevents+json"
	// DeadQueueSuffix is appended to a consumer's queue name to name the
	// queue that keeps its dead letters for inspection.
	DeadQueueSuffix = ".dead"
)

// dialTimeout bounds the TCP connect and the AMQP handshake, so a broker
// that accepts connections but does not answer cannot stall a caller.
const dialTimeout = 5 * time.Second

// closeTimeout bounds the close handshake of a connection being replaced
// or shut down.
const closeTimeout = 2 * time.Second

// dial opens a connection named name (shown in the management UI), giving
// up when ctx is done or after dialTimeout.
func dial(ctx context.Context, url, name string) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	cfg := amqp.Config{
		Properties: props,
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake is not context-aware; a deadline bounds it.
			// amqp091 clears the deadline once the connection is open.
			deadline := time.Now().Add(dialTimeout)
			if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
				deadline = d
			}
			if err := conn.SetDeadline(deadline); err != nil {
				_ = conn.Close()
				return nil, err
			}
			return conn, nil
		},
	}
	conn, err := amqp.DialConfig(url, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial broker: %w", err)
	}
	return conn, nil
}

// declareExchanges declares the events exchange and the dead-letter
// exchange. Declaring is idempotent, so every connection does it and no
// start-up order between publishers and consumers matters.
func declareExchanges(ch *amqp.Channel, exchange string) error {
	for _, name := range []string{exchange, DeadLetterExchange} {
		if err := ch.ExchangeDeclare(name, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare exchange %s: %w", name, err)
		}
	}
	return nil
}

// backoff yields exponentially growing delays between min and max, with
// jitter so that many clients do not reconnect in lockstep.
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
