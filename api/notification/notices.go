package notification

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// notice is one thing to tell about a ticket: what, to whom, and whom not.
type notice struct {
	kind     Kind
	ticketID string
	// title is the ticket's title as the event tells it; empty when the
	// event carries none, and then taken from the ticket directory.
	title string
	// to are the users to tell; toAdmins adds every active admin.
	to       []string
	toAdmins bool
	// actor made the change and is never told of it.
	actor string
	// staffOnly keeps the notice from anyone but agents and admins.
	staffOnly bool
	detail    detail
	// link is the web app's path the notification opens; empty means the
	// ticket's page. inAppOnly sends no e-mail.
	link      string
	inAppOnly bool
}

// detail is what a notice says beyond its kind and ticket.
type detail struct {
	reason  string    // why a ticket was assigned
	step    string    // the step a ticket moved to
	status  string    // its status there
	note    string    // the note of the move
	comment string    // a comment's text
	slaKind string    // first_response or resolution
	due     time.Time // when the SLA was or is due
	// internal marks a comment as a note for staff.
	internal bool
	// survey is the one-click rating link of a survey request.
	survey *surveyLink
}

// recipients returns who hears n: its addressees and, for SLA alerts, the
// active admins, each once, in a fixed order, never the actor.
func (n notice) recipients(admins []string) []string {
	all := slices.Clone(n.to)
	if n.toAdmins {
		all = append(all, admins...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	return slices.DeleteFunc(all, func(id string) bool { return id == "" || id == n.actor })
}

// Limits of what a notification shows, in characters.
const (
	maxTitleRunes   = 200 // a ticket title within a headline
	maxExcerptRunes = 500 // a comment within a notification
)

// words returns a notice's headline and body for a ticket titled title.
// Both are plain text; templates escape them for HTML.
func (n notice) words(title string) (headline, body string) {
	if n.kind == KindWebhookDisabled {
		url := oneLine(title, maxTitleRunes)
		return "Webhook disabled: " + url,
			fmt.Sprintf("The webhook %s was turned off because its receiver kept failing. %s Turn it on again under Admin → Webhooks once the receiver works.",
				url, oneLine(n.detail.reason, maxExcerptRunes))
	}
	title = oneLine(title, maxTitleRunes)
	if title == "" {
		title = "ticket " + n.ticketID[:min(8, len(n.ticketID))]
	}
	d := n.detail
	switch n.kind {
	case KindTicketCreated:
		return "We received your ticket: " + title,
			fmt.Sprintf("Your ticket “%s” is open. We will let you know when someone picks it up.", title)
	case KindAssigned:
		body = fmt.Sprintf("The ticket “%s” was assigned to you.", title)
		if r := oneLine(d.reason, 200); r != "" {
			body += " Reason: " + r + "."
		}
		return "Assigned to you: " + title, body
	case KindStatusChanged:
		body = fmt.Sprintf("Your ticket “%s” moved to %s.", title, stepLabel(d.step, d.status))
		if note := multiLine(d.note, maxExcerptRunes); note != "" {
			body += "\n\nNote: " + note
		}
		return "Update on your ticket: " + title, body
	case KindComment:
		if d.internal {
			return "New internal note on: " + title, multiLine(d.comment, maxExcerptRunes)
		}
		return "New reply on: " + title, multiLine(d.comment, maxExcerptRunes)
	case KindSLAWarning:
		return "SLA warning: " + title,
			fmt.Sprintf("The %s of the ticket “%s” is due %s.", slaLabel(d.slaKind), title, dueLabel(d.due))
	case KindSurveyRequested:
		return "How did we do? " + title,
			fmt.Sprintf("Your ticket “%s” was resolved. Was the help good? One click tells us, in the e-mail or on the ticket's page.", title)
	case KindSLABreached:
		return "SLA breached: " + title,
			fmt.Sprintf("The %s deadline of the ticket “%s” passed (due %s).", slaLabel(d.slaKind), title, dueLabel(d.due))
	}
	return title, ""
}

// stepLabel names a step for people: "waiting on requester (pending)".
func stepLabel(step, status string) string {
	label := strings.ReplaceAll(oneLine(step, 64), "_", " ")
	if label == "" {
		label = "a new step"
	}
	if status != "" && status != step {
		label += " (" + oneLine(status, 32) + ")"
	}
	return label
}

func slaLabel(kind string) string {
	if kind == "first_response" {
		return "first response"
	}
	return "resolution"
}

func dueLabel(due time.Time) string {
	if due.IsZero() {
		return "now"
	}
	return "at " + due.UTC().Format("Mon, 02 Jan 2006 15:04 MST")
}

// oneLine makes s fit a single line, such as a header field: every control
// character (CR and LF included, the stuff of header injection) and line or
// paragraph separator becomes a space, runs of spaces become one, and the
// result is cut to maxRunes characters.
func oneLine(s string, maxRunes int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return truncate(strings.Join(strings.Fields(s), " "), maxRunes)
}

// multiLine keeps the line breaks of s but drops every other control
// character, and cuts it to maxRunes characters.
func multiLine(s string, maxRunes int) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return truncate(strings.TrimSpace(s), maxRunes)
}

// truncate cuts s to maxRunes characters, marking the cut with an ellipsis.
func truncate(s string, maxRunes int) string {
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxRunes-1])) + "…"
}
