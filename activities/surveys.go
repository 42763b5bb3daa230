package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	raw, err := json.Marshal(surveyRequest{RequestKey: in.RequestKey, AgentID: in.AgentID, TeamID: in.TeamID})
	if err != nil {
		return fmt.Errorf("encode survey request of %s: %w", in.TicketID, err)
	}
	u := c.base + "/helpdesk/internal/tickets/" + url.PathEscape(in.TicketID) + "/survey"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("survey request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ask the helpdesk for a survey of %s: %w", in.TicketID, err)
	}
	defer res.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	switch {
	case res.StatusCode == http.StatusOK:
		return nil
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusConflict || res.StatusCode == http.StatusUnprocessableEntity:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the helpdesk refused the survey of %s: %d %s", in.TicketID, res.StatusCode, detail), workflows.ErrSurveyRefused, nil)
	default:
		return fmt.Errorf("ask the helpdesk for a survey of %s: %d %s", in.TicketID, res.StatusCode, detail)
	}
}
