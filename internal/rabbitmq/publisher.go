package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/events"
)

// ErrClosed is returned by a Publisher used after Close.
var ErrClosed = errors.New("rabbitmq: publisher closed")

// Publisher publishes events to the events exchange and waits for the
// broker's confirm, so a nil error means RabbitMQ has taken responsibility
// for the message (persisted it in every queue it was routed to). It dials
// lazily and redials when the connection is lost. It is safe for
// concurrent use; concurrent publishes share one confirming channel.
type Publisher struct {
	url      string
	exchange string
	log      *slog.Logger
	opts     publisherOptions

	// lock is a one-slot semaphore guarding the fields below; unlike a
	// mutex, waiting for it honours the caller's context while another
	// goroutine redials.
	lock   chan struct{}
	conn   *amqp.Connection
	ch     *amqp.Channel
	closed bool
}

type publisherOptions struct {
	dialAttempts int
	dialBackoff  time.Duration
	queues       []ConsumerConfig
}

// PublisherOption tunes a Publisher.
type PublisherOption func(*publisherOptions)

// WithDialRetry sets how often Publish and Ping try to (re)connect before
// giving up, and the delay before the second try (doubled for each further
// try). The default, 3 tries from 200ms, fails within about a second when
// the broker is down, so the caller (the outbox relay) retries on its own
// schedule instead of blocking.
func WithDialRetry(attempts int, backoff time.Duration) PublisherOption {
	return func(o *publisherOptions) {
		o.dialAttempts = max(attempts, 1)
		o.dialBackoff = backoff
	}
}

// WithQueues makes the publisher declare these consumers' queues, with
// their bindings, on every connection before it publishes. A topic exchange
// drops what no queue is bound to, so without this an event published
// before its consumer first started would be lost.
func WithQueues(cfgs ...ConsumerConfig) PublisherOption {
	return func(o *publisherOptions) {
		for _, cfg := range cfgs {
			cfg.setDefaults()
			o.queues = append(o.queues, cfg)
		}
	}
}

// NewPublisher returns a publisher to exchange (DefaultExchange if empty)
// on the broker at url. It does not connect until first used.
func NewPublisher(url, exchange string, log *slog.Logger, opts ...PublisherOption) *Publisher {
	if exchange == "" {
		exchange = DefaultExchange
	}
	o := publisherOptions{dialAttempts: 3, dialBackoff: 200 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	return &Publisher{
		url:      url,
		exchange: exchange,
		log:      log.With("component", "rabbitmq.publisher", "exchange", exchange),
		opts:     o,
		lock:     make(chan struct{}, 1),
	}
}

// Publish sends e as a persistent message with routing key e.Type and
// message id e.ID, and returns once the broker has confirmed it. An error
// means the event may or may not have been delivered: the caller must retry,
// and consumers deduplicate by event id. A message that no queue is bound to
// is confirmed and dropped, as topic semantics intend.
func (p *Publisher) Publish(ctx context.Context, e events.Event) error {
	_, err := p.PublishBatch(ctx, []events.Event{e})
	return err
}

// PublishBatch sends es in order on one channel without waiting between
// them, then waits for their confirms: one round trip for the batch rather
// than one per event. It returns how many events, from the first, the
// broker confirmed; on an error the rest may or may not have been
// delivered, and the caller retries them (consumers deduplicate by id).
func (p *Publisher) PublishBatch(ctx context.Context, es []events.Event) (int, error) {
	msgs := make([]amqp.Publishing, len(es))
	for i, e := range es {
		m, err := message(e)
		if err != nil {
			return 0, err
		}
		msgs[i] = m
	}
	// A channel that died since its last use may not know it yet; the
	// first publish then fails with ErrClosed before anything was sent,
	// so trying once more on a fresh connection cannot duplicate.
	for attempt := 1; ; attempt++ {
		ch, err := p.channel(ctx)
		if err != nil {
			return 0, fmt.Errorf("publish %s: %w", describe(es, 0), err)
		}
		confirms := make([]*amqp.DeferredConfirmation, 0, len(msgs))
		for i, m := range msgs {
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, p.exchange, m.Type, false, false, m)
			if err == nil {
				confirms = append(confirms, dc)
				continue
			}
			if ctx.Err() != nil {
				return p.settle(ctx, ch, es, confirms, fmt.Errorf("publish %s: %w", describe(es, i), ctx.Err()))
			}
			p.discard(ch)
			if errors.Is(err, amqp.ErrClosed) && attempt == 1 && i == 0 {
				break // nothing was sent: retry the batch on a new connection
			}
			return p.settle(ctx, ch, es, confirms, fmt.Errorf("publish %s: %w", describe(es, i), err))
		}
		if len(confirms) == 0 && len(msgs) > 0 {
			continue
		}
		return p.settle(ctx, ch, es, confirms, nil)
	}
}

// settle waits for the confirms of a batch, in order, and returns how many
// events from the first the broker took, with the first failure: sendErr
// (why the rest were not sent) or a missing confirm.
func (p *Publisher) settle(ctx context.Context, ch *amqp.Channel, es []events.Event, confirms []*amqp.DeferredConfirmation, sendErr error) (int, error) {
	for i, dc := range confirms {
		acked, err := dc.WaitContext(ctx)
		switch {
		case err != nil:
			return i, fmt.Errorf("publish %s: wait for confirm: %w", describe(es, i), err)
		case acked:
			continue
		case ch.IsClosed():
			// amqp091 nacks every pending confirm when the channel closes.
			p.discard(ch)
			return i, fmt.Errorf("publish %s: channel closed before the broker confirmed", describe(es, i))
		default:
			return i, fmt.Errorf("publish %s: broker nacked the message", describe(es, i))
		}
	}
	return len(confirms), sendErr
}

// message builds the AMQP message of e.
func message(e events.Event) (amqp.Publishing, error) {
	if err := e.Validate(); err != nil {
		return amqp.Publishing{}, fmt.Errorf("publish %s: %w", e.ID, err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return amqp.Publishing{}, fmt.Errorf("publish %s: encode: %w", e.ID, err)
	}
	if len(body) > events.MaxSize {
		return amqp.Publishing{}, fmt.Errorf("publish %s: %d bytes, limit %d: %w", e.ID, len(body), events.MaxSize, events.ErrInvalid)
	}
	return amqp.Publishing{
		ContentType:  ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    e.ID,
		Type:         e.Type,
		Timestamp:    e.Time,
		Body:         body,
	}, nil
}

// describe names the i-th event of es in errors.
func describe(es []events.Event, i int) string {
	if i >= len(es) {
		return "batch"
	}
	return es[i].Type + " " + es[i].ID
}

// Ping connects if need be and reports whether the broker is reachable,
// for readiness checks.
func (p *Publisher) Ping(ctx context.Context) error {
	if _, err := p.channel(ctx); err != nil {
		return fmt.Errorf("rabbitmq ping: %w", err)
	}
	return nil
}

// Close closes the connection. Publishes waiting for a confirm fail, and
// later calls return ErrClosed.
func (p *Publisher) Close() error {
	p.lock <- struct{}{}
	defer func() { <-p.lock }()
	p.closed = true
	return p.teardown()
}

// channel returns the open confirming channel, dialing a new connection
// when there is none, with a few quick retries.
func (p *Publisher) channel(ctx context.Context) (*amqp.Channel, error) {
	select {
	case p.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.lock }()

	if p.closed {
		return nil, ErrClosed
	}
	if p.ch != nil && !p.ch.IsClosed() {
		return p.ch, nil
	}
	if p.conn != nil {
		p.log.Info("connection lost; reconnecting")
	}
	_ = p.teardown()

	delay := p.opts.dialBackoff
	for attempt := 1; ; attempt++ {
		conn, ch, err := p.connect(ctx)
		if err == nil {
			p.conn, p.ch = conn, ch
			p.log.Info("connected", "attempt", attempt)
			return ch, nil
		}
		p.log.Warn("connect failed", "attempt", attempt, "err", err)
		if attempt >= p.opts.dialAttempts {
			return nil, err
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		delay *= 2
	}
}

// connect dials and opens a channel in confirm mode on which the exchanges,
// and the queues of WithQueues, exist.
func (p *Publisher) connect(ctx context.Context) (*amqp.Connection, *amqp.Channel, error) {
	conn, err := dial(ctx, p.url, "ticketflow publisher")
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = declareExchanges(ch, p.exchange)
	}
	for _, q := range p.opts.queues {
		if err == nil {
			err = declareQueue(ch, q)
		}
	}
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("open confirming channel: %w", err)
	}
	return conn, ch, nil
}

// discard drops ch if it is still the current channel, so the next
// publish redials. A channel error (such as a missing exchange) closes
// only the channel, so the whole connection is replaced to start clean.
func (p *Publisher) discard(ch *amqp.Channel) {
	p.lock <- struct{}{}
	defer func() { <-p.lock }()
	if p.ch == ch {
		_ = p.teardown()
	}
}

// teardown closes the current connection; the caller holds the lock.
func (p *Publisher) teardown() error {
	var err error
	if p.conn != nil {
		// A deadline, because a half-dead connection would otherwise hold
		// the lock until heartbeats notice it.
		err = p.conn.CloseDeadline(time.Now().Add(closeTimeout))
		if errors.Is(err, amqp.ErrClosed) {
			err = nil
		}
	}
	p.conn, p.ch = nil, nil
	if err != nil {
		return fmt.Errorf("close publisher connection: %w", err)
	}
	return nil
}
