package notification

import (
	"context"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	netmail "net/mail"
	"net/url"
	texttemplate "text/template"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/events"
)

// The e-mail of a password reset: a link to the web app's page that sets
// a new password with the token auth made. It is mailed only, never shown
// in the app, whatever the user's e-mail settings (it is not a
// notification they can turn off), and its text is removed from the
// delivery log once sent (email_deliveries.sensitive).
var (
	passwordResetHTMLTemplate = htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/password_reset.html.tmpl"))
	passwordResetTextTemplate = texttemplate.Must(texttemplate.ParseFS(templateFiles, "templates/password_reset.txt.tmpl"))
)

// passwordResetData is the data of user.password_reset_requested
// (auth.PasswordResetEvent).
type passwordResetData struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// maxResetToken bounds the token a reset link may carry; auth's are 43
// characters.
const maxResetToken = 200

// passwordResetFooter says why the e-mail came.
const passwordResetFooter = "You receive this e-mail because a password reset was asked for your Ticketflow account."

// passwordResetChange mails the reset link to the address in the event.
func passwordResetChange(e events.Event) (change, error) {
	var d passwordResetData
	if err := decode(e, &d); err != nil {
		return change{}, err
	}
	var v validator
	v.id("user_id", d.UserID)
	v.text("name", d.Name)
	if a, err := netmail.ParseAddress(d.Email); err != nil || a.Address != d.Email {
		v.add("email", "must be an e-mail address")
	}
	if d.Token == "" || len(d.Token) > maxResetToken || url.QueryEscape(d.Token) != d.Token {
		v.add("token", fmt.Sprintf("must be 1-%d URL-safe characters", maxResetToken))
	}
	if d.ExpiresAt.IsZero() {
		v.add("expires_at", "is required")
	}
	if err := v.err(); err != nil {
		return change{}, err
	}
	return change{passwordReset: &d}, nil
}

// passwordResetURL is the web app's page that sets a new password.
func (s *Service) passwordResetURL(token string) string {
	return s.publicURL + "/reset-password?" + url.Values{"token": {token}}.Encode()
}

// passwordResetEmailData is what the password reset templates show.
type passwordResetEmailData struct {
	Name     string
	Email    string
	ResetURL string
	Expires  string
	Footer   string
}

// composePasswordResetEmail renders the reset e-mail of event e.
func (s *Service) composePasswordResetEmail(e events.Event, d passwordResetData) (Message, error) {
	data := passwordResetEmailData{
		Name: greeting(d.Name), Email: d.Email, ResetURL: s.passwordResetURL(d.Token),
		Expires: d.ExpiresAt.UTC().Format("Mon, 02 Jan 2006 15:04 MST"), Footer: passwordResetFooter,
	}
	html, text, err := renderEmail(passwordResetHTMLTemplate, passwordResetTextTemplate, data)
	if err != nil {
		return Message{}, fmt.Errorf("render password reset e-mail of event %s: %w", e.ID, err)
	}
	return Message{
		From:      Address{Name: oneLine(s.from.Name, maxNameRunes), Email: s.from.Address},
		To:        Address{Name: oneLine(d.Name, maxNameRunes), Email: d.Email},
		Subject:   "Reset your Ticketflow password",
		Text:      text,
		HTML:      html,
		MessageID: fmt.Sprintf("<password-reset-%s@%s>", e.ID, s.mailHost),
	}, nil
}

// queuePasswordResetEmail queues the reset e-mail of event e, as a
// sensitive delivery without a notification; it reports whether it queued
// one. A link that expired before its event arrived is not mailed.
func (s *Service) queuePasswordResetEmail(ctx context.Context, tx pgx.Tx, e events.Event, d passwordResetData, log *slog.Logger) (bool, error) {
	if !time.Now().Before(d.ExpiresAt) {
		log.Warn("password reset link expired before it could be mailed; not sent", "user_id", d.UserID)
		return false, nil
	}
	msg, err := s.composePasswordResetEmail(e, d)
	if err != nil {
		return false, err
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return false, fmt.Errorf("encode password reset e-mail of event %s: %w", e.ID, err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO email_deliveries (id, user_id, to_address, message, sensitive) VALUES ($1, $2, $3, $4, true)`,
		newID(), d.UserID, d.Email, raw); err != nil {
		return false, fmt.Errorf("queue password reset e-mail of event %s: %w", e.ID, err)
	}
	return true, nil
}

// redactedText replaces the text of a sensitive e-mail once it is sent.
const redactedText = "(removed after sending: this e-mail carried a single-use secret)"
