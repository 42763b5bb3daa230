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
	html, text, err := renderEmail(htmlTemplate, textTemplate, s.emailDataOf(n, to))
	if err != nil {
		return Message{}, fmt.Errorf("render e-mail of notification %s: %w", n.ID, err)
	}
	return s.ticketMessage(n, to, html, text), nil
}

// emailDataOf is what every e-mail about notification n tells its reader.
func (s *Service) emailDataOf(n Notification, to userData) emailData {
	return emailData{
		Name:       greeting(to.Name),
		Headline:   n.Title,
		Paragraphs: paragraphs(n.Body),
		TicketURL:  s.ticketURL(n.TicketID),
		Footer:     footer,
	}
}

// greeting is how an e-mail addresses its reader: the name, on one line,
// or "there".
func greeting(name string) string {
	if name = oneLine(name, maxNameRunes); name != "" {
		return name
	}
	return "there"
}

// renderEmail renders data with the HTML and the plain-text template of one
// kind of e-mail.
func renderEmail(htmlT *htmltemplate.Template, textT *texttemplate.Template, data any) (string, string, error) {
	var html, text bytes.Buffer
	if err := htmlT.Execute(&html, data); err != nil {
		return "", "", err
	}
	if err := textT.Execute(&text, data); err != nil {
		return "", "", err
	}
	return html.String(), text.String(), nil
}

// ticketMessage is the e-mail of notification n to its reader: from our
// address, with the notification's title as subject, and threaded with the
// ticket's other e-mails.
func (s *Service) ticketMessage(n Notification, to userData, html, text string) Message {
	thread := s.threadID(n.TicketID)
	return Message{
		From:       Address{Name: oneLine(s.from.Name, maxNameRunes), Email: s.from.Address},
		To:         Address{Name: oneLine(to.Name, maxNameRunes), Email: to.Email},
		Subject:    oneLine(n.Title, maxTitleRunes+50),
		Text:       text,
		HTML:       html,
		MessageID:  fmt.Sprintf("<ticket-%s-%s@%s>", n.TicketID, n.ID, s.mailHost),
		InReplyTo:  thread,
		References: thread,
	}
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
