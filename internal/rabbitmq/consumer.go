package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/events"
)

// ConsumerConfig describes a consumer's queue and how it is read.
type ConsumerConfig struct {
	// Exchange is the events exchange; DefaultExchange if empty.
	Exchange string
	// Queue names the consumer's durable quorum queue, shared by all
	// replicas of the consumer (they compete for its messages).
	Queue string
	// Bindings are the routing keys (event types) the queue receives, with
	// topic wildcards: "ticket.created", "user.*".
	Bindings []string
	// Prefetch is how many messages may be unacknowledged at once, and so
	// how many handlers run concurrently. Default 10.
	Prefetch int
	// MaxDeliveries is how often a message is delivered before a failing
	// one is dead-lettered. Default 5. It is part of the queue's
	// declaration: changing it for an existing queue makes Run fail with
	// PRECONDITION_FAILED until the queue is deleted (or a policy is used).
	MaxDeliveries int
	// RetryDelay is the pause before a failed message is requeued, doubled
	// on each redelivery and capped at MaxBackoff, so a briefly failing
	// dependency is not hammered. Default 1s. The handler's slot stays busy
	// meanwhile.
	RetryDelay time.Duration
	// HandlerTimeout bounds one handler call. Default 1 minute.
	HandlerTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause between reconnection
	// attempts. Defaults 500ms and 5s: a reconnection attempt costs little,
	// and a longer cap would add up to the cap to every recovery after
	// the broker comes back (the chaos suite measured 9 s with 30 s).
	MinBackoff, MaxBackoff time.Duration
}

func (c *ConsumerConfig) setDefaults() {
	if c.Exchange == "" {
		c.Exchange = DefaultExchange
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 10
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = 5
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = time.Minute
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(5*time.Second, c.MinBackoff)
	}
}

// Handler processes one event. Returning nil acknowledges the message; an
// error requeues it for another try, unless it wraps Permanent, which
// dead-letters it at once. A message may be delivered more than once, so a
// handler must be idempotent by event ID (see outbox.Claim).
type Handler func(ctx context.Context, e events.Event) error

// Consumer feeds the events of one queue to a handler.
type Consumer struct {
	url     string
	cfg     ConsumerConfig
	handler Handler
	log     *slog.Logger
}

// NewConsumer returns a consumer of cfg.Queue on the broker at url; Run
// starts it.
func NewConsumer(url string, cfg ConsumerConfig, handler Handler, log *slog.Logger) *Consumer {
	cfg.setDefaults()
	return &Consumer{
		url:     url,
		cfg:     cfg,
		handler: handler,
		log:     log.With("component", "rabbitmq.consumer", "queue", cfg.Queue),
	}
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (an event that
// refers to something that will never exist, a payload this version cannot
// read). A handler returning it, even wrapped, has the message
// dead-lettered without further tries. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// unavailableError marks a failure of something the handler depends on.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// Unavailable marks err as the failure of a dependency of the handler
// (Temporal, a database, another service) rather than of the event. Such a
// failure says nothing about the message, so it must not use up the
// message's deliveries: the consumer keeps the message and calls the
// handler again, with backoff, for as long as the session lasts, instead
// of requeueing it towards the dead-letter queue. An outage of any length
// thus delays events but dead-letters none. Unavailable(nil) is nil.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return &unavailableError{err: err}
}

// IsUnavailable reports whether err was marked with Unavailable, or is a
// failure to reach a server over the network (a refused or dropped
// connection), which is never the event's fault.
func IsUnavailable(err error) bool {
	var u *unavailableError
	if errors.As(err, &u) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}

// Run declares the queue, its bindings and its dead-letter queue, and
// consumes until ctx is done, reconnecting with backoff whenever the
// connection is lost. When ctx is done it stops taking messages, waits for
// running handlers to finish and settle their messages, closes the
// connection and returns nil. It returns an error only when the
// configuration is unusable: no queue or bindings, or a queue that exists
// with other arguments.
func (c *Consumer) Run(ctx context.Context) error {
	if c.cfg.Queue == "" || len(c.cfg.Bindings) == 0 || c.handler == nil {
		return errors.New("rabbitmq consumer: queue, bindings and handler are required")
	}
	bo := backoff{min: c.cfg.MinBackoff, max: c.cfg.MaxBackoff}
	for {
		err := c.session(ctx, bo.reset)
		if ctx.Err() != nil {
			return nil
		}
		var amqpErr *amqp.Error
		if errors.As(err, &amqpErr) && amqpErr.Code == amqp.PreconditionFailed {
			return fmt.Errorf("rabbitmq consumer %s: %w", c.cfg.Queue, err)
		}
		delay := bo.next()
		c.log.Warn("consumer connection failed or lost; reconnecting", "err", err, "retry_in", delay)
		if sleep(ctx, delay) != nil {
			return nil
		}
	}
}

// session runs one connection's worth of consuming. It calls connected once
// messages may flow, and returns when the connection or the consumer is
// lost, or (with nil) when ctx is done, after the running handlers finished.
func (c *Consumer) session(ctx context.Context, connected func()) error {
	conn, err := dial(ctx, c.url, "ticketflow consumer "+c.cfg.Queue)
	if err != nil {
		return err
	}
	defer func() {
		if err := conn.CloseDeadline(time.Now().Add(closeTimeout)); err != nil && !errors.Is(err, amqp.ErrClosed) {
			c.log.Warn("close connection", "err", err)
		}
	}()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))

	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := c.declare(ch); err != nil {
		return err
	}
	if err := ch.Qos(c.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	// Not ConsumeWithContext: shutdown cancels the consumer explicitly below.
	tag := consumerTag()
	deliveries, err := ch.Consume(c.cfg.Queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.cfg.Queue, err)
	}
	connected()
	c.log.Info("consuming", "bindings", c.cfg.Bindings, "prefetch", c.cfg.Prefetch)

	// Runs before the connection closes (defers run last-in first-out), so
	// that handlers still running can ack on this channel.
	var handlers sync.WaitGroup
	defer handlers.Wait()
	// Ends the retry delays of failed messages when the session ends: on
	// shutdown or a lost connection, waiting longer would not help.
	sessionCtx, endSession := context.WithCancel(ctx)
	defer endSession()

	// Handlers are not cancelled by shutdown: a message being processed is
	// finished and settled rather than abandoned halfway.
	handlerCtx := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			// Stop the broker from sending more; deliveries it already
			// sent but nobody took are requeued when the channel closes.
			if err := ch.Cancel(tag, false); err != nil {
				c.log.Warn("cancel consumer", "err", err)
			}
			return nil
		case d, ok := <-deliveries:
			if !ok {
				// The connection died, or the broker cancelled the
				// consumer (its queue was deleted): start over.
				select {
				case amqpErr := <-closed:
					if amqpErr != nil {
						return fmt.Errorf("connection lost: %w", amqpErr)
					}
				default:
				}
				return errors.New("delivery channel closed")
			}
			if ctx.Err() != nil {
				continue // shutting down: leave it to be requeued
			}
			handlers.Go(func() { c.handle(sessionCtx, handlerCtx, d) })
		}
	}
}

// declare sets up the exchanges, the consumer's queue with its dead-letter
// arguments and bindings, and the queue that keeps its dead letters.
func (c *Consumer) declare(ch *amqp.Channel) error {
	if err := declareExchanges(ch, c.cfg.Exchange); err != nil {
		return err
	}
	return declareQueue(ch, c.cfg)
}

// declareQueue declares cfg's quorum queue with its dead-letter arguments
// and bindings, and the queue that keeps its dead letters. cfg has its
// defaults set. Publishers declare it too (WithQueues), so the arguments
// must come from the one ConsumerConfig both sides share.
func declareQueue(ch *amqp.Channel, cfg ConsumerConfig) error {
	queue, dead := cfg.Queue, cfg.Queue+DeadQueueSuffix
	args := amqp.Table{
		amqp.QueueTypeArg:           amqp.QueueTypeQuorum,
		"x-dead-letter-exchange":    DeadLetterExchange,
		"x-dead-letter-routing-key": queue,
		// The broker counts returns, not deliveries: a message is
		// dead-lettered once it has been returned more often than the
		// limit, so the limit is one less than the number of deliveries.
		"x-delivery-limit": int64(cfg.MaxDeliveries - 1),
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, args); err != nil {
		return fmt.Errorf("declare queue %s: %w", queue, err)
	}
	for _, key := range cfg.Bindings {
		if err := ch.QueueBind(queue, key, cfg.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s to %s: %w", queue, key, err)
		}
	}
	// Dead letters travel under the queue's own name rather than their
	// event type, so that two consumers of the same event type each find
	// only their own failures in their dead queue. The original routing key
	// stays in the x-death header.
	deadArgs := amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}
	if _, err := ch.QueueDeclare(dead, true, false, false, false, deadArgs); err != nil {
		return fmt.Errorf("declare queue %s: %w", dead, err)
	}
	if err := ch.QueueBind(dead, queue, DeadLetterExchange, false, nil); err != nil {
		return fmt.Errorf("bind queue %s: %w", dead, err)
	}
	return nil
}

// Declare declares the exchanges and the queues of cfgs on the broker at
// url, as their consumers would, and returns. `ticketflow migrate` runs it
// so that no event is published before the queues meant to keep it exist.
func Declare(ctx context.Context, url string, cfgs ...ConsumerConfig) error {
	conn, err := dial(ctx, url, "ticketflow declare")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	for _, cfg := range cfgs {
		cfg.setDefaults()
		if err := declareExchanges(ch, cfg.Exchange); err != nil {
			return err
		}
		if err := declareQueue(ch, cfg); err != nil {
			return err
		}
	}
	return nil
}

// handle runs the handler on one delivery and settles it: ack on success,
// reject (to the dead-letter queue) when the message is not an event or
// the failure is permanent, retry in place while a dependency is
// unavailable, and requeue after a delay otherwise. stop ends
// with the session and only cuts the retry delay short; ctx is the
// uncancelled context handlers run under.
func (c *Consumer) handle(stop, ctx context.Context, d amqp.Delivery) {
	log := c.log.With("message_id", d.MessageId, "routing_key", d.RoutingKey, "delivery_count", deliveryCount(d))
	e, err := events.Parse(d.Body)
	if err != nil {
		log.Error("dead-lettering a message that is not a valid event", "err", err)
		settle(log, d.Reject(false))
		return
	}
	log = log.With("event_id", e.ID, "event_type", e.Type)

	err = c.call(ctx, e)
	// A dependency that is down: hold the message (unacknowledged, so its
	// delivery count stays) and try again until it is back or the session
	// ends, when it is requeued below.
	for attempt := 1; err != nil && !IsPermanent(err) && IsUnavailable(err); attempt++ {
		delay := c.retryDelay(int64(attempt - 1))
		log.Warn("a dependency of the handler is unavailable; holding the message", "err", err, "attempt", attempt, "retry_in", delay)
		if sleep(stop, delay) != nil {
			break
		}
		err = c.call(ctx, e)
	}
	switch {
	case err == nil:
		settle(log, d.Ack(false))
	case IsPermanent(err):
		log.Error("dead-lettering event after a permanent failure", "err", err)
		settle(log, d.Reject(false))
	default:
		delay := c.retryDelay(deliveryCount(d))
		log.Warn("handler failed; requeueing", "err", err, "retry_in", delay)
		_ = sleep(stop, delay) // cut short by the session's end: requeue now
		settle(log, d.Nack(false, true))
	}
}

// call runs the handler with a timeout, turning a panic into an error so
// one bad event cannot take the process down.
func (c *Consumer) call(ctx context.Context, e events.Event) (err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return c.handler(ctx, e)
}

// retryDelay doubles RetryDelay for each earlier delivery, up to MaxBackoff.
func (c *Consumer) retryDelay(previous int64) time.Duration {
	d := c.cfg.RetryDelay
	for range min(previous, 16) {
		d *= 2
	}
	return min(d, c.cfg.MaxBackoff)
}

// settle logs a failed ack or nack. The message is then redelivered
// anyway once the channel closes, so there is nothing more to do.
func settle(log *slog.Logger, err error) {
	if err != nil {
		log.Warn("settle message", "err", err)
	}
}

// deliveryCount is how often the broker delivered this message before
// (quorum queues count in x-delivery-count; absent on the first delivery).
func deliveryCount(d amqp.Delivery) int64 {
	switch v := d.Headers["x-delivery-count"].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case int8:
		return int64(v)
	case int:
		return int64(v)
	}
	return 0
}

// consumerTag names the consumer after its host, so the management UI
// shows which replica holds which messages.
func consumerTag() string {
	host, _ := os.Hostname()
	return "ticketflow@" + host + "-" + uuid.NewString()[:8]
}
