package workflows

import "time"

// The contract of WebhookWorkflow, the delivery queue of one webhook
// endpoint: the names the dispatcher (which signals it) and the activities
// (which it runs) share with it.

// WebhookWorkflowID is the ID of an endpoint's delivery workflow: one
// running at a time per endpoint, which keeps its deliveries in order.
func WebhookWorkflowID(endpointID string) string { return "webhook-" + endpointID }

// Names of WebhookWorkflow's handlers and activities.
const (
	// SignalWebhookEvent hands the workflow one delivery to make
	// (WebhookEventSignal); it is sent with SignalWithStart.
	SignalWebhookEvent = "webhook-event"
	// QueryWebhookState returns the workflow's WebhookState.
	QueryWebhookState = "state"

	// ActivityDeliverWebhook POSTs one delivery to the endpoint's receiver.
	ActivityDeliverWebhook = "DeliverWebhook"
	// ActivityDisableWebhook turns the endpoint off after its receiver kept
	// failing for the failure window, and tells the admins.
	ActivityDisableWebhook = "DisableWebhook"
	// ActivityDropWebhookDeliveries gives up on the pending deliveries of
	// an endpoint an admin turned off or deleted.
	ActivityDropWebhookDeliveries = "DropWebhookDeliveries"
)

// ErrWebhookInactive is the error type of a delivery whose endpoint was
// turned off or deleted: retrying cannot help.
const ErrWebhookInactive = "WebhookInactive"

// WebhookSettings tune an endpoint's deliveries; the dispatcher sets them
// from the configuration when it starts a run, and continue-as-new keeps
// them.
type WebhookSettings struct {
	// FailureWindow is how long one delivery may keep failing, from its
	// first attempt, before the endpoint is disabled.
	FailureWindow time.Duration `json:"failure_window"`
	// InitialInterval and MaxInterval bound the exponential backoff
	// between attempts.
	InitialInterval time.Duration `json:"initial_interval"`
	MaxInterval     time.Duration `json:"max_interval"`
	// AttemptTimeout bounds one attempt (the HTTP request).
	AttemptTimeout time.Duration `json:"attempt_timeout"`
	// MaxRunSignals is how many events one run takes before it continues
	// as new, which bounds its history while a receiver is down. Default
	// 2000.
	MaxRunSignals int `json:"max_run_signals,omitempty"`
}

// withDefaults fills unset settings with the production defaults.
func (s WebhookSettings) withDefaults() WebhookSettings {
	if s.FailureWindow <= 0 {
		s.FailureWindow = 24 * time.Hour
	}
	if s.InitialInterval <= 0 {
		s.InitialInterval = time.Second
	}
	if s.MaxInterval < s.InitialInterval {
		s.MaxInterval = max(10*time.Minute, s.InitialInterval)
	}
	if s.AttemptTimeout <= 0 {
		s.AttemptTimeout = 10 * time.Second
	}
	if s.MaxRunSignals <= 0 {
		s.MaxRunSignals = 2000
	}
	return s
}

// WebhookInput starts (or continues) an endpoint's delivery workflow.
type WebhookInput struct {
	EndpointID string          `json:"endpoint_id"`
	Settings   WebhookSettings `json:"settings"`
	// Carried is the state of a run continuing as new; nil on the first.
	Carried *WebhookState `json:"carried,omitempty"`
}

// WebhookEventSignal is one delivery to make: the dispatcher has stored
// the event's envelope with the delivery.
type WebhookEventSignal struct {
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	// Subject is the event's subject, usually the ticket's ID.
	Subject string `json:"subject,omitempty"`
}

// WebhookState is what the workflow knows, as QueryWebhookState answers
// and continue-as-new carries it.
type WebhookState struct {
	// Queue holds the deliveries still to make, oldest first; the first is
	// being attempted.
	Queue []WebhookEventSignal `json:"queue"`
	// HeadSince is when the first delivery of Queue was first attempted;
	// the failure window counts from there. Nil between deliveries.
	HeadSince *time.Time `json:"head_since,omitempty"`
	// Seen are the latest event IDs queued, to drop duplicate signals.
	Seen []string `json:"seen,omitempty"`
	// Delivered counts the deliveries made by this endpoint's runs.
	Delivered int64 `json:"delivered"`
	// Disabled is set once the workflow turned the endpoint off.
	Disabled bool `json:"disabled"`
}

// DeliverWebhookInput is the argument of ActivityDeliverWebhook.
type DeliverWebhookInput struct {
	EndpointID string `json:"endpoint_id"`
	DeliveryID string `json:"delivery_id"`
	// Timeout bounds the HTTP request.
	Timeout time.Duration `json:"timeout"`
}

// DeliverWebhookResult is a successful delivery: the receiver's status,
// or Skipped when an earlier attempt had delivered it already.
type DeliverWebhookResult struct {
	StatusCode int  `json:"status_code"`
	Skipped    bool `json:"skipped,omitempty"`
}

// DisableWebhookInput is the argument of ActivityDisableWebhook. EventID
// is chosen by the workflow, so a retried activity tells the admins once.
type DisableWebhookInput struct {
	EndpointID string    `json:"endpoint_id"`
	Reason     string    `json:"reason"`
	EventID    string    `json:"event_id"`
	At         time.Time `json:"at"`
}

// DropWebhookDeliveriesInput is the argument of
// ActivityDropWebhookDeliveries.
type DropWebhookDeliveriesInput struct {
	EndpointID string `json:"endpoint_id"`
	Reason     string `json:"reason"`
}
