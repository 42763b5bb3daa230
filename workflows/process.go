// Package workflows holds Ticketflow's Temporal workflows: TicketWorkflow,
// one durable run per ticket (workflow ID "ticket-<ticket id>"), driving the
// ticket's steps, round-robin assignment, SLA timers and escalations.
//
// ticket_contract.go is the package's contract with the API side: the names
// of its Updates, signals and queries and their argument types. process.go
// holds the process definitions and SLA policies that admins edit and that a
// run loads when it starts.
package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// Roles that may make a transition. "requester" is the ticket's requester,
// whatever their account role.
const (
	RoleRequester = "requester"
	RoleAgent     = "agent"
	RoleAdmin     = "admin"
	// RoleSystem is the workflow itself (auto-close, reopen on reply,
	// escalation); it may make any move of the definition.
	RoleSystem = "system"
)

// Ticket statuses, as the helpdesk stores them. A step's status says what
// the step means for SLAs and lists.
const (
	StatusNew      = "new"
	StatusOpen     = "open"
	StatusPending  = "pending" // waiting on the requester: SLA clocks pause
	StatusResolved = "resolved"
	StatusClosed   = "closed"
)

// Priorities, lowest first.
var Priorities = []string{"low", "normal", "high", "urgent"}

// RaisePriority returns the next priority up, or p itself at the top.
func RaisePriority(p string) string {
	i := slices.Index(Priorities, p)
	if i < 0 || i == len(Priorities)-1 {
		return p
	}
	return Priorities[i+1]
}

// Step is one step of a process.
type Step struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Terminal steps end the ticket's workflow.
	Terminal bool `json:"terminal"`
	// Status is what the step means: new, open, pending, resolved or
	// closed. Empty means open, or closed for a terminal step.
	Status string `json:"status,omitempty"`
}

// StatusOf returns the step's effective status.
func (s Step) StatusOf() string {
	switch {
	case s.Status != "":
		return s.Status
	case s.Terminal:
		return StatusClosed
	default:
		return StatusOpen
	}
}

// Transition allows a move between two steps to the given roles.
type Transition struct {
	From  string   `json:"from"`
	To    string   `json:"to"`
	Roles []string `json:"roles"`
}

// Definition is a category's process: its steps, the moves between them and
// who may make each, and the teams that handle its tickets. A run keeps the
// definition it started with; edits apply to tickets opened afterwards.
type Definition struct {
	CategoryID string `json:"category_id,omitempty"`
	// Version counts the edits of the category's definition; 0 is the
	// built-in default.
	Version int `json:"version"`
	// TeamID handles the category's tickets; empty leaves them unassigned
	// in triage.
	TeamID string `json:"team_id,omitempty"`
	// EscalationTeamID takes tickets whose SLA is breached; empty keeps
	// them with their team (the priority is still raised).
	EscalationTeamID string `json:"escalation_team_id,omitempty"`
	// Escalation is the chain a ticket's first SLA breach follows:
	// EscalateToTeamLead ("" counts as it), EscalateToTeam or EscalateNone.
	Escalation  string       `json:"escalation,omitempty"`
	Steps       []Step       `json:"steps"`
	Transitions []Transition `json:"transitions"`
}

// Step keys of the default process.
const (
	StepNew        = "new"
	StepTriage     = "triage"
	StepInProgress = "in_progress"
	StepWaiting    = "waiting_on_requester"
	StepResolved   = "resolved"
	StepClosed     = "closed"
)

// DefaultDefinition is the process of a category without its own:
// new → triage → in_progress ⇄ waiting_on_requester → resolved → closed,
// with resolved → in_progress (reopen).
func DefaultDefinition() Definition {
	staff := []string{RoleAgent, RoleAdmin}
	withRequester := []string{RoleAgent, RoleAdmin, RoleRequester}
	return Definition{
		Steps: []Step{
			{Key: StepNew, Name: "New", Status: StatusNew},
			{Key: StepTriage, Name: "Triage", Status: StatusOpen},
			{Key: StepInProgress, Name: "In progress", Status: StatusOpen},
			{Key: StepWaiting, Name: "Waiting on requester", Status: StatusPending},
			{Key: StepResolved, Name: "Resolved", Status: StatusResolved},
			{Key: StepClosed, Name: "Closed", Terminal: true, Status: StatusClosed},
		},
		Transitions: []Transition{
			{From: StepNew, To: StepTriage, Roles: staff},
			{From: StepTriage, To: StepInProgress, Roles: staff},
			{From: StepInProgress, To: StepWaiting, Roles: staff},
			{From: StepWaiting, To: StepInProgress, Roles: withRequester},
			{From: StepInProgress, To: StepResolved, Roles: staff},
			{From: StepResolved, To: StepClosed, Roles: withRequester},
			{From: StepResolved, To: StepInProgress, Roles: withRequester},
		},
	}
}

var stepKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate checks that the definition can run: step keys well-formed and
// unique, every transition between known steps with known roles, a first
// step, every step reachable from it, a terminal step, and a way out of
// every non-terminal step. Failures are Unprocessable errors naming each
// problem.
func (d Definition) Validate() error {
	var problems []apperr.FieldError
	add := func(field, format string, args ...any) {
		problems = append(problems, apperr.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(d.Steps) == 0 {
		add("steps", "a process needs at least one step")
	}
	if len(d.Steps) > 50 || len(d.Transitions) > 500 {
		if len(d.Steps) > 50 {
			add("steps", "a process has at most 50 steps")
		}
		if len(d.Transitions) > 500 {
			add("transitions", "a process has at most 500 transitions")
		}
		return apperr.WithFields(apperr.Unprocessable, "the process definition is invalid", problems...)
	}
	steps := map[string]Step{}
	terminal := false
	for i, s := range d.Steps {
		field := fmt.Sprintf("steps[%d]", i)
		_, dup := steps[s.Key]
		switch {
		case !stepKey.MatchString(s.Key):
			add(field+".key", "must be 1-64 lower-case letters, digits or '_', starting with a letter")
		case dup:
			add(field+".key", "step %q is defined twice", s.Key)
		}
		if n := utf8.RuneCountInString(s.Name); strings.TrimSpace(s.Name) == "" || n > 100 {
			add(field+".name", "must be 1-100 characters")
		}
		switch {
		case s.Status != "" && !slices.Contains([]string{StatusNew, StatusOpen, StatusPending, StatusResolved, StatusClosed}, s.Status):
			add(field+".status", "must be new, open, pending, resolved or closed")
		case s.Terminal && s.StatusOf() != StatusClosed:
			// The run ends at a terminal step: its ticket must leave the lists.
			add(field+".status", "a terminal step must have status closed")
		case !s.Terminal && s.StatusOf() == StatusClosed:
			// A closed ticket leaves the lists: its run must end there.
			add(field+".status", "only a terminal step can have status closed")
		}
		if dup {
			continue // keep the first definition for the checks below
		}
		steps[s.Key] = s
		terminal = terminal || s.Terminal
	}
	if len(d.Steps) > 0 && !terminal {
		add("steps", "no step is terminal")
	}
	if len(d.Steps) > 0 && d.Steps[0].Terminal {
		add("steps[0].terminal", "the first step, where every ticket starts, cannot be terminal")
	}
	next := map[string][]string{}
	type move struct{ from, to string }
	moves := map[move]bool{}
	for i, t := range d.Transitions {
		field := fmt.Sprintf("transitions[%d]", i)
		if moves[move{t.From, t.To}] {
			// Allowed would only ever see the first of them.
			add(field, "the move from %q to %q is defined twice", t.From, t.To)
		}
		moves[move{t.From, t.To}] = true
		if _, ok := steps[t.From]; !ok {
			add(field+".from", "unknown step %q", t.From)
		}
		if _, ok := steps[t.To]; !ok {
			add(field+".to", "unknown step %q", t.To)
		}
		if t.From == t.To {
			add(field, "a transition must change the step")
		}
		if steps[t.From].Terminal {
			add(field+".from", "step %q is terminal: nothing leaves it", t.From)
		}
		if len(t.Roles) == 0 {
			add(field+".roles", "name at least one role")
		}
		for _, r := range t.Roles {
			if !slices.Contains([]string{RoleRequester, RoleAgent, RoleAdmin}, r) {
				add(field+".roles", "unknown role %q (requester, agent or admin)", r)
			}
		}
		next[t.From] = append(next[t.From], t.To)
	}
	if len(d.Steps) > 0 {
		seen := map[string]bool{d.Steps[0].Key: true}
		queue := []string{d.Steps[0].Key}
		for len(queue) > 0 {
			k := queue[0]
			queue = queue[1:]
			for _, n := range next[k] {
				if !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
		for i, s := range d.Steps {
			if !seen[s.Key] {
				add(fmt.Sprintf("steps[%d]", i), "step %q cannot be reached from the first step %q", s.Key, d.Steps[0].Key)
			}
			if !s.Terminal && len(next[s.Key]) == 0 {
				add(fmt.Sprintf("steps[%d]", i), "step %q is not terminal but nothing leaves it", s.Key)
			}
		}
	}
	if d.TeamID != "" && d.TeamID == d.EscalationTeamID {
		add("escalation_team_id", "must differ from team_id")
	}
	switch d.Escalation {
	case "", EscalateToTeamLead, EscalateToTeam, EscalateNone:
	default:
		add("escalation", "must be team_lead, team or none")
	}
	if len(problems) > 0 {
		return apperr.WithFields(apperr.Unprocessable, "the process definition is invalid", problems...)
	}
	return nil
}

// StepOf returns the step with key k.
func (d Definition) StepOf(k string) (Step, bool) {
	for _, s := range d.Steps {
		if s.Key == k {
			return s, true
		}
	}
	return Step{}, false
}

// FirstStepWithStatus returns the first step whose status is status, or "".
func (d Definition) FirstStepWithStatus(status string) string {
	for _, s := range d.Steps {
		if s.StatusOf() == status {
			return s.Key
		}
	}
	return ""
}

// Allowed reports whether role may move a ticket from one step to another.
// The system may make any move of the definition.
func (d Definition) Allowed(from, to, role string) (exists, permitted bool) {
	for _, t := range d.Transitions {
		if t.From == from && t.To == to {
			return true, role == RoleSystem || slices.Contains(t.Roles, role)
		}
	}
	return false, false
}

// Moves returns the steps role may move a ticket to from step.
func (d Definition) Moves(from, role string) []string {
	out := []string{}
	for _, t := range d.Transitions {
		if t.From == from && (role == RoleSystem || slices.Contains(t.Roles, role)) {
			out = append(out, t.To)
		}
	}
	return out
}

// SLAPolicy sets the service levels of one priority. Changes apply to
// tickets opened afterwards.
type SLAPolicy struct {
	Priority string `json:"priority"`
	// FirstResponseSeconds is the time to the first public agent reply.
	FirstResponseSeconds int64 `json:"first_response_seconds"`
	// ResolutionSeconds is the time to resolution.
	ResolutionSeconds int64 `json:"resolution_seconds"`
	// WarnRatio is the share of a deadline at which sla.warning goes out.
	WarnRatio float64 `json:"warn_ratio"`
	// BusinessHours counts the deadlines in the team's business hours
	// rather than around the clock.
	BusinessHours bool `json:"business_hours"`
	// AutoCloseSeconds closes a resolved ticket the requester has not
	// answered for this long; 0 never does.
	AutoCloseSeconds int64 `json:"auto_close_seconds"`
}

// DefaultSLAPolicy is the policy of a priority no admin has set.
func DefaultSLAPolicy(priority string) SLAPolicy {
	hours := map[string][2]int64{"urgent": {1, 4}, "high": {4, 24}, "normal": {8, 72}, "low": {24, 168}}[priority]
	if hours == [2]int64{} {
		hours = [2]int64{8, 72}
	}
	return SLAPolicy{
		Priority:             priority,
		FirstResponseSeconds: hours[0] * 3600,
		ResolutionSeconds:    hours[1] * 3600,
		WarnRatio:            0.8,
		AutoCloseSeconds:     7 * 24 * 3600,
	}
}

// Validate checks an admin's policy.
func (p SLAPolicy) Validate() error {
	var problems []apperr.FieldError
	if !slices.Contains(Priorities, p.Priority) {
		problems = append(problems, apperr.FieldError{Field: "priority", Message: "must be low, normal, high or urgent"})
	}
	const year = int64(365 * 24 * 3600)
	if p.FirstResponseSeconds < 60 || p.FirstResponseSeconds > year {
		problems = append(problems, apperr.FieldError{Field: "first_response_seconds", Message: "must be from 60 seconds to a year"})
	}
	if p.ResolutionSeconds < p.FirstResponseSeconds || p.ResolutionSeconds > year {
		problems = append(problems, apperr.FieldError{Field: "resolution_seconds", Message: "must be at least first_response_seconds and at most a year"})
	}
	if p.WarnRatio <= 0 || p.WarnRatio >= 1 {
		problems = append(problems, apperr.FieldError{Field: "warn_ratio", Message: "must be between 0 and 1"})
	}
	if p.AutoCloseSeconds < 0 || p.AutoCloseSeconds > year {
		problems = append(problems, apperr.FieldError{Field: "auto_close_seconds", Message: "must be from 0 to a year"})
	}
	if len(problems) > 0 {
		return apperr.WithFields(apperr.Unprocessable, "the SLA policy is invalid", problems...)
	}
	return nil
}

// Calendar is a team's business hours: the weekdays and the daily window,
// in a time zone. SLA deadlines of business-hours policies only count time
// inside it.
type Calendar struct {
	TimeZone string         `json:"time_zone"` // IANA name, e.g. Europe/Berlin
	Days     []time.Weekday `json:"days"`      // 0 = Sunday
	// Start and End are minutes after midnight, e.g. 540 (09:00) and 1020 (17:00).
	Start int `json:"start_minute"`
	End   int `json:"end_minute"`
}

// Validate checks a calendar.
func (c Calendar) Validate() error {
	var problems []apperr.FieldError
	// "" and "Local" load without error but mean the machine's zone, which
	// differs between workers and would make replays nondeterministic.
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" || c.TimeZone == "Local" {
		problems = append(problems, apperr.FieldError{Field: "time_zone", Message: "must be an IANA time zone such as Europe/Berlin"})
	}
	if len(c.Days) == 0 {
		problems = append(problems, apperr.FieldError{Field: "days", Message: "name at least one weekday"})
	}
	for _, d := range c.Days {
		if d < time.Sunday || d > time.Saturday {
			problems = append(problems, apperr.FieldError{Field: "days", Message: "weekdays are 0 (Sunday) to 6"})
		}
	}
	if c.Start < 0 || c.End > 24*60 || c.Start >= c.End {
		problems = append(problems, apperr.FieldError{Field: "start_minute", Message: "need 0 <= start_minute < end_minute <= 1440"})
	}
	if len(problems) > 0 {
		return apperr.WithFields(apperr.Unprocessable, "the calendar is invalid", problems...)
	}
	return nil
}
