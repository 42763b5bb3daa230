package notification

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

// EventsQueue is the RabbitMQ queue of the notification consumer, and its
// name in the inbox that makes redeliveries no-ops.
const EventsQueue = "notification.events"

// EventTypes returns the event types the consumer reads, the bindings of
// EventsQueue.
func EventTypes() []string {
	return []string{
		events.TicketCreated, events.TicketUpdated, events.TicketAssigned, events.TicketStatusChanged,
		events.CommentCreated, events.SLAWarning, events.SLABreached, events.UserCreated, events.UserUpdated,
		events.WebhookDisabled,
		events.SurveyRequested,
		events.UserPasswordResetRequested,
	}
}

// webhookDisabledData is the data of webhook.disabled
// (workflow.WebhookDisabledEvent).
type webhookDisabledData struct {
	EndpointID string `json:"endpoint_id"`
	URL        string `json:"url"`
	Reason     string `json:"reason"`
}

// webhookDisabledChange tells every active admin, in the app, that a
// webhook endpoint was turned off.
func webhookDisabledChange(e events.Event) (change, error) {
	var d webhookDisabledData
	if err := decode(e, &d); err != nil {
		return change{}, err
	}
	var v validator
	v.id("endpoint_id", d.EndpointID)
	v.text("url", d.URL)
	v.text("reason", d.Reason)
	if err := v.err(); err != nil {
		return change{}, err
	}
	return change{notices: []notice{{
		kind: KindWebhookDisabled, title: d.URL, toAdmins: true, inAppOnly: true,
		link: "/admin/webhooks", detail: detail{reason: d.Reason},
	}}}, nil
}

// The data of the events the service reads, as their publishers write
// them. Only the fields used here are named; others are ignored, so a
// publisher may add fields without breaking this consumer.

// userData is the data of user.created and user.updated (auth.UserEvent).
type userData struct {
	ID     string     `json:"id"`
	Email  string     `json:"email"`
	Name   string     `json:"name"`
	Role   authn.Role `json:"role"`
	Active bool       `json:"active"`
}

// ticketData is a ticket as ticket.created and ticket.updated carry it
// (helpdesk.Ticket).
type ticketData struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Status      string  `json:"status"`
	RequesterID string  `json:"requester_id"`
	AssigneeID  *string `json:"assignee_id"`
	// Channel is how the ticket was opened: channelWeb (the web app or
	// the API) or channelEmail (helpdesk.TicketCreated); empty, from an
	// event older than the field, means unknown.
	Channel string `json:"channel"`
}

// The channels a ticket is opened through, as ticket.created tells them.
const (
	channelWeb   = "web"
	channelEmail = "email"
)

// ticketUpdatedData is the data of ticket.updated (helpdesk.TicketUpdated).
type ticketUpdatedData struct {
	Ticket  ticketData `json:"ticket"`
	ActorID string     `json:"actor_id"`
}

// assignedData is the data of ticket.assigned (workflows.AssignedEvent).
type assignedData struct {
	TicketID    string `json:"ticket_id"`
	Title       string `json:"title"`
	RequesterID string `json:"requester_id"`
	AssigneeID  string `json:"assignee_id"`
	ActorID     string `json:"actor_id"`
	Reason      string `json:"reason"`
}

// statusChangedData is the data of ticket.status_changed
// (workflows.StatusChangedEvent): From and To are steps, Status the
// ticket's status after the move.
type statusChangedData struct {
	TicketID    string `json:"ticket_id"`
	Title       string `json:"title"`
	RequesterID string `json:"requester_id"`
	AssigneeID  string `json:"assignee_id"`
	From        string `json:"from"`
	To          string `json:"to"`
	Status      string `json:"status"`
	ActorID     string `json:"actor_id"`
	Note        string `json:"note"`
}

// slaData is the data of sla.warning and sla.breached (workflows.SLAEvent,
// and workflows.SLABreachedEvent for breaches).
type slaData struct {
	TicketID    string    `json:"ticket_id"`
	Title       string    `json:"title"`
	RequesterID string    `json:"requester_id"`
	AssigneeID  string    `json:"assignee_id"`
	Priority    string    `json:"priority"`
	Kind        string    `json:"kind"` // first_response or resolution
	Due         time.Time `json:"due"`
	// TeamLeadID is the lead of the team whose SLA was breached
	// (sla.breached only).
	TeamLeadID string `json:"team_lead_id"`
}

// commentData is the data of comment.created, as messaging publishes it.
type commentData struct {
	CommentID   string `json:"comment_id"`
	TicketID    string `json:"ticket_id"`
	AuthorID    string `json:"author_id"`
	Internal    bool   `json:"internal"`
	Body        string `json:"body"`
	RequesterID string `json:"requester_id"`
	AssigneeID  string `json:"assignee_id"`
}

// change is what one event means to this service: facts for its
// directories and the notices to give.
type change struct {
	user    *userData
	ticket  *ticketFacts
	notices []notice
	// passwordReset is a reset link to mail, without a notification.
	passwordReset *passwordResetData
}

// ticketFacts is what an event tells of a ticket, for the directory.
// Empty IDs mean none; an empty Status means the event does not say.
type ticketFacts struct {
	ID          string
	Title       string
	RequesterID string
	AssigneeID  string
	Status      string
}

// interpret reads an event into the change it makes. It does not touch
// the database, so the rules of who hears what are testable on their own.
// An event that cannot be read is an error wrapping events.ErrInvalid; an
// event of a type the service does not read is no change at all.
func interpret(e events.Event) (change, error) {
	if e.Time.IsZero() {
		// Without a time, a late event could not be told from a new one.
		return change{}, fmt.Errorf("%w: event %s has no time", events.ErrInvalid, e.ID)
	}
	var (
		c   change
		err error
	)
	switch e.Type {
	case events.UserCreated, events.UserUpdated:
		c, err = userChange(e)
	case events.TicketCreated:
		c, err = ticketCreatedChange(e)
	case events.TicketUpdated:
		c, err = ticketUpdatedChange(e)
	case events.TicketAssigned:
		c, err = assignedChange(e)
	case events.TicketStatusChanged:
		c, err = statusChange(e)
	case events.CommentCreated:
		c, err = commentChange(e)
	case events.SLAWarning, events.SLABreached:
		c, err = slaChange(e)
	case events.SurveyRequested:
		c, err = surveyChange(e)
	case events.WebhookDisabled:
		c, err = webhookDisabledChange(e)
	case events.UserPasswordResetRequested:
		c, err = passwordResetChange(e)
	default:
		return change{}, nil
	}
	if err != nil {
		return change{}, fmt.Errorf("%s event %s: %w", e.Type, e.ID, err)
	}
	return c, nil
}

func userChange(e events.Event) (change, error) {
	var u userData
	if err := decode(e, &u); err != nil {
		return change{}, err
	}
	var v validator
	v.id("id", u.ID)
	v.text("email", u.Email)
	v.text("name", u.Name)
	if !u.Role.Valid() {
		v.add("role", "must be employee, agent or admin")
	}
	if u.Email != "" && !strings.Contains(u.Email, "@") {
		v.add("email", "must be an e-mail address")
	}
	return change{user: &u}, v.err()
}

func ticketCreatedChange(e events.Event) (change, error) {
	var t ticketData
	if err := decode(e, &t); err != nil {
		return change{}, err
	}
	facts, err := t.facts()
	if err != nil {
		return change{}, err
	}
	c := change{ticket: &facts}
	if confirmsTicket(t.Channel) {
		c.notices = []notice{{kind: KindTicketCreated, ticketID: t.ID, title: t.Title, to: []string{t.RequesterID}}}
	}
	return c, nil
}

// confirmsTicket reports whether the requester is told that their new
// ticket, opened through channel, was received. Nobody is told of their
// own change, but a ticket opened by e-mail is the exception help desks
// make: the sender, who sees nothing else, gets the ticket's reference
// and link by return. A ticket opened in the web app shows itself there
// at once, so its requester is not told. An event without a channel
// (published before the helpdesk said it) is confirmed, as it was then.
func confirmsTicket(channel string) bool {
	return channel == "" || channel == channelEmail
}

// ticketUpdatedChange only keeps the directory: the assignments and moves
// that ticket.updated reports are announced by the workflow's own
// ticket.assigned and ticket.status_changed, and edits of a ticket's text
// are not worth an interruption.
func ticketUpdatedChange(e events.Event) (change, error) {
	var u ticketUpdatedData
	if err := decode(e, &u); err != nil {
		return change{}, err
	}
	facts, err := u.Ticket.facts()
	return change{ticket: &facts}, err
}

func assignedChange(e events.Event) (change, error) {
	var a assignedData
	if err := decode(e, &a); err != nil {
		return change{}, err
	}
	var v validator
	v.id("ticket_id", a.TicketID)
	v.optionalID("requester_id", a.RequesterID)
	v.optionalID("assignee_id", a.AssigneeID)
	v.text("title", a.Title)
	v.text("reason", a.Reason)
	if err := v.err(); err != nil {
		return change{}, err
	}
	facts := ticketFacts{ID: a.TicketID, Title: a.Title, RequesterID: a.RequesterID, AssigneeID: a.AssigneeID}
	c := change{ticket: &facts}
	if a.AssigneeID != "" {
		c.notices = append(c.notices, notice{
			kind: KindAssigned, ticketID: a.TicketID, title: a.Title,
			to: []string{a.AssigneeID}, actor: a.ActorID, detail: detail{reason: a.Reason},
		})
	}
	return c, nil
}

func statusChange(e events.Event) (change, error) {
	var s statusChangedData
	if err := decode(e, &s); err != nil {
		return change{}, err
	}
	var v validator
	v.id("ticket_id", s.TicketID)
	v.optionalID("requester_id", s.RequesterID)
	v.optionalID("assignee_id", s.AssigneeID)
	v.text("title", s.Title)
	v.text("to", s.To)
	v.text("note", s.Note)
	if err := v.err(); err != nil {
		return change{}, err
	}
	facts := ticketFacts{ID: s.TicketID, Title: s.Title, RequesterID: s.RequesterID, AssigneeID: s.AssigneeID, Status: s.Status}
	c := change{ticket: &facts}
	if s.RequesterID != "" {
		c.notices = append(c.notices, notice{
			kind: KindStatusChanged, ticketID: s.TicketID, title: s.Title,
			to: []string{s.RequesterID}, actor: s.ActorID,
			detail: detail{step: s.To, status: s.Status, note: s.Note},
		})
	}
	return c, nil
}

func commentChange(e events.Event) (change, error) {
	var cm commentData
	if err := decode(e, &cm); err != nil {
		return change{}, err
	}
	var v validator
	v.id("ticket_id", cm.TicketID)
	v.id("author_id", cm.AuthorID)
	v.optionalID("requester_id", cm.RequesterID)
	v.optionalID("assignee_id", cm.AssigneeID)
	v.text("body", cm.Body)
	if err := v.err(); err != nil {
		return change{}, err
	}
	n := notice{
		kind: KindComment, ticketID: cm.TicketID, actor: cm.AuthorID,
		detail: detail{comment: cm.Body, internal: cm.Internal},
	}
	if cm.Internal {
		// Internal notes are for staff: never the requester, whoever
		// they are, and only an assignee who is staff.
		n.staffOnly = true
		n.to = nonEmpty(cm.AssigneeID)
	} else {
		n.to = nonEmpty(cm.RequesterID, cm.AssigneeID)
	}
	return change{notices: []notice{n}}, nil
}

// slaChange tells the assignee and every active admin of a warning; of a
// breach also the lead of the ticket's team. Never the ticket's author
// (its requester): an alert is for the people who owe the service, even
// when the requester is staff.
func slaChange(e events.Event) (change, error) {
	var s slaData
	if err := decode(e, &s); err != nil {
		return change{}, err
	}
	var v validator
	v.id("ticket_id", s.TicketID)
	v.optionalID("requester_id", s.RequesterID)
	v.optionalID("assignee_id", s.AssigneeID)
	v.optionalID("team_lead_id", s.TeamLeadID)
	v.text("title", s.Title)
	if err := v.err(); err != nil {
		return change{}, err
	}
	kind, to := KindSLAWarning, nonEmpty(s.AssigneeID)
	if e.Type == events.SLABreached {
		kind, to = KindSLABreached, nonEmpty(s.AssigneeID, s.TeamLeadID)
	}
	// The requester is left out as the actor is: recipients drops them
	// from the addressees and the admins alike.
	return change{notices: []notice{{
		kind: kind, ticketID: s.TicketID, title: s.Title,
		to: to, toAdmins: true, actor: s.RequesterID,
		detail: detail{slaKind: s.Kind, due: s.Due},
	}}}, nil
}

// facts checks a ticket of ticket.created or ticket.updated and returns
// what the directory keeps of it.
func (t ticketData) facts() (ticketFacts, error) {
	var v validator
	v.id("id", t.ID)
	v.id("requester_id", t.RequesterID)
	v.text("title", t.Title)
	assignee := ""
	if t.AssigneeID != nil {
		assignee = *t.AssigneeID
		v.optionalID("assignee_id", assignee)
	}
	return ticketFacts{ID: t.ID, Title: t.Title, RequesterID: t.RequesterID, AssigneeID: assignee, Status: t.Status}, v.err()
}

// decode reads an event's data; data of the wrong shape is invalid.
func decode(e events.Event, v any) error {
	if err := e.DecodeData(v); err != nil {
		return fmt.Errorf("%w: %v", events.ErrInvalid, err)
	}
	return nil
}

// validator collects what is wrong with an event's data.
type validator []string

func (v *validator) add(field, problem string) { *v = append(*v, field+" "+problem) }

// id requires a UUID.
func (v *validator) id(field, s string) {
	if uuid.Validate(s) != nil {
		v.add(field, "must be a UUID")
	}
}

// optionalID requires a UUID or nothing.
func (v *validator) optionalID(field, s string) {
	if s != "" {
		v.id(field, s)
	}
}

// text refuses NUL characters, which PostgreSQL cannot store in text.
func (v *validator) text(field, s string) {
	if strings.ContainsRune(s, 0) {
		v.add(field, "must not contain NUL characters")
	}
}

func (v validator) err() error {
	if len(v) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", events.ErrInvalid, strings.Join(v, "; "))
}

// nonEmpty returns the non-empty ids.
func nonEmpty(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// isInvalid reports whether err reports a malformed event.
func isInvalid(err error) bool { return errors.Is(err, events.ErrInvalid) }
