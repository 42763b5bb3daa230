package workers

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketflow/ticketflow/activities"
	"github.com/ticketflow/ticketflow/workflows"
)

// RegisterInboundMail registers InboundMailWorkflow and its activities on
// w, beside the ticket workflow.
func RegisterInboundMail(w worker.Worker, acts *activities.InboundMail) {
	w.RegisterWorkflowWithOptions(workflows.InboundMailWorkflow, workflow.RegisterOptions{Name: workflows.InboundMailWorkflowName})
	w.RegisterActivity(acts)
}
