package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
)

// Address is a mailbox: a display name and an e-mail address.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// String formats a as a header field value, quoting and encoding the name
// as RFC 5322 and RFC 2047 require.
func (a Address) String() string { return (&netmail.Address{Name: a.Name, Address: a.Email}).String() }

// Message is one e-mail to one person, rendered and ready for a transport.
// It is stored with its delivery, so every attempt sends the same message.
type Message struct {
	From    Address `json:"from"`
	To      Address `json:"to"`
	Subject string  `json:"subject"`
	Text    string  `json:"text"`
	HTML    string  `json:"html"`
	// MessageID, InReplyTo and References are header field values, angle
	// brackets included. The Message-ID is unique per notification; the
	// other two name the ticket's thread, so mail clients group a
	// ticket's messages.
	MessageID  string `json:"message_id"`
	InReplyTo  string `json:"in_reply_to,omitempty"`
	References string `json:"references,omitempty"`
}

// Header is one header field of a message.
type Header struct{ Name, Value string }

// Headers returns the header fields a transport sends besides From, To,
// Subject, Date and the MIME ones, in order.
func (m Message) Headers() []Header {
	h := []Header{{"Message-ID", m.MessageID}}
	if m.InReplyTo != "" {
		h = append(h, Header{"In-Reply-To", m.InReplyTo})
	}
	if m.References != "" {
		h = append(h, Header{"References", m.References})
	}
	// Tells vacation responders and the like not to answer (RFC 3834).
	return append(h, Header{"Auto-Submitted", "auto-generated"})
}

// Mailer sends messages. An error wrapping ErrPermanent means that sending
// the message again cannot succeed (the provider refused it or its
// recipient); any other error is worth another try later.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a delivery failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent delivery failure")

// MailConfig chooses and configures the e-mail transport.
type MailConfig struct {
	// SendGridAPIKey selects SendGrid when set.
	SendGridAPIKey string
	// SendGridBaseURL is SendGrid's API; empty means the library's
	// default, the public API.
	SendGridBaseURL string
	// SMTPURL selects SMTP when set and SendGrid is not (see
	// NewSMTPMailer for its form).
	SMTPURL string
	// Dir receives the messages as .eml files when neither is set.
	Dir string
}

// NewMailer returns the transport cfg selects: SendGrid when its API key
// is set, else SMTP when its URL is set, else .eml files in cfg.Dir.
func NewMailer(cfg MailConfig, log *slog.Logger) (Mailer, error) {
	switch {
	case cfg.SendGridAPIKey != "":
		log.Info("e-mail goes through SendGrid")
		return NewSendGridMailer(SendGridConfig{APIKey: cfg.SendGridAPIKey, BaseURL: cfg.SendGridBaseURL}), nil
	case cfg.SMTPURL != "":
		m, err := NewSMTPMailer(SMTPConfig{URL: cfg.SMTPURL})
		if err != nil {
			return nil, err
		}
		log.Info("e-mail goes through SMTP", "server", m.Server())
		return m, nil
	case cfg.Dir != "":
		log.Info("e-mail is written to files: set SENDGRID_API_KEY or SMTP_URL to send it", "dir", cfg.Dir)
		return NewFileMailer(cfg.Dir, log), nil
	}
	return nil, fmt.Errorf("notification: no e-mail transport: set SENDGRID_API_KEY, SMTP_URL or MAIL_DIR")
}
