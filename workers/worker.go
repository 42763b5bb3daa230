// Package workers puts Ticketflow's Temporal code to work: the worker that
// runs TicketWorkflow and its activities, and the RabbitMQ consumer that
// starts a ticket's workflow when the helpdesk announces the ticket.
package workers

import (
	_ "time/tzdata" // business-hours calendars must agree on every worker

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ticketflow/ticketflow/activities"
	"github.com/ticketflow/ticketflow/workflows"
)

// NewWorker returns a worker on taskQueue with TicketWorkflow and the
// activities registered. Run it with Run or Start/Stop.
func NewWorker(c client.Client, taskQueue string, acts *activities.Activities) worker.Worker {
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.TicketWorkflow)
	w.RegisterActivity(acts)
	return w
}

// RegisterWebhooks adds WebhookWorkflow, each webhook endpoint's delivery
// queue, and its activities to w.
func RegisterWebhooks(w worker.Registry, acts *activities.WebhookActivities) {
	w.RegisterWorkflow(workflows.WebhookWorkflow)
	w.RegisterActivity(acts)
}
