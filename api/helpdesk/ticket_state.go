package helpdesk

import (
	"context"
	"encoding/json"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// OptionalID is a JSON field that tells "absent" (leave as is), null and ""
// (none) and an ID apart.
type OptionalID struct {
	// Set is true when the field was present, even as null.
	Set bool
	// ID is nil for null or "", the ID otherwise.
	ID *string
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *OptionalID) UnmarshalJSON(b []byte) error {
	o.Set, o.ID = true, nil
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s != "" {
		o.ID = &s
	}
	return nil
}

// MarshalJSON implements json.Marshaler; with the omitzero option an unset
// field is left out.
func (o OptionalID) MarshalJSON() ([]byte, error) { return json.Marshal(o.ID) }

// IsZero reports whether the field is absent, for the omitzero option.
func (o OptionalID) IsZero() bool { return !o.Set }

// StateChange is the body of PUT /helpdesk/internal/tickets/{id}/state:
// the workflow engine recording a ticket's step, status, assignee and,
// after an escalation, priority.
type StateChange struct {
	// ChangeID is the idempotency key: a change ID applied before is not
	// applied again. 1 to 200 characters.
	ChangeID string `json:"change_id"`
	// Step is the process step, 1 to 64 of [a-z0-9_].
	Step   string `json:"step"`
	Status Status `json:"status"`
	// AssigneeID is the agent now responsible; null (or "") unassigns,
	// absent leaves the assignee as it is.
	AssigneeID OptionalID `json:"assignee_id,omitzero"`
	// Priority, when set, replaces the ticket's priority (escalations raise it).
	Priority Priority `json:"priority,omitempty"`
	// ActorID is who caused the change: a user's ID, or empty for the
	// workflow itself, recorded then as the calling service.
	ActorID string `json:"actor_id,omitempty"`
	// Reason explains the change in the history, at most 500 characters.
	Reason string `json:"reason,omitempty"`
}

// stepPattern is what a process step key may look like.
var stepPattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

func (c StateChange) validate() error {
	var f fieldErrors
	if c.ChangeID == "" {
		f.add("change_id", "is required")
	} else {
		f.checkText("change_id", c.ChangeID, 200)
	}
	if !stepPattern.MatchString(c.Step) {
		f.add("step", "must be 1 to 64 lower-case letters, digits or '_'")
	}
	if !c.Status.Valid() {
		f.add("status", "must be one of: new open pending resolved closed")
	}
	if c.AssigneeID.ID != nil {
		f.checkUUID("assignee_id", *c.AssigneeID.ID)
	}
	if c.Priority != "" && !c.Priority.Valid() {
		f.add("priority", "must be one of: low normal high urgent")
	}
	f.checkText("actor_id", c.ActorID, 200)
	f.checkText("reason", c.Reason, 500)
	return f.err(apperr.Unprocessable, "the request has invalid fields")
}

// apply returns t with the state change applied.
func (c StateChange) apply(t Ticket) Ticket {
	t.Step, t.Status = c.Step, c.Status
	if c.AssigneeID.Set {
		t.AssigneeID = c.AssigneeID.ID
		t.AssigneeName = ""
	}
	if c.Priority != "" {
		t.Priority = c.Priority
	}
	return t
}

// ApplyState records the workflow engine's change to a ticket, once per
// change ID: a change ID seen before returns the ticket as it is now and
// writes nothing. Fields that differ are recorded in the history and
// published in one ticket.updated; a change that changes nothing publishes
// nothing. Only services may call it.
func (s *Service) ApplyState(ctx context.Context, caller authn.User, id string, c StateChange) (Ticket, error) {
	if !caller.IsService() {
		return Ticket{}, apperr.New(apperr.Forbidden, "only services may record a ticket's state")
	}
	if err := c.validate(); err != nil {
		return Ticket{}, err
	}
	if !validID(id) {
		return Ticket{}, errNoTicket
	}
	actor := c.ActorID
	if actor == "" {
		actor = caller.ID
	}
	var (
		t       Ticket
		changes []Change
		applied bool
	)
	err := s.events.InTx(ctx, func(tx pgx.Tx) error {
		old, err := ticketByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if applied, err = claimChange(ctx, tx, c.ChangeID, id); err != nil || applied {
			t = old
			return err
		}
		t, changes, err = saveChanges(ctx, tx, old, c.apply(old), actor, c.Reason)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	log := logging.FromContext(ctx, s.log)
	switch {
	case applied:
		log.Debug("state change already applied", "ticket_id", id, "change_id", c.ChangeID)
	case len(changes) > 0:
		log.Info("ticket state recorded", "ticket_id", id, "change_id", c.ChangeID, "fields", changedFields(changes), "step", t.Step, "status", t.Status)
	}
	return t, nil
}

// Access is the answer to "may this user see this ticket", for services
// that guard something of a ticket's (messaging, before it accepts a comment).
type Access struct {
	TicketID    string  `json:"ticket_id"`
	RequesterID string  `json:"requester_id"`
	AssigneeID  *string `json:"assignee_id"`
	// Visible is true when the user is the requester, or an agent or admin.
	Visible bool `json:"visible"`
}

// Access tells whether the user userID, acting with role, may see the
// ticket id. An unknown ticket is a NotFound error.
func (s *Service) Access(ctx context.Context, id, userID string, role authn.Role) (Access, error) {
	if !validID(id) {
		return Access{}, errNoTicket
	}
	a, err := ticketAccess(ctx, s.pool, id)
	if err != nil {
		return Access{}, err
	}
	a.Visible = role == authn.RoleAgent || role == authn.RoleAdmin || a.RequesterID == userID
	return a, nil
}
