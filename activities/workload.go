package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/ticketflow/ticketflow/workflows"
)

// waitingSignalLimit bounds how many waiting tickets one freed slot wakes:
// the longest waiting, each of which tries the assignment again. Tickets
// not woken find the room on their own re-check timer.
const waitingSignalLimit = 10

// signalWaiting tells the tickets waiting for a team of agent, who may
// have room now (a ticket of theirs was resolved, closed or moved), to try
// their assignment again. Failures are logged only: every waiting ticket
// also re-checks on a timer.
func (a *Activities) signalWaiting(ctx context.Context, agent string) {
	if !activity.IsActivity(ctx) {
		return
	}
	log := activity.GetLogger(ctx)
	ids, err := a.store.WaitingForAgent(ctx, agent, waitingSignalLimit)
	if err != nil {
		log.Warn("list tickets waiting for an agent's teams", "agent_id", agent, "error", err)
		return
	}
	c := activity.GetClient(ctx)
	if c == nil {
		return
	}
	for _, id := range ids {
		if err := c.SignalWorkflow(ctx, workflows.TicketWorkflowID(id), "", workflows.SignalAgentAvailable, nil); err != nil {
			log.Warn("signal waiting ticket", "ticket_id", id, "error", err)
		}
	}
}
