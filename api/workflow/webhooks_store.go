package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Webhook is a webhook endpoint as the API shows it. Secret is set only in
// the answer that created it or gave it a new one: it is shown once.
type Webhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Active      bool     `json:"active"`
	// DisabledAt and DisabledReason say when and why deliveries stopped
	// by themselves (the receiver kept failing); nil and "" otherwise.
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Secret         string     `json:"secret,omitempty"`
}

// WebhookSpec is what an admin gives to register an endpoint. URL has been
// checked by a URLGuard. An empty Secret has one generated.
type WebhookSpec struct {
	URL         string
	Description string
	EventTypes  []string
	Secret      string
	Active      bool
}

// WebhookPatch changes some of an endpoint's fields; nil ones stay.
type WebhookPatch struct {
	URL         *string // checked by a URLGuard
	Description *string
	EventTypes  []string // nil: unchanged
	Active      *bool
	// Secret sets the signing secret; RotateSecret generates a new one.
	Secret       *string
	RotateSecret bool
}

// WebhookDelivery is one entry of an endpoint's delivery log: an event and
// how its last attempt went.
type WebhookDelivery struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Subject   string `json:"subject"`
	// Status is pending, delivered, failed (the endpoint was disabled)
	// or dropped (an admin turned the endpoint off).
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	// The last attempt: the receiver's status code and the start of its
	// answer (both null when it could not be reached), how long it took,
	// and what went wrong.
	LastStatusCode *int       `json:"last_status_code"`
	LastResponse   *string    `json:"last_response"`
	LastDurationMS *int       `json:"last_duration_ms"`
	LastError      *string    `json:"last_error"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// WebhookTarget is what the deliverer needs of an endpoint.
type WebhookTarget struct {
	ID     string
	URL    string
	Secret string
	Active bool
}

// PendingDelivery is a delivery the deliverer is to send.
type PendingDelivery struct {
	ID        string
	EventID   string
	EventType string
	Status    string
	Payload   []byte
}

// WebhookAttempt is the outcome of one POST to a receiver.
type WebhookAttempt struct {
	Attempt    int
	StatusCode int // 0 when no answer came
	Response   string
	Duration   time.Duration
	Error      string
	Delivered  bool
	At         time.Time
}

// WebhookDisabledEvent is the data of the webhook.disabled event, which
// tells the notification service to warn the admins.
type WebhookDisabledEvent struct {
	EndpointID string    `json:"endpoint_id"`
	URL        string    `json:"url"`
	Reason     string    `json:"reason"`
	DisabledAt time.Time `json:"disabled_at"`
}

// Limits of webhook fields.
const (
	maxWebhookDescription = 200
	minWebhookSecret      = 16
	maxWebhookSecret      = 256
	// MaxWebhookResponse bounds the excerpt of a receiver's answer kept
	// in the delivery log, in bytes.
	MaxWebhookResponse = 1024
	maxWebhookError    = 500
	// MaxWebhookDeliveries is the longest page of a delivery log.
	MaxWebhookDeliveries = 100
)

var errNoWebhook = apperr.New(apperr.NotFound, "no such webhook")

// WebhookEventTypes returns the event types an endpoint may subscribe to:
// every event type of the architecture.
func WebhookEventTypes() []string { return events.Types() }

// NewWebhookSecret returns a fresh random signing secret.
func NewWebhookSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return "whsec_" + hex.EncodeToString(b)
}

// checkWebhook validates the fields of an endpoint other than its URL and
// returns the event types sorted and without duplicates, the description
// trimmed.
func checkWebhook(description string, types []string, secret *string) (string, []string, error) {
	var problems []apperr.FieldError
	description = strings.TrimSpace(description)
	if !utf8.ValidString(description) || utf8.RuneCountInString(description) > maxWebhookDescription || strings.ContainsRune(description, 0) {
		problems = append(problems, apperr.FieldError{Field: "description", Message: fmt.Sprintf("must be at most %d characters", maxWebhookDescription)})
	}
	known := WebhookEventTypes()
	if len(types) == 0 {
		problems = append(problems, apperr.FieldError{Field: "event_types", Message: "must name at least one event type"})
	}
	for _, t := range types {
		if !slices.Contains(known, t) {
			problems = append(problems, apperr.FieldError{Field: "event_types", Message: "must be among: " + strings.Join(known, ", ")})
			break
		}
	}
	if secret != nil {
		s := *secret
		if len(s) < minWebhookSecret || len(s) > maxWebhookSecret || strings.TrimSpace(s) != s || !isPrintableASCII(s) {
			problems = append(problems, apperr.FieldError{Field: "secret", Message: fmt.Sprintf("must be %d-%d printable ASCII characters without surrounding spaces", minWebhookSecret, maxWebhookSecret)})
		}
	}
	if len(problems) > 0 {
		return "", nil, apperr.WithFields(apperr.Unprocessable, "the webhook is invalid", problems...)
	}
	types = slices.Clone(types)
	slices.Sort(types)
	return description, slices.Compact(types), nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

const webhookColumns = `id::text, url, description, event_types, active, disabled_at, coalesce(disabled_reason, ''), created_at, updated_at`

func scanWebhook(row pgx.Row) (Webhook, error) {
	var w Webhook
	err := row.Scan(&w.ID, &w.URL, &w.Description, &w.EventTypes, &w.Active, &w.DisabledAt, &w.DisabledReason, &w.CreatedAt, &w.UpdatedAt)
	return w, err
}

// CreateWebhook registers an endpoint and returns it with its secret.
func (s *Store) CreateWebhook(ctx context.Context, spec WebhookSpec) (Webhook, error) {
	var secret *string
	if spec.Secret != "" {
		secret = &spec.Secret
	}
	desc, types, err := checkWebhook(spec.Description, spec.EventTypes, secret)
	if err != nil {
		return Webhook{}, err
	}
	if spec.Secret == "" {
		spec.Secret = NewWebhookSecret()
	}
	w, err := scanWebhook(s.pool.QueryRow(ctx, `
		INSERT INTO webhook_endpoints (id, url, description, event_types, secret, active)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+webhookColumns, uuid.NewString(), spec.URL, desc, types, spec.Secret, spec.Active))
	if err != nil {
		return Webhook{}, fmt.Errorf("insert webhook: %w", err)
	}
	w.Secret = spec.Secret
	return w, nil
}

// Webhooks returns every endpoint, oldest first, without secrets.
func (s *Store) Webhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) { return scanWebhook(r) })
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return list, nil
}

// Webhook returns one endpoint without its secret (NotFound for an unknown
// or malformed ID).
func (s *Store) Webhook(ctx context.Context, id string) (Webhook, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Webhook{}, errNoWebhook
	}
	w, err := scanWebhook(s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Webhook{}, errNoWebhook
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("read webhook %s: %w", id, err)
	}
	return w, nil
}

// UpdateWebhook applies p. Turning an endpoint on clears why it was
// disabled; turning it off drops its pending deliveries. The answer
// carries the secret only when p set or rotated it.
func (s *Store) UpdateWebhook(ctx context.Context, id string, p WebhookPatch) (Webhook, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Webhook{}, errNoWebhook
	}
	var out Webhook
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		w, err := scanWebhook(tx.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoWebhook
		}
		if err != nil {
			return fmt.Errorf("read webhook %s: %w", id, err)
		}
		desc, types := w.Description, w.EventTypes
		if p.Description != nil {
			desc = *p.Description
		}
		if p.EventTypes != nil {
			types = p.EventTypes
		}
		if p.Secret != nil && p.RotateSecret {
			return apperr.WithFields(apperr.Unprocessable, "the webhook is invalid",
				apperr.FieldError{Field: "rotate_secret", Message: "cannot be combined with secret"})
		}
		if desc, types, err = checkWebhook(desc, types, p.Secret); err != nil {
			return err
		}
		url, active := w.URL, w.Active
		if p.URL != nil {
			url = *p.URL
		}
		if p.Active != nil {
			active = *p.Active
		}
		secret := ""
		switch {
		case p.Secret != nil:
			secret = *p.Secret
		case p.RotateSecret:
			secret = NewWebhookSecret()
		}
		out, err = scanWebhook(tx.QueryRow(ctx, `
			UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, active = $5,
				secret = CASE WHEN $6 = '' THEN secret ELSE $6 END,
				disabled_at = CASE WHEN $5 THEN NULL ELSE disabled_at END,
				disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
				updated_at = now()
			WHERE id = $1
			RETURNING `+webhookColumns, id, url, desc, types, active, secret))
		if err != nil {
			return fmt.Errorf("update webhook %s: %w", id, err)
		}
		out.Secret = secret
		if !active && w.Active {
			return dropPending(ctx, tx, id, "dropped", "the endpoint was turned off")
		}
		return nil
	})
	if err != nil {
		return Webhook{}, err
	}
	return out, nil
}

// DeleteWebhook removes an endpoint and its delivery log.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	id, ok := canonicalID(id)
	if !ok {
		return errNoWebhook
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return errNoWebhook
	}
	return nil
}

const deliveryColumns = `id::text, event_id, event_type, subject, status, attempts, last_status_code, last_response,
	last_duration_ms, last_error, last_attempt_at, delivered_at, created_at`

// WebhookDeliveries returns up to limit of an endpoint's deliveries, newest
// first (NotFound for an unknown endpoint).
func (s *Store) WebhookDeliveries(ctx context.Context, id string, limit int) ([]WebhookDelivery, error) {
	if _, err := s.Webhook(ctx, id); err != nil {
		return nil, err
	}
	id, _ = canonicalID(id)
	if limit <= 0 || limit > MaxWebhookDeliveries {
		limit = MaxWebhookDeliveries
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE endpoint_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of webhook %s: %w", id, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookDelivery, error) {
		var d WebhookDelivery
		err := r.Scan(&d.ID, &d.EventID, &d.EventType, &d.Subject, &d.Status, &d.Attempts, &d.LastStatusCode, &d.LastResponse,
			&d.LastDurationMS, &d.LastError, &d.LastAttemptAt, &d.DeliveredAt, &d.CreatedAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries of webhook %s: %w", id, err)
	}
	return list, nil
}

// ActiveWebhooksFor returns the IDs of the active endpoints that want
// events of type typ.
func (s *Store) ActiveWebhooksFor(ctx context.Context, typ string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM webhook_endpoints WHERE active AND event_types @> ARRAY[$1]::text[] ORDER BY id`, typ)
	if err != nil {
		return nil, fmt.Errorf("webhooks for %s: %w", typ, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("webhooks for %s: %w", typ, err)
	}
	return ids, nil
}

// EnqueueWebhookDelivery records the delivery of event e (encoded as
// payload) to an endpoint, once per endpoint and event: a redelivered
// event finds its row. It returns the delivery's ID and whether it still
// waits to be sent (false once delivered or given up on).
func (s *Store) EnqueueWebhookDelivery(ctx context.Context, endpointID string, e events.Event, payload []byte) (string, bool, error) {
	var (
		id     string
		status string
	)
	err := s.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, subject, payload)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (endpoint_id, event_id) DO NOTHING
			RETURNING id::text, status
		)
		SELECT id, status FROM ins
		UNION ALL
		SELECT id::text, status FROM webhook_deliveries WHERE endpoint_id = $2 AND event_id = $3
		LIMIT 1`, uuid.NewString(), endpointID, e.ID, e.Type, e.Subject, payload).Scan(&id, &status)
	if err != nil {
		return "", false, fmt.Errorf("enqueue delivery of %s to webhook %s: %w", e.ID, endpointID, err)
	}
	return id, status == "pending", nil
}

// DeliveryTarget returns an endpoint with its secret and one of its
// deliveries; found is false when either no longer exists.
func (s *Store) DeliveryTarget(ctx context.Context, endpointID, deliveryID string) (WebhookTarget, PendingDelivery, bool, error) {
	var (
		t WebhookTarget
		d PendingDelivery
	)
	err := s.pool.QueryRow(ctx, `
		SELECT e.id::text, e.url, e.secret, e.active, d.id::text, d.event_id, d.event_type, d.status, d.payload
		FROM webhook_endpoints e JOIN webhook_deliveries d ON d.endpoint_id = e.id
		WHERE e.id = $1 AND d.id = $2`, endpointID, deliveryID).
		Scan(&t.ID, &t.URL, &t.Secret, &t.Active, &d.ID, &d.EventID, &d.EventType, &d.Status, &d.Payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return WebhookTarget{}, PendingDelivery{}, false, nil
	}
	if err != nil {
		return WebhookTarget{}, PendingDelivery{}, false, fmt.Errorf("read delivery %s: %w", deliveryID, err)
	}
	return t, d, true, nil
}

// RecordWebhookAttempt writes the outcome of an attempt to the delivery
// log. A delivered delivery stays delivered.
func (s *Store) RecordWebhookAttempt(ctx context.Context, deliveryID string, a WebhookAttempt) error {
	var code *int
	if a.StatusCode != 0 {
		code = &a.StatusCode
	}
	var resp, errText *string
	if a.StatusCode != 0 {
		r := clip(a.Response, MaxWebhookResponse)
		resp = &r
	}
	if a.Error != "" {
		e := clip(a.Error, maxWebhookError)
		errText = &e
	}
	ms := int(a.Duration.Milliseconds())
	_, err := s.pool.Exec(ctx, `
		UPDATE webhook_deliveries SET
			attempts = GREATEST(attempts + 1, $2),
			last_status_code = $3, last_response = $4, last_duration_ms = $5, last_error = $6, last_attempt_at = $7,
			status = CASE WHEN $8 THEN 'delivered' ELSE status END,
			delivered_at = CASE WHEN $8 THEN $7 ELSE delivered_at END
		WHERE id = $1 AND status <> 'delivered'`,
		deliveryID, a.Attempt, code, resp, ms, errText, a.At, a.Delivered)
	if err != nil {
		return fmt.Errorf("record attempt of delivery %s: %w", deliveryID, err)
	}
	return nil
}

// DisableWebhook turns an endpoint off after its receiver kept failing:
// its pending deliveries fail, and event (webhook.disabled) is written to
// the outbox in the same transaction with the ID eventID, so the admins are
// told exactly once. An endpoint already off (or gone) is left alone; the
// answer says whether this call turned it off.
func (s *Store) DisableWebhook(ctx context.Context, endpointID, reason, eventID string, at time.Time) (bool, error) {
	disabled := false
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var url string
		err := tx.QueryRow(ctx, `
			UPDATE webhook_endpoints SET active = false, disabled_at = $3, disabled_reason = $2, updated_at = now()
			WHERE id = $1 AND active
			RETURNING url`, endpointID, clip(reason, maxWebhookError), at).Scan(&url)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("disable webhook %s: %w", endpointID, err)
		}
		if err := dropPending(ctx, tx, endpointID, "failed", reason); err != nil {
			return err
		}
		event, err := events.New(EventSource, events.WebhookDisabled, endpointID, WebhookDisabledEvent{
			EndpointID: endpointID, URL: url, Reason: reason, DisabledAt: at.UTC(),
		})
		if err != nil {
			return err
		}
		event.ID, event.Time = eventID, at.UTC()
		if err := outbox.Write(ctx, tx, event); err != nil {
			return err
		}
		disabled = true
		return nil
	})
	if err == nil && disabled {
		_ = outbox.Notify(ctx, s.pool)
	}
	return disabled, err
}

// DropWebhookDeliveries gives up on an endpoint's pending deliveries, with
// status dropped.
func (s *Store) DropWebhookDeliveries(ctx context.Context, endpointID, reason string) error {
	return dropPending(ctx, s.pool, endpointID, "dropped", reason)
}

func dropPending(ctx context.Context, q postgres.Querier, endpointID, status, reason string) error {
	_, err := q.Exec(ctx, `UPDATE webhook_deliveries SET status = $2, last_error = coalesce(last_error, $3)
		WHERE endpoint_id = $1 AND status = 'pending'`, endpointID, status, clip(reason, maxWebhookError))
	if err != nil {
		return fmt.Errorf("give up deliveries of webhook %s: %w", endpointID, err)
	}
	return nil
}

// clip cuts s to at most n bytes on a character boundary, dropping
// invalid UTF-8 and NUL characters, which text columns cannot hold.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
