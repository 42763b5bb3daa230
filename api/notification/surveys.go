package notification

import (
	"fmt"
	htmltemplate "html/template"
	"net/url"
	texttemplate "text/template"
	"time"

	"github.com/ticketflow/ticketflow/internal/events"
)

// The e-mail of a survey request: a rating in one click, through a link
// that carries the helpdesk's signed token and opens the web app's survey
// page, where the requester may add a comment before sending.
var (
	surveyHTMLTemplate = htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/survey.html.tmpl"))
	surveyTextTemplate = texttemplate.Must(texttemplate.ParseFS(templateFiles, "templates/survey.txt.tmpl"))
)

// surveyLink is the signed token of a survey request and when it expires.
type surveyLink struct {
	token   string
	expires time.Time
}

// surveyData is the data of survey.requested (helpdesk.SurveyRequestedEvent).
type surveyData struct {
	TicketID    string    `json:"ticket_id"`
	Title       string    `json:"title"`
	RequesterID string    `json:"requester_id"`
	Token       string    `json:"token"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// maxSurveyToken bounds the token a link may carry.
const maxSurveyToken = 2048

// surveyChange asks the requester for a rating, in the app and by e-mail.
func surveyChange(e events.Event) (change, error) {
	var d surveyData
	if err := decode(e, &d); err != nil {
		return change{}, err
	}
	var v validator
	v.id("ticket_id", d.TicketID)
	v.id("requester_id", d.RequesterID)
	v.text("title", d.Title)
	if d.Token == "" || len(d.Token) > maxSurveyToken {
		v.add("token", fmt.Sprintf("must be 1-%d characters", maxSurveyToken))
	}
	if d.ExpiresAt.IsZero() {
		v.add("expires_at", "is required")
	}
	if err := v.err(); err != nil {
		return change{}, err
	}
	return change{notices: []notice{{
		kind: KindSurveyRequested, ticketID: d.TicketID, title: d.Title, to: []string{d.RequesterID},
		detail: detail{survey: &surveyLink{token: d.Token, expires: d.ExpiresAt}},
	}}}, nil
}

// surveyURL is the web app's survey page for a token, with the rating
// picked.
func (s *Service) surveyURL(token, rating string) string {
	return s.publicURL + "/survey?" + url.Values{"token": {token}, "rating": {rating}}.Encode()
}

// surveyEmailData is what the survey templates show.
type surveyEmailData struct {
	emailData
	GoodURL string
	BadURL  string
	Expires string
}

// composeSurveyEmail renders the e-mail of a survey request to the user to.
func (s *Service) composeSurveyEmail(n Notification, to userData) (Message, error) {
	data := surveyEmailData{
		emailData: s.emailDataOf(n, to),
		GoodURL:   s.surveyURL(n.survey.token, "good"),
		BadURL:    s.surveyURL(n.survey.token, "bad"),
		Expires:   n.survey.expires.UTC().Format("Mon, 02 Jan 2006 15:04 MST"),
	}
	html, text, err := renderEmail(surveyHTMLTemplate, surveyTextTemplate, data)
	if err != nil {
		return Message{}, fmt.Errorf("render survey e-mail of notification %s: %w", n.ID, err)
	}
	return s.ticketMessage(n, to, html, text), nil
}
