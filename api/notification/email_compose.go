package notification

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// The e-mail templates. html/template escapes every value for its place in
// the page, so a ticket title or comment cannot add markup; the text
// template writes values as they are, into a text/plain part.
var (
	htmlTemplate = htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/email.html.tmpl"))
	textTemplate = texttemplate.Must(texttemplate.ParseFS(templateFiles, "templates/email.txt.tmpl"))
)

// footer says why the e-mail came and how to stop it.
const footer = "You receive this e-mail because of your Ticketflow notifications. " +
	"You can turn each kind of e-mail off in your notification settings; you will still see it in the app."

// emailData is what the templates show.
type emailData struct {
	Name       string
	Headline   string
	Paragraphs []string
	TicketURL  string
	Footer     string
}

// maxNameRunes bounds a display name in a header field.
const maxNameRunes = 100

// composeEmail renders the e-mail announcing n to the user to.
func (s *Service) composeEmail(n Notification, to userData) (Message, error) {
	if n.survey != nil {
		return s.composeSurveyEmail(n, to)
	}
	name := oneLine(to.Name, maxNameRunes)
	data := emailData{
		Name:       name,
		Headline:   n.Title,
		Paragraphs: paragraphs(n.Body),
		TicketURL:  s.ticketURL(n.TicketID),
		Footer:     footer,
	}
	if data.Name == "" {
		data.Name = "there"
	}
	var html, text bytes.Buffer
	if err := htmlTemplate.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("render e-mail of notification %s: %w", n.ID, err)
	}
	if err := textTemplate.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("render e-mail of notification %s: %w", n.ID, err)
	}
	thread := s.threadID(n.TicketID)
	return Message{
		From:       Address{Name: oneLine(s.from.Name, maxNameRunes), Email: s.from.Address},
		To:         Address{Name: name, Email: to.Email},
		Subject:    oneLine(n.Title, maxTitleRunes+50),
		Text:       text.String(),
		HTML:       html.String(),
		MessageID:  fmt.Sprintf("<ticket-%s-%s@%s>", n.TicketID, n.ID, s.mailHost),
		InReplyTo:  thread,
		References: thread,
	}, nil
}

// threadID is the Message-ID of a ticket's thread: the root every e-mail
// about the ticket replies to, so mail clients show them together.
func (s *Service) threadID(ticketID string) string {
	return fmt.Sprintf("<ticket-%s@%s>", ticketID, s.mailHost)
}

// paragraphs splits text at blank lines.
func paragraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
