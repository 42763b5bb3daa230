package workflows

import (
	"encoding/json"
	"time"
)

// Names of the activities TicketWorkflow runs. The activities package
// registers methods of these names; the workflow calls them by name, so this
// package needs nothing of the activities' dependencies.
const (
	// ActivityLoadProcess loads the category's definition, the priority's
	// SLA policy and the team's calendar (local activity).
	ActivityLoadProcess = "LoadProcess"
	// ActivityAssignAgent picks the team's next available agent round-robin
	// (local activity).
	ActivityAssignAgent = "AssignAgent"
	// ActivityCheckAssignable tells whether a user may be assigned (local).
	ActivityCheckAssignable = "CheckAssignable"
	// ActivityRecordState writes step, status, assignee and priority to the
	// helpdesk and the board.
	ActivityRecordState = "RecordState"
	// ActivityPublishEvent writes an event to the workflow service's outbox
	// (local activity).
	ActivityPublishEvent = "PublishEvent"
)

// LoadProcessInput is the argument of ActivityLoadProcess.
type LoadProcessInput struct {
	CategoryID string `json:"category_id"`
	Priority   string `json:"priority"`
}

// LoadProcessResult is what a run starts with.
type LoadProcessResult struct {
	Definition Definition `json:"definition"`
	Policy     SLAPolicy  `json:"policy"`
	Calendar   *Calendar  `json:"calendar,omitempty"`
}

// AssignAgentInput is the argument of ActivityAssignAgent.
type AssignAgentInput struct {
	TicketID string `json:"ticket_id"`
	TeamID   string `json:"team_id"`
	// Key makes the assignment idempotent: a retried activity returns the
	// agent it picked before and advances the cursor once.
	Key string `json:"key"`
}

// AssignAgentResult names the agent, or none when nobody is available (the
// ticket is then recorded as waiting for the team).
type AssignAgentResult struct {
	AgentID string `json:"agent_id"`
}

// RecordStateInput is the argument of ActivityRecordState.
type RecordStateInput struct {
	// ChangeID makes the write idempotent in the helpdesk.
	ChangeID    string     `json:"change_id"`
	TicketID    string     `json:"ticket_id"`
	CategoryID  string     `json:"category_id"`
	Title       string     `json:"title"`
	RequesterID string     `json:"requester_id"`
	TeamID      string     `json:"team_id"`
	Step        string     `json:"step"`
	Status      string     `json:"status"`
	Priority    string     `json:"priority"`
	AssigneeID  string     `json:"assignee_id"`
	ActorID     string     `json:"actor_id"`
	Reason      string     `json:"reason"`
	SLABreached bool       `json:"sla_breached"`
	FirstDue    *time.Time `json:"first_response_due,omitempty"`
	ResolveDue  *time.Time `json:"resolution_due,omitempty"`
	At          time.Time  `json:"at"`

	// KeepPriority leaves the helpdesk's priority as it is (Priority then
	// goes to the board only): the helpdesk owns the priority, and the
	// run's copy may lag behind a change made there. Only an escalation,
	// which raises the priority, writes it.
	KeepPriority bool `json:"keep_priority,omitempty"`
}

// PublishEventInput is the argument of ActivityPublishEvent. The workflow
// picks the event's ID deterministically, so a retried or replayed publish
// is one event.
type PublishEventInput struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

// Data of the events the workflow publishes.

// AssignedEvent is the data of ticket.assigned.
type AssignedEvent struct {
	TicketID           string `json:"ticket_id"`
	Title              string `json:"title"`
	RequesterID        string `json:"requester_id"`
	AssigneeID         string `json:"assignee_id"`
	PreviousAssigneeID string `json:"previous_assignee_id,omitempty"`
	TeamID             string `json:"team_id,omitempty"`
	Priority           string `json:"priority"`
	ActorID            string `json:"actor_id,omitempty"`
	Reason             string `json:"reason"`
}

// StatusChangedEvent is the data of ticket.status_changed.
type StatusChangedEvent struct {
	TicketID    string `json:"ticket_id"`
	Title       string `json:"title"`
	RequesterID string `json:"requester_id"`
	AssigneeID  string `json:"assignee_id,omitempty"`
	From        string `json:"from"`
	To          string `json:"to"`
	Status      string `json:"status"`
	ActorID     string `json:"actor_id,omitempty"`
	Note        string `json:"note,omitempty"`
}

// SLAEvent is the data of sla.warning and sla.breached.
type SLAEvent struct {
	TicketID    string `json:"ticket_id"`
	Title       string `json:"title"`
	RequesterID string `json:"requester_id"`
	AssigneeID  string `json:"assignee_id,omitempty"`
	TeamID      string `json:"team_id,omitempty"`
	Priority    string `json:"priority"`
	// Kind is "first_response" or "resolution".
	Kind string    `json:"kind"`
	Due  time.Time `json:"due"`
}

// Escalation chains: where the first breach of a ticket takes it, as a
// definition's "escalation" says. Every chain raises the priority one
// level (up to urgent) and publishes sla.breached.
const (
	// EscalateToTeamLead gives the ticket to the lead of its team; with no
	// lead, or one who is away, it goes on as EscalateToTeam. It is the
	// chain of a definition that names none.
	EscalateToTeamLead = "team_lead"
	// EscalateToTeam moves the ticket to the definition's escalation team,
	// to its next agent round-robin; the current agent keeps it when
	// nobody there is available, and so does a definition without an
	// escalation team.
	EscalateToTeam = "team"
	// EscalateNone leaves the ticket with its team and agent.
	EscalateNone = "none"
)

// ActivityLoadEscalation tells a breached ticket where to escalate
// (LoadEscalationInput, LoadEscalationResult; local activity).
const ActivityLoadEscalation = "LoadEscalation"

// LoadEscalationInput is the argument of ActivityLoadEscalation.
type LoadEscalationInput struct {
	// CategoryID and DefinitionVersion name the definition the run
	// follows, whose chain counts.
	CategoryID        string `json:"category_id"`
	DefinitionVersion int    `json:"definition_version"`
	// TeamID is the ticket's team, whose lead is asked for.
	TeamID string `json:"team_id,omitempty"`
	// EscalationTeamID is the definition's escalation team, whose
	// business hours the ticket follows if it moves there.
	EscalationTeamID string `json:"escalation_team_id,omitempty"`
}

// LoadEscalationResult is where a breached ticket may go.
type LoadEscalationResult struct {
	// Chain is the definition's escalation chain; "" (or a value this
	// worker does not know) is EscalateToTeamLead.
	Chain string `json:"chain,omitempty"`
	// TeamLeadID is the lead of the ticket's team, "" for none.
	// LeadAvailable says whether they can take the ticket now: an
	// available member who is an active agent or admin.
	TeamLeadID    string `json:"team_lead_id,omitempty"`
	LeadAvailable bool   `json:"lead_available"`
	// EscalationCalendar is the escalation team's business hours, nil for
	// none.
	EscalationCalendar *Calendar `json:"escalation_calendar,omitempty"`
}

// SLABreachedEvent is the data of sla.breached since escalation chains:
// the SLAEvent with the assignee, team and priority after the escalation,
// and where it took the ticket.
type SLABreachedEvent struct {
	SLAEvent
	// TeamLeadID is the lead of the team whose SLA was breached, who is
	// told of it; "" when the team has none.
	TeamLeadID string `json:"team_lead_id,omitempty"`
	// EscalatedTo is where this breach took the ticket: EscalateToTeamLead,
	// EscalateToTeam, or EscalateNone when it stayed (a later breach, or
	// nobody to take it).
	EscalatedTo        string `json:"escalated_to"`
	PreviousAssigneeID string `json:"previous_assignee_id,omitempty"`
	PreviousTeamID     string `json:"previous_team_id,omitempty"`
}
