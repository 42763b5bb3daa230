package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/workflows"
)

// RequestSurvey asks the helpdesk to invite the requester of a resolved
// ticket to rate it; the helpdesk stores the survey and announces it.
func (a *Activities) RequestSurvey(ctx context.Context, in workflows.RequestSurveyInput) error {
	return a.helpdesk.RequestSurvey(ctx, in)
}

// surveyRequest is the body of POST /helpdesk/internal/tickets/{id}/survey.
type surveyRequest struct {
	RequestKey string `json:"request_key"`
	AgentID    string `json:"agent_id,omitempty"`
	TeamID     string `json:"team_id,omitempty"`
}

// RequestSurvey calls the helpdesk's survey route. A refusal (the ticket
// unknown or no longer resolved, a malformed request) fails for good;
// anything else is retried by Temporal.
func (c *HelpdeskClient) RequestSurvey(ctx context.Context, in workflows.RequestSurveyInput) error {
	status, detail, err := c.call(ctx, http.MethodPost, "/helpdesk/internal/tickets/"+url.PathEscape(in.TicketID)+"/survey",
		surveyRequest{RequestKey: in.RequestKey, AgentID: in.AgentID, TeamID: in.TeamID})
	if err != nil {
		return fmt.Errorf("ask the helpdesk for a survey of %s: %w", in.TicketID, err)
	}
	switch {
	case status == http.StatusOK:
		return nil
	case status == http.StatusNotFound || status == http.StatusConflict || status == http.StatusUnprocessableEntity:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the helpdesk refused the survey of %s: %d %s", in.TicketID, status, detail), workflows.ErrSurveyRefused, nil)
	default:
		return fmt.Errorf("ask the helpdesk for a survey of %s: %d %s", in.TicketID, status, detail)
	}
}
