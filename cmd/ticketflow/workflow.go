package main

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/activities"
	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/workers"
	"github.com/ticketflow/ticketflow/workflows"
)

// Temporal returns the process's Temporal client, dialing on first use.
func (a *App) Temporal(ctx context.Context) (client.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.temporal != nil {
		return a.temporal, nil
	}
	c, err := temporalx.Dial(ctx, a.Config.TemporalAddress, a.Config.TemporalNamespace, a.Log)
	if err != nil {
		return nil, err
	}
	a.temporal = c
	a.closers = append(a.closers, c.Close)
	return c, nil
}

// workflowStore opens the workflow engine's schema, migrated.
func (a *App) workflowStore(ctx context.Context) (*workflow.Store, error) {
	pool, err := a.Pool(ctx, workflow.Schema)
	if err != nil {
		return nil, err
	}
	if err := workflow.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	return workflow.NewStore(pool), nil
}

// workflowComponent builds the workflow API: ticket state, transitions and
// reassignment through Temporal, the board, and the admin's teams,
// definitions and SLA policies; with the outbox relay of the events the
// ticket workflows publish and the consumer of its agent directory.
func (a *App) workflowComponent(ctx context.Context) (component, error) {
	store, err := a.workflowStore(ctx)
	if err != nil {
		return component{}, err
	}
	tc, err := a.Temporal(ctx)
	if err != nil {
		return component{}, err
	}
	log := a.Log.With("service", "workflow")
	h := workflow.NewHandler(store, tc, a.Verifier(), log, a.Config.TemporalUIURL, a.Config.TemporalNamespace).
		WithWebhooks(a.webhookGuard()).
		WithMacros(a.ServiceURL("helpdesk"), a.ServiceURL("messaging"))
	relay := outbox.NewRelay(store.Pool(), a.Publisher(), a.Log.With("relay", workflow.Schema), outbox.RelayOptions{})
	agents := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(workflow.DirectoryConsumer), workflow.NewAgentDirectory(store, log), log)
	return component{
		name:    "workflow",
		prefix:  workflow.Prefix,
		handler: h.Routes(),
		checks: []httpx.Check{
			{Name: "postgres", Ping: store.Pool().Ping},
			{Name: "temporal", Ping: func(ctx context.Context) error { return temporalx.CheckHealth(ctx, tc) }},
		},
		loops: []func(context.Context) error{relay.Run, agents.Run},
	}, nil
}

// workerComponent builds what `ticketflow worker` runs: the Temporal worker
// of TicketWorkflow and its activities, the consumer of ticket.created that
// starts each ticket's run, and the consumers of comment.created and of
// ticket.updated (priority changes) that signal it.
func (a *App) workerComponent(ctx context.Context) (component, error) {
	store, err := a.workflowStore(ctx)
	if err != nil {
		return component{}, err
	}
	tc, err := a.Temporal(ctx)
	if err != nil {
		return component{}, err
	}
	tokens, err := a.ServiceTokens(ctx)
	if err != nil {
		return component{}, fmt.Errorf("worker: %w", err)
	}
	log := a.Log.With("component", "worker")
	acts := activities.New(store, activities.NewHelpdeskClient(a.ServiceURL("helpdesk"), tokens))
	w := workers.NewWorker(tc, a.Config.TemporalTaskQueue, acts)
	starter := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(workers.StarterQueue), workers.NewTicketStarter(tc, a.Config.TemporalTaskQueue, log), log)
	comments := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(workers.CommentQueue), workers.NewCommentSignaller(tc, log), log)
	priorities := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(workers.PriorityQueue), workers.NewPrioritySignaller(tc, log), log)
	workers.RegisterWebhooks(w, activities.NewWebhookActivities(store, a.webhookGuard()))
	webhooks := rabbitmq.NewConsumer(a.Config.AMQPURL, a.queue(workflow.WebhooksQueue),
		workflow.NewWebhookDispatcher(store, tc, a.Config.TemporalTaskQueue, a.webhookSettings(), log).Handle, log)
	mailLoops, err := a.registerMailIn(ctx, w, tc, tokens, log)
	if err != nil {
		return component{}, fmt.Errorf("worker: mail-in: %w", err)
	}
	runWorker := func(ctx context.Context) error {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start temporal worker: %w", err)
		}
		<-ctx.Done()
		w.Stop()
		return nil
	}
	return component{
		name: "worker",
		checks: []httpx.Check{
			{Name: "temporal", Ping: func(ctx context.Context) error { return temporalx.CheckHealth(ctx, tc) }},
		},
		loops: append([]func(context.Context) error{runWorker, starter.Run, comments.Run, priorities.Run, webhooks.Run}, mailLoops...),
	}, nil
}

// webhookGuard is the check of webhook URLs and of the connections made to
// them (WEBHOOK_ALLOW_PRIVATE).
func (a *App) webhookGuard() workflow.URLGuard {
	return workflow.URLGuard{AllowPrivate: a.Config.WebhookAllowPrivate}
}

// webhookSettings are the delivery settings of the webhook workflows the
// dispatcher starts (WEBHOOK_*).
func (a *App) webhookSettings() workflows.WebhookSettings {
	return workflows.WebhookSettings{
		FailureWindow:   a.Config.WebhookFailureWindow,
		InitialInterval: a.Config.WebhookRetryInterval,
		MaxInterval:     a.Config.WebhookMaxRetryInterval,
		AttemptTimeout:  a.Config.WebhookTimeout,
	}
}
