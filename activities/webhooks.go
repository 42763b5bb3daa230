package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/workflows"
)

// ErrWebhookFailed is the error type of a failed delivery attempt
// (retried by Temporal).
const ErrWebhookFailed = "WebhookFailed"

// webhookDrainBytes is how much of a receiver's answer beyond the logged
// excerpt is read (and discarded) so the connection can be reused.
const webhookDrainBytes = 64 << 10

// WebhookActivities are the activities of WebhookWorkflow; their method
// names are the activity names of workflows/webhook_contract.go.
type WebhookActivities struct {
	store  *workflow.Store
	client *http.Client
}

// NewWebhookActivities returns the webhook activities over the workflow
// store, connecting only where guard allows (checked on the dialled
// address, after DNS). No proxy from the environment is used (it would
// dial in the guard's place) and no redirect is followed (a redirect
// could point anywhere; the receiver's 3xx counts as a failure).
func NewWebhookActivities(store *workflow.Store, guard workflow.URLGuard) *WebhookActivities {
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           guard.Dialer(5 * time.Second).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	return &WebhookActivities{
		store: store,
		client: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// inactive is the non-retryable error of a delivery whose endpoint is off.
func inactive(endpointID string) error {
	return temporal.NewNonRetryableApplicationError("webhook "+endpointID+" is turned off or deleted", workflows.ErrWebhookInactive, nil)
}

// DeliverWebhook POSTs one delivery's CloudEvents envelope to the
// endpoint's receiver, signed (see WebhookSignatureHeader), and logs the
// outcome. A 2xx answer delivers it; anything else, or no answer, is a
// retryable failure. A delivery an earlier attempt delivered, or one given
// up on, is not sent (again); an endpoint turned off or deleted fails for
// good.
func (a *WebhookActivities) DeliverWebhook(ctx context.Context, in workflows.DeliverWebhookInput) (workflows.DeliverWebhookResult, error) {
	target, d, found, err := a.store.DeliveryTarget(ctx, in.EndpointID, in.DeliveryID)
	if err != nil {
		return workflows.DeliverWebhookResult{}, err
	}
	if !found || !target.Active {
		return workflows.DeliverWebhookResult{}, inactive(in.EndpointID)
	}
	if d.Status != "pending" {
		// Delivered by an earlier attempt, or given up on while the
		// endpoint was off (it is on again: the queue goes on with the
		// next delivery, and this one is not resent).
		return workflows.DeliverWebhookResult{Skipped: true}, nil
	}
	attempt := 1
	if activity.IsActivity(ctx) {
		attempt = int(activity.GetInfo(ctx).Attempt)
	}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	res, outcome := a.post(ctx, target, d, timeout)
	outcome.Attempt = attempt
	if err := a.store.RecordWebhookAttempt(ctx, d.ID, outcome); err != nil {
		return workflows.DeliverWebhookResult{}, err
	}
	if !outcome.Delivered {
		return workflows.DeliverWebhookResult{}, temporal.NewApplicationError(
			fmt.Sprintf("delivery %s attempt %d: %s", d.ID, attempt, outcome.Error), ErrWebhookFailed)
	}
	return res, nil
}

// post makes one attempt and describes it.
func (a *WebhookActivities) post(ctx context.Context, target workflow.WebhookTarget, d workflow.PendingDelivery, timeout time.Duration) (workflows.DeliverWebhookResult, workflow.WebhookAttempt) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	out := workflow.WebhookAttempt{At: start.UTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.URL, bytes.NewReader(d.Payload))
	if err != nil {
		out.Error = "cannot build the request: " + err.Error()
		return workflows.DeliverWebhookResult{}, out
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	req.Header.Set("User-Agent", "Ticketflow-Webhooks/1")
	req.Header.Set(WebhookSignatureHeader, SignWebhook(target.Secret, start, d.Payload))
	req.Header.Set("Ticketflow-Delivery", d.ID)
	req.Header.Set("Ticketflow-Event-Type", d.EventType)
	res, err := a.client.Do(req)
	if err != nil {
		out.Duration = time.Since(start)
		out.Error = describeWebhookError(err, timeout)
		return workflows.DeliverWebhookResult{}, out
	}
	defer res.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(res.Body, workflow.MaxWebhookResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, webhookDrainBytes))
	out.Duration = time.Since(start)
	out.StatusCode = res.StatusCode
	out.Response = string(excerpt)
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		out.Delivered = true
		return workflows.DeliverWebhookResult{StatusCode: res.StatusCode}, out
	}
	out.Error = fmt.Sprintf("the receiver answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	return workflows.DeliverWebhookResult{}, out
}

// describeWebhookError says why no answer came, for the delivery log.
func describeWebhookError(err error, timeout time.Duration) string {
	var netErr net.Error
	switch {
	case errors.Is(err, workflow.ErrBlockedAddress):
		return "refused to connect: the URL resolves to a private, loopback or otherwise internal address"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return fmt.Sprintf("no answer within %s", timeout)
	default:
		return err.Error()
	}
}

// DisableWebhook turns the endpoint off, fails its pending deliveries and
// publishes webhook.disabled (once, by the workflow's event ID).
func (a *WebhookActivities) DisableWebhook(ctx context.Context, in workflows.DisableWebhookInput) error {
	_, err := a.store.DisableWebhook(ctx, in.EndpointID, in.Reason, in.EventID, in.At)
	return err
}

// DropWebhookDeliveries gives up the pending deliveries of an endpoint
// that is off.
func (a *WebhookActivities) DropWebhookDeliveries(ctx context.Context, in workflows.DropWebhookDeliveriesInput) error {
	return a.store.DropWebhookDeliveries(ctx, in.EndpointID, in.Reason)
}
