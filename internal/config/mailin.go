package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// validateMailIn checks the e-mail-in settings. IMAP_URL is not quoted in
// an error: it holds a password.
func (c Config) validateMailIn() []error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	if c.IMAPURL != "" {
		u, err := url.Parse(c.IMAPURL)
		check(err == nil && (u.Scheme == "imap" || u.Scheme == "imaps") && u.Hostname() != "" && u.User != nil,
			"IMAP_URL must be imap://user:password@host[:port] or imaps://user:password@host[:port]")
	}
	check(c.IMAPFolder != "", "IMAP_FOLDER must not be empty")
	check(c.IMAPInterval >= time.Second, "IMAP_INTERVAL must be at least 1s")
	check(c.MailInMaxBytes >= 1024 && c.MailInMaxBytes <= 100<<20, "MAIL_IN_MAX_BYTES must be between 1024 and 104857600")
	check(c.MailInRateLimit >= 1, "MAIL_IN_RATE_LIMIT must be at least 1")
	check(c.MailInRateWindow >= time.Second, "MAIL_IN_RATE_WINDOW must be at least 1s")
	if c.MailInSendGridSecret != "" && len(c.MailInSendGridSecret) < 16 {
		errs = append(errs, errors.New("MAIL_IN_SENDGRID_SECRET must be at least 16 characters (openssl rand -hex 32)"))
	}
	return errs
}
