package main

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// surveyLink matches the good-rating link of a survey e-mail (the query is
// encoded in key order: rating, then token).
var surveyLink = regexp.MustCompile(`/survey\?rating=good&token=([A-Za-z0-9._-]+)`)

// mailedSurveyToken waits for the survey e-mail in dir and returns the
// token of its links.
func mailedSurveyToken(t *testing.T, dir string) string {
	t.Helper()
	var token string
	eventually(t, 60*time.Second, "the survey e-mail", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			text, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
			if m := surveyLink.FindSubmatch(text); m != nil && strings.Contains(string(text), "How did we do?") {
				token = string(m[1])
				return true
			}
		}
		return false
	})
	return token
}

type surveyView struct {
	Status   string  `json:"status"`
	Rating   *string `json:"rating"`
	Comment  string  `json:"comment"`
	AgentID  *string `json:"agent_id"`
	TeamID   *string `json:"team_id"`
	RatedVia *string `json:"rated_via"`
}

// TestSurveys_ResolvingAsksTheRequesterWhoRatesOnceByTheMailedLink runs a
// survey through every part: the workflow resolves the ticket and asks the
// helpdesk, which announces survey.requested; notification mails the
// links; the link rates once; the admin's report counts it.
func TestSurveys_ResolvingAsksTheRequesterWhoRatesOnceByTheMailedLink(t *testing.T) {
	base, amqpURL := startDev(t)
	mailDir := os.Getenv("MAIL_DIR")
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	id := d.open(t, emp, "Printer on fire")
	d.waitForAssignee(t, emp, id)

	var sv surveyView
	emp.call("GET", "/helpdesk/tickets/"+id+"/survey", nil, 200, &sv)
	if sv.Status != "none" {
		t.Fatalf("survey before resolution = %+v", sv)
	}
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "in_progress"}, 200, nil)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "resolved"}, 200, nil)
	token := mailedSurveyToken(t, mailDir)
	emp.call("GET", "/helpdesk/tickets/"+id+"/survey", nil, 200, &sv)
	if sv.Status != "pending" || sv.AgentID == nil || *sv.AgentID != d.agent.id || sv.TeamID == nil || *sv.TeamID != d.team {
		t.Fatalf("survey after resolution = %+v", sv)
	}

	anon := &user{t: t, base: base}
	anon.call("POST", "/helpdesk/surveys/rate", map[string]string{"token": token + "x", "rating": "good"}, 400, nil)
	anon.call("POST", "/helpdesk/surveys/rate", map[string]string{"token": token, "rating": "bad", "comment": "Slow"}, 200, nil)
	anon.call("POST", "/helpdesk/surveys/rate", map[string]string{"token": token, "rating": "good"}, 409, nil)
	emp.call("POST", "/helpdesk/tickets/"+id+"/survey", map[string]string{"rating": "good"}, 409, nil)
	emp.call("GET", "/helpdesk/tickets/"+id+"/survey", nil, 200, &sv)
	if sv.Status != "rated" || *sv.Rating != "bad" || sv.Comment != "Slow" || *sv.RatedVia != "link" {
		t.Fatalf("survey after rating = %+v", sv)
	}
	var rep struct {
		Agents []struct {
			AgentID string `json:"agent_id"`
			Bad     int    `json:"bad"`
		} `json:"agents"`
	}
	d.admin.call("GET", "/helpdesk/surveys/report", nil, 200, &rep)
	if len(rep.Agents) != 1 || rep.Agents[0].AgentID != d.agent.id || rep.Agents[0].Bad != 1 {
		t.Fatalf("report = %+v", rep)
	}

	// The requester closes the ticket; the run ends.
	emp.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": "closed"}, 200, nil)
	eventually(t, 30*time.Second, "the ticket closed in the helpdesk", func() bool {
		var tk ticketView
		emp.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
		return tk.Status == "closed"
	})
	recordHistory(t, id)
}
