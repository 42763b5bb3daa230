// Package activities holds the Temporal activities of TicketWorkflow: short,
// idempotent steps against the workflow engine's own store (run as local
// activities) and the write of a ticket's state to the helpdesk, its source
// of truth.
package activities

import (
	"context"
	"fmt"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/workflows"
)

// Activities are registered on the worker as one struct; their method names
// are the activity names of workflows/activity_contract.go.
type Activities struct {
	store    *workflow.Store
	helpdesk *HelpdeskClient
}

// New returns the activities over the workflow store and the helpdesk.
func New(store *workflow.Store, helpdesk *HelpdeskClient) *Activities {
	return &Activities{store: store, helpdesk: helpdesk}
}

// LoadProcess returns what a new run needs: the category's process, the
// priority's SLA policy and the handling team's business hours.
func (a *Activities) LoadProcess(ctx context.Context, in workflows.LoadProcessInput) (workflows.LoadProcessResult, error) {
	def, err := a.store.Definition(ctx, in.CategoryID)
	if err != nil {
		return workflows.LoadProcessResult{}, fmt.Errorf("definition of %s: %w", in.CategoryID, err)
	}
	policy, err := a.store.SLAPolicy(ctx, in.Priority)
	if err != nil {
		return workflows.LoadProcessResult{}, fmt.Errorf("SLA policy of %s: %w", in.Priority, err)
	}
	res := workflows.LoadProcessResult{Definition: def, Policy: policy}
	if def.TeamID != "" {
		if res.Calendar, err = a.store.TeamCalendar(ctx, def.TeamID); err != nil {
			return workflows.LoadProcessResult{}, fmt.Errorf("calendar of team %s: %w", def.TeamID, err)
		}
	}
	return res, nil
}

// AssignAgent picks the team's next available agent round-robin. With none
// available the ticket is recorded as waiting for the team, so that an
// agent becoming available signals it.
func (a *Activities) AssignAgent(ctx context.Context, in workflows.AssignAgentInput) (workflows.AssignAgentResult, error) {
	assignment, err := a.store.AssignTicket(ctx, in.TeamID, in.TicketID, in.Key)
	if err != nil {
		return workflows.AssignAgentResult{}, fmt.Errorf("assign ticket %s: %w", in.TicketID, err)
	}
	agent := assignment.AgentID
	if assignment.Released != "" {
		a.signalWaiting(ctx, assignment.Released)
	}
	if agent == "" {
		err = a.store.MarkWaiting(ctx, in.TicketID, in.TeamID)
	} else {
		err = a.store.ClearWaiting(ctx, in.TicketID)
	}
	if err != nil {
		return workflows.AssignAgentResult{}, fmt.Errorf("assign ticket %s: %w", in.TicketID, err)
	}
	return workflows.AssignAgentResult{AgentID: agent}, nil
}

// CheckAssignable tells whether a user is an active agent or admin.
func (a *Activities) CheckAssignable(ctx context.Context, userID string) (bool, error) {
	return a.store.IsAssignable(ctx, userID)
}

// RecordState writes the ticket's state to the helpdesk (idempotently, by
// change ID), then to the board the agents read.
func (a *Activities) RecordState(ctx context.Context, in workflows.RecordStateInput) error {
	if err := a.helpdesk.SetState(ctx, in); err != nil {
		return err
	}
	if in.AssigneeID != "" {
		if err := a.store.ClearWaiting(ctx, in.TicketID); err != nil {
			return err
		}
	}
	freed, err := a.store.SyncOpenTicket(ctx, in.TicketID, in.AssigneeID, in.Status)
	if err != nil {
		return err
	}
	if freed != "" {
		a.signalWaiting(ctx, freed)
	}
	return a.store.UpsertTicket(ctx, workflow.TicketRow{
		TicketID:         in.TicketID,
		CategoryID:       in.CategoryID,
		Title:            in.Title,
		Priority:         in.Priority,
		Step:             in.Step,
		Status:           in.Status,
		AssigneeID:       in.AssigneeID,
		RequesterID:      in.RequesterID,
		TeamID:           in.TeamID,
		SLABreached:      in.SLABreached,
		FirstResponseDue: in.FirstDue,
		ResolutionDue:    in.ResolveDue,
		UpdatedAt:        in.At,
	})
}

// PublishEvent writes an event to the workflow service's outbox. The event
// ID comes from the workflow, so a retry publishes one event.
func (a *Activities) PublishEvent(ctx context.Context, in workflows.PublishEventInput) error {
	e := events.Event{
		SpecVersion:     events.SpecVersion,
		ID:              in.ID,
		Source:          "/workflow",
		Type:            in.Type,
		Time:            in.Time.UTC(),
		Subject:         in.Subject,
		DataContentType: events.ContentTypeJSON,
		Data:            in.Data,
	}
	return a.store.PublishEvent(ctx, e)
}

// LoadEscalation tells a breached ticket where it may go: its definition's
// escalation chain, its team's lead and the escalation team's hours.
func (a *Activities) LoadEscalation(ctx context.Context, in workflows.LoadEscalationInput) (workflows.LoadEscalationResult, error) {
	res, err := a.store.Escalation(ctx, in)
	if err != nil {
		return workflows.LoadEscalationResult{}, fmt.Errorf("escalation of ticket team %s: %w", in.TeamID, err)
	}
	return res, nil
}
