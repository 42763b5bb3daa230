package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/workflows"
)

// WebhooksQueue is the queue of the webhook dispatcher, bound to every
// event type a webhook may subscribe to. It is read one message at a time
// (prefetch 1), so events reach each endpoint's workflow in the order the
// bus delivered them, which keeps each ticket's events in order.
const WebhooksQueue = "workflow.webhooks"

// WebhookDispatcher hands events to the delivery workflows of the
// endpoints that want them.
type WebhookDispatcher struct {
	store     *Store
	temporal  client.Client
	taskQueue string
	settings  workflows.WebhookSettings
	log       *slog.Logger
}

// NewWebhookDispatcher returns the dispatcher; its Handle is the handler
// of WebhooksQueue. Runs it starts get settings and run on taskQueue.
func NewWebhookDispatcher(store *Store, c client.Client, taskQueue string, settings workflows.WebhookSettings, log *slog.Logger) *WebhookDispatcher {
	return &WebhookDispatcher{store: store, temporal: c, taskQueue: taskQueue, settings: settings, log: log}
}

// Handle records the event's delivery to every active endpoint that wants
// its type and signals each endpoint's workflow (starting it if need be).
// It is idempotent by event ID: a redelivered event finds its deliveries,
// signals again only those still pending, and the workflow drops a
// duplicate signal (and the activity never POSTs a delivered one twice).
// The message is acknowledged only once every workflow has the signal.
func (d *WebhookDispatcher) Handle(ctx context.Context, e events.Event) error {
	ids, err := d.store.ActiveWebhooksFor(ctx, e.Type)
	if err != nil || len(ids) == 0 {
		return err
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return rabbitmq.Permanent(fmt.Errorf("encode event %s: %w", e.ID, err))
	}
	log := logging.FromContext(ctx, d.log).With("event_id", e.ID, "event_type", e.Type)
	// The endpoints are independent queues: hand the event to each at once.
	// Each endpoint's order still holds, since the next message waits for
	// this one (prefetch 1).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(dispatchConcurrency)
	for _, id := range ids {
		g.Go(func() error { return d.dispatch(gctx, log, id, e, payload) })
	}
	return g.Wait()
}

// dispatchConcurrency bounds the endpoints one event is handed to at once.
const dispatchConcurrency = 8

// dispatch records the event's delivery to one endpoint and signals its
// workflow, unless the delivery was already made.
func (d *WebhookDispatcher) dispatch(ctx context.Context, log *slog.Logger, id string, e events.Event, payload []byte) error {
	deliveryID, pending, err := d.store.EnqueueWebhookDelivery(ctx, id, e, payload)
	if err != nil || !pending {
		return err
	}
	opts := client.StartWorkflowOptions{ID: workflows.WebhookWorkflowID(id), TaskQueue: d.taskQueue}
	sig := workflows.WebhookEventSignal{DeliveryID: deliveryID, EventID: e.ID, EventType: e.Type, Subject: e.Subject}
	in := workflows.WebhookInput{EndpointID: id, Settings: d.settings}
	if _, err := d.temporal.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalWebhookEvent, sig, opts, workflows.WebhookWorkflow, in); err != nil {
		return fmt.Errorf("signal webhook %s with event %s: %w", id, e.ID, err)
	}
	log.Debug("webhook delivery queued", "webhook_id", id, "delivery_id", deliveryID)
	return nil
}
