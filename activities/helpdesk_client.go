package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/workflows"
)

// HelpdeskClient calls the helpdesk's internal routes with a service token.
type HelpdeskClient struct {
	base string
	http *http.Client
}

// NewHelpdeskClient returns a client of the helpdesk at base (its root URL,
// without /helpdesk), authenticating with tokens from src.
func NewHelpdeskClient(base string, src authn.TokenSource) *HelpdeskClient {
	return &HelpdeskClient{
		base: base,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &authn.Transport{Source: src}},
	}
}

// stateRequest is the body of PUT /helpdesk/internal/tickets/{id}/state.
type stateRequest struct {
	ChangeID   string  `json:"change_id"`
	Step       string  `json:"step"`
	Status     string  `json:"status"`
	AssigneeID *string `json:"assignee_id"`
	Priority   string  `json:"priority,omitempty"`
	ActorID    string  `json:"actor_id,omitempty"`
	Reason     string  `json:"reason,omitempty"`
}

// SetState records step, status, assignee and priority. A ticket the
// helpdesk does not know, or a change it refuses, fails for good; anything
// else (the helpdesk down, a timeout) is retried by Temporal.
func (c *HelpdeskClient) SetState(ctx context.Context, in workflows.RecordStateInput) error {
	body := stateRequest{ChangeID: in.ChangeID, Step: in.Step, Status: in.Status, Priority: in.Priority, ActorID: in.ActorID, Reason: in.Reason}
	if in.KeepPriority {
		body.Priority = "" // the helpdesk keeps its own
	}
	if in.AssigneeID != "" {
		body.AssigneeID = &in.AssigneeID
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode state of %s: %w", in.TicketID, err)
	}
	u := c.base + "/helpdesk/internal/tickets/" + url.PathEscape(in.TicketID) + "/state"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("state request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("record state of %s in the helpdesk: %w", in.TicketID, err)
	}
	defer res.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	switch {
	case res.StatusCode == http.StatusOK:
		return nil
	case res.StatusCode == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError("the helpdesk does not know ticket "+in.TicketID, workflows.ErrTicketNotFound, nil)
	case res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusRequestTimeout && res.StatusCode != http.StatusUnauthorized:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the helpdesk refused the state of %s: %d %s", in.TicketID, res.StatusCode, detail), "StateRefused", nil)
	default:
		return fmt.Errorf("record state of %s in the helpdesk: %d %s", in.TicketID, res.StatusCode, detail)
	}
}
