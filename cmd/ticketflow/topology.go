package main

import (
	"context"
	"fmt"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/workers"
)

// queues is the RabbitMQ topology of Ticketflow: every consumer's queue and
// the events bound to it. The consumers read their configuration from here,
// and every publisher and `ticketflow migrate` declare all of them, so an
// event published before its consumer first ran waits in its queue instead
// of being dropped by the topic exchange.
func (a *App) queues() []rabbitmq.ConsumerConfig {
	q := func(name string, bindings []string, prefetch int) rabbitmq.ConsumerConfig {
		return rabbitmq.ConsumerConfig{Exchange: a.Config.AMQPExchange, Queue: name, Bindings: bindings, Prefetch: prefetch}
	}
	return []rabbitmq.ConsumerConfig{
		q(helpdesk.UsersQueue, helpdesk.UserEventTypes(), 0),
		q(workflow.DirectoryConsumer, []string{events.UserCreated, events.UserUpdated}, 0),
		q(workers.StarterQueue, []string{events.TicketCreated}, 20),
		q(workers.CommentQueue, []string{events.CommentCreated}, 0),
		q(workers.PriorityQueue, []string{events.TicketUpdated}, 0),
		q(messaging.TicketEventsQueue, messaging.TicketEventTypes(), 0),
		q(messaging.UsersQueue, messaging.UserEventTypes(), 0),
		q(notification.EventsQueue, notification.EventTypes(), 0),
		// One at a time: the order of the bus is the order of delivery. More
		// tries than the others, since a dead-lettered event is a webhook
		// delivery lost: with the consumer's backoff (up to 30 s between
		// tries) about 9 minutes of Temporal or PostgreSQL being down.
		{Exchange: a.Config.AMQPExchange, Queue: workflow.WebhooksQueue, Bindings: workflow.WebhookEventTypes(), Prefetch: 1, MaxDeliveries: 20},
	}
}

// queue returns the configuration of the named consumer's queue.
func (a *App) queue(name string) rabbitmq.ConsumerConfig {
	for _, q := range a.queues() {
		if q.Queue == name {
			return q
		}
	}
	panic(fmt.Sprintf("queue %s is not in the topology", name))
}

// DeclareTopology declares every exchange and queue on the broker.
func (a *App) DeclareTopology(ctx context.Context) error {
	if err := rabbitmq.Declare(ctx, a.Config.AMQPURL, a.queues()...); err != nil {
		return fmt.Errorf("declare RabbitMQ topology: %w", err)
	}
	return nil
}
