package workflow

import (
	"fmt"
	"regexp"
	"strings"
)

// Placeholders are the names a macro's body may use, written {{name}}
// (spaces inside the braces allowed). Rendering replaces each with its
// value as plain text, in one pass: a value that itself looks like a
// placeholder (a requester named "{{agent.name}}") stays as it is. No
// template engine ever sees a macro's body.
var Placeholders = []string{"requester.name", "ticket.id", "ticket.title", "agent.name"}

// placeholderPattern matches one placeholder, known or not.
var placeholderPattern = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// PlaceholderValues are the values a body renders with.
type PlaceholderValues struct {
	RequesterName string
	TicketID      string
	TicketTitle   string
	AgentName     string
}

func (v PlaceholderValues) value(name string) (string, bool) {
	switch name {
	case "requester.name":
		return v.RequesterName, true
	case "ticket.id":
		return v.TicketID, true
	case "ticket.title":
		return v.TicketTitle, true
	case "agent.name":
		return v.AgentName, true
	}
	return "", false
}

// checkPlaceholders returns an error naming the first placeholder of body
// that is not one of Placeholders, or an opening "{{" that starts none.
func checkPlaceholders(body string) error {
	for _, m := range placeholderPattern.FindAllStringSubmatch(body, -1) {
		if _, ok := (PlaceholderValues{}).value(m[1]); !ok {
			return fmt.Errorf("unknown placeholder {{%s}}; known are {{%s}}", truncate(m[1], 40), strings.Join(Placeholders, "}}, {{"))
		}
	}
	if strings.Contains(placeholderPattern.ReplaceAllString(body, ""), "{{") {
		return fmt.Errorf("has a {{ that starts no placeholder; known are {{%s}}", strings.Join(Placeholders, "}}, {{"))
	}
	return nil
}

// RenderMacroBody replaces the placeholders of body with v's values.
// body has passed checkPlaceholders when it was saved; a placeholder that
// is unknown anyway is left as written.
func RenderMacroBody(body string, v PlaceholderValues) string {
	return placeholderPattern.ReplaceAllStringFunc(body, func(m string) string {
		name := placeholderPattern.FindStringSubmatch(m)[1]
		if val, ok := v.value(name); ok {
			return val
		}
		return m
	})
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
