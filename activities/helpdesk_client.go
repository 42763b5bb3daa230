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
	status, detail, err := c.call(ctx, http.MethodPut, "/helpdesk/internal/tickets/"+url.PathEscape(in.TicketID)+"/state", body)
	if err != nil {
		return fmt.Errorf("record state of %s in the helpdesk: %w", in.TicketID, err)
	}
	switch {
	case status == http.StatusOK:
		return nil
	case status == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError("the helpdesk does not know ticket "+in.TicketID, workflows.ErrTicketNotFound, nil)
	case status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout && status != http.StatusUnauthorized:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the helpdesk refused the state of %s: %d %s", in.TicketID, status, detail), "StateRefused", nil)
	default:
		return fmt.Errorf("record state of %s in the helpdesk: %d %s", in.TicketID, status, detail)
	}
}

// call sends body as JSON to one of the helpdesk's routes (path from the
// root, /helpdesk/...) and returns the status and the start of the answer,
// for messages. An error means no answer came (the helpdesk down, a
// timeout): Temporal retries those.
func (c *HelpdeskClient) call(ctx context.Context, method, path string, body any) (int, string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, "", fmt.Errorf("encode the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(detail), nil
}
