package notification

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPConfig configures the SMTP transport.
type SMTPConfig struct {
	// URL names the server, how to secure the connection and how to sign
	// in (the SMTP_URL variable):
	//
	//	smtp://user:password@host:587?starttls=required&auth=plain
	//	smtps://user:password@host:465?auth=login
	//
	// smtp connects in plain text and upgrades with STARTTLS (default port
	// 587); smtps speaks TLS from the start (default port 465). starttls
	// is required (the default; true says the same), opportunistic (when
	// the server offers it) or off (false; only for a local test server).
	// A user name and password, percent-encoded, sign in with auth: plain
	// (the default), login, cram-md5, scram-sha-1 or scram-sha-256. The
	// password is never sent unencrypted, except to localhost. For Gmail:
	// smtp://you%40gmail.com:<app password>@smtp.gmail.com:587.
	URL string
	// TLSConfig replaces the default TLS settings, which check the
	// server's certificate against the system's roots for the URL's host.
	// Tests set it to trust their own server.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP command. Default 30s.
	Timeout time.Duration
}

// SMTPMailer sends e-mail through an SMTP server, one connection per
// message.
type SMTPMailer struct {
	host    string
	opts    []gomail.Option
	summary string
}

// smtpAuthTypes are the sign-in mechanisms an SMTP URL may ask for.
var smtpAuthTypes = map[string]gomail.SMTPAuthType{
	"plain":         gomail.SMTPAuthPlain,
	"login":         gomail.SMTPAuthLogin,
	"cram-md5":      gomail.SMTPAuthCramMD5,
	"scram-sha-1":   gomail.SMTPAuthSCRAMSHA1,
	"scram-sha-256": gomail.SMTPAuthSCRAMSHA256,
}

// smtpTLSPolicies are the values of an SMTP URL's starttls parameter.
var smtpTLSPolicies = map[string]gomail.TLSPolicy{
	"":              gomail.TLSMandatory,
	"required":      gomail.TLSMandatory,
	"true":          gomail.TLSMandatory,
	"opportunistic": gomail.TLSOpportunistic,
	"off":           gomail.NoTLS,
	"false":         gomail.NoTLS,
}

// NewSMTPMailer returns an SMTP transport, or an error naming what is wrong
// with cfg.URL (never quoting its password).
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	u, err := parseSMTPURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	port, err := smtpPort(u)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tlsConfig := cfg.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsConfig)}
	summary := fmt.Sprintf("%s://%s", u.Scheme, net.JoinHostPort(u.Hostname(), strconv.Itoa(port)))
	for _, part := range []func(*url.URL) ([]gomail.Option, string, error){smtpSecurity, smtpAuth} {
		more, words, err := part(u)
		if err != nil {
			return nil, err
		}
		opts = append(opts, more...)
		summary += words
	}
	return &SMTPMailer{host: u.Hostname(), opts: opts, summary: summary}, nil
}

// parseSMTPURL parses an SMTP URL and checks its scheme, host and
// parameter names.
func parseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("SMTP_URL is not a URL") // url's error would quote the password
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("SMTP_URL: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("SMTP_URL: no host")
	}
	for key := range u.Query() {
		if key != "starttls" && key != "auth" {
			return nil, fmt.Errorf("SMTP_URL: unknown parameter %q (want starttls or auth)", key)
		}
	}
	return u, nil
}

// smtpPort is the URL's port, or the scheme's: 587 for submission with
// STARTTLS, 465 for implicit TLS.
func smtpPort(u *url.URL) (int, error) {
	p := u.Port()
	if p == "" {
		if u.Scheme == "smtps" {
			return 465, nil
		}
		return 587, nil
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("SMTP_URL: bad port %q", p)
	}
	return port, nil
}

// smtpSecurity is how the URL asks to encrypt the connection: TLS from the
// start for smtps, the starttls policy for smtp.
func smtpSecurity(u *url.URL) ([]gomail.Option, string, error) {
	if u.Scheme == "smtps" {
		return []gomail.Option{gomail.WithSSL()}, "", nil
	}
	starttls := u.Query().Get("starttls")
	policy, ok := smtpTLSPolicies[strings.ToLower(starttls)]
	if !ok {
		return nil, "", fmt.Errorf("SMTP_URL: starttls must be required, opportunistic or off, not %q", starttls)
	}
	return []gomail.Option{gomail.WithTLSPolicy(policy)}, " starttls=" + policy.String(), nil
}

// smtpAuth is how the URL asks to sign in: not at all without a user, with
// the auth mechanism (PLAIN by default) otherwise. The library refuses to
// send the password over an unencrypted connection, except to localhost.
func smtpAuth(u *url.URL) ([]gomail.Option, string, error) {
	q := u.Query()
	user := u.User.Username()
	if user == "" {
		if q.Has("auth") {
			return nil, "", errors.New("SMTP_URL: auth needs a user name and password")
		}
		return nil, "", nil
	}
	password, _ := u.User.Password()
	mech := strings.ToLower(q.Get("auth"))
	if mech == "" {
		mech = "plain"
	}
	authType, ok := smtpAuthTypes[mech]
	if !ok {
		return nil, "", fmt.Errorf("SMTP_URL: auth must be plain, login, cram-md5, scram-sha-1 or scram-sha-256, not %q", mech)
	}
	opts := []gomail.Option{gomail.WithSMTPAuth(authType), gomail.WithUsername(user), gomail.WithPassword(password)}
	return opts, " auth=" + mech + " user=" + user, nil
}

// Server describes the server and how the mailer talks to it, for logs;
// it never includes the password.
func (s *SMTPMailer) Server() string { return s.summary }

// Send delivers m to the server. A reply in the 5xx range, the server's
// permanent refusal (of the sender, the recipient, the message or the
// credentials), is permanent; 4xx replies and network failures are
// worth a retry.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("%w: smtp client: %w", ErrPermanent, err)
	}
	msg, err := mimeMessage(m)
	if err != nil {
		return err
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if smtpReplyCode(err) >= 500 {
			return fmt.Errorf("%w: smtp: %w", ErrPermanent, err)
		}
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

// smtpReplyCode finds the server's reply code in err, 0 if it holds none
// (a network failure, a timeout).
func smtpReplyCode(err error) int {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code != 0 {
			return code
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// mimeMessage builds m as a MIME message: multipart/alternative with the
// text part first, so clients that cannot show HTML show the text.
func mimeMessage(m Message) (*gomail.Msg, error) {
	// No User-Agent and X-Mailer naming the library and its version.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From.String()); err != nil {
		return nil, fmt.Errorf("%w: sender %q: %w", ErrPermanent, m.From.Email, err)
	}
	if err := msg.To(m.To.String()); err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %w", ErrPermanent, m.To.Email, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	for _, h := range m.Headers() {
		if h.Name == "Message-ID" {
			// Set this way, or the library adds a Message-ID of its own.
			msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(h.Value, "<"), ">"))
			continue
		}
		// Preformatted: message IDs must reach the wire as they are,
		// never encoded as words.
		msg.SetGenHeaderPreformatted(gomail.Header(h.Name), h.Value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}
