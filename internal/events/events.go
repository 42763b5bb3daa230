// Package events is the contract every Ticketflow service speaks on the
// message bus: the CloudEvents 1.0 JSON envelope and the names of the event
// types. It builds envelopes for publishers and parses them, strictly, for
// consumers, which must treat every message as hostile input.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The event types of Ticketflow. The type is also the RabbitMQ routing key,
// so consumers bind to these names (or to patterns such as "ticket.*").
const (
	TicketCreated       = "ticket.created"
	TicketUpdated       = "ticket.updated"
	TicketAssigned      = "ticket.assigned"
	TicketStatusChanged = "ticket.status_changed"
	CommentCreated      = "comment.created"
	SLAWarning          = "sla.warning"
	SLABreached         = "sla.breached"
	UserCreated         = "user.created"
	UserUpdated         = "user.updated"
	// WebhookDisabled tells the admins that the workflow engine turned a
	// webhook endpoint off because its receiver kept failing. It is not
	// in Types(): an internal notice, not an event webhooks deliver.
	WebhookDisabled = "webhook.disabled"
	// SurveyRequested asks the requester of a resolved ticket for a
	// rating; its data carries the signed one-click link token, so it is
	// not in Types() either: webhooks must never deliver it.
	SurveyRequested = "survey.requested"
	// UserPasswordResetRequested asks the notification service to mail a
	// password reset link; its data carries the reset token, so it is not
	// in Types(): webhooks must never deliver it.
	UserPasswordResetRequested = "user.password_reset_requested"
)

// Types returns every event type of Ticketflow, in a new slice.
func Types() []string {
	return []string{
		TicketCreated, TicketUpdated, TicketAssigned, TicketStatusChanged,
		CommentCreated, SLAWarning, SLABreached, UserCreated, UserUpdated,
	}
}

const (
	// SpecVersion is the only CloudEvents version this package produces or accepts.
	SpecVersion = "1.0"
	// ContentTypeJSON is the data content type of every event New builds.
	ContentTypeJSON = "application/json"
	// MaxSize bounds an encoded event, so a hostile message cannot make a
	// consumer allocate without limit. Events carry identifiers and short
	// fields, never attachments.
	MaxSize = 1 << 20
	// MaxAttributeLen bounds id and type: the type is the AMQP routing key
	// and the id the AMQP message id, both short strings of at most 255 bytes.
	MaxAttributeLen = 255
)

// ErrInvalid is wrapped by every error that reports a malformed event, so a
// consumer can tell a poison message from a failure of its own.
var ErrInvalid = errors.New("invalid event")

// Event is a CloudEvents 1.0 envelope in its JSON format. Data holds the
// event's payload as JSON; decode it with DecodeData.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time,omitzero"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// New builds an event of type typ emitted by source (the emitting service,
// such as "/helpdesk") about subject (usually the ID of the ticket or user it
// concerns; may be empty), with data encoded as JSON. The event gets a fresh
// UUID, so consumers can deduplicate redeliveries by ID, and the current UTC time.
func New(source, typ, subject string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s data: %w", typ, err)
	}
	e := Event{
		SpecVersion:     SpecVersion,
		ID:              uuid.NewString(),
		Source:          source,
		Type:            typ,
		Time:            time.Now().UTC(),
		Subject:         subject,
		DataContentType: ContentTypeJSON,
		Data:            raw,
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// Parse decodes one JSON-encoded event and validates it (see Validate).
// Unknown attributes, which CloudEvents allows as extensions, are ignored;
// anything after the event object is an error. Every error wraps ErrInvalid.
func Parse(b []byte) (Event, error) {
	if len(b) > MaxSize {
		return Event{}, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalid, len(b), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var e Event
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, fmt.Errorf("%w: trailing data after the event", ErrInvalid)
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// Validate reports whether e is an event this system may publish or act on:
// specversion 1.0; id, source and type present; id and type short enough for
// AMQP; a JSON data content type, if any; and data present and not null.
// The error wraps ErrInvalid.
func (e Event) Validate() error {
	var problems []string
	if e.SpecVersion != SpecVersion {
		problems = append(problems, fmt.Sprintf("specversion %q, want %q", e.SpecVersion, SpecVersion))
	}
	if e.ID == "" {
		problems = append(problems, "id missing")
	} else if len(e.ID) > MaxAttributeLen {
		problems = append(problems, fmt.Sprintf("id longer than %d bytes", MaxAttributeLen))
	}
	if e.Source == "" {
		problems = append(problems, "source missing")
	}
	if e.Type == "" {
		problems = append(problems, "type missing")
	} else if len(e.Type) > MaxAttributeLen {
		problems = append(problems, fmt.Sprintf("type longer than %d bytes", MaxAttributeLen))
	}
	if e.DataContentType != "" && !isJSONMediaType(e.DataContentType) {
		problems = append(problems, fmt.Sprintf("datacontenttype %q is not JSON", e.DataContentType))
	}
	if d := bytes.TrimSpace(e.Data); len(d) == 0 || bytes.Equal(d, []byte("null")) {
		problems = append(problems, "data missing")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// DecodeData decodes the event's data into v.
func (e Event) DecodeData(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s data of event %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// isJSONMediaType accepts application/json, text/json and any +json type,
// the media types whose CloudEvents JSON encoding keeps data as JSON.
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
