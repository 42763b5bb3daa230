package notification_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// injection is a ticket title that tries to add a header to the e-mail.
const injection = "Printer broken\r\nBcc: attacker@evil.example\r\n\r\n<b>owned</b>"

func TestHeaderInjection_TitleCannotAddHeadersOverSMTP(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	e := newEnv(t, srv.mailer(t))
	e.runSender()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	e.handle(assigned(t, ticket(injection, requester, &agent), agent, ""))

	eventually(t, 10*time.Second, "the e-mail received", func() bool { return len(srv.received()) == 1 })
	got := srv.received()[0]
	if len(got.to) != 1 || got.to[0] != agent.email {
		t.Fatalf("recipients = %v, want only %s", got.to, agent.email)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	if bcc := msg.Header.Get("Bcc"); bcc != "" || bytes.Contains(got.data, []byte("\nBcc:")) {
		t.Fatalf("the title added a Bcc header:\n%s", got.data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Assigned to you: Printer broken Bcc: attacker@evil.example <b>owned</b>"; subject != want {
		t.Fatalf("subject = %q, want %q", subject, want)
	}
}

func TestHeaderInjection_TitleCannotAddHeadersThroughSendGrid(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	// The name comes from auth's events: it is a header field too.
	agent.name = "Alex\r\nBcc: attacker@evil.example"
	e.handle(userEvent(t, "user.updated", agent, true, time.Now()))
	e.handle(assigned(t, ticket(injection, requester, &agent), agent, ""))

	eventually(t, 10*time.Second, "the e-mail sent", func() bool { return len(sg.sent()) == 1 })
	r := sg.sent()[0]
	if strings.ContainsAny(r.Subject, "\r\n") || strings.ContainsAny(r.to().Name, "\r\n") {
		t.Fatalf("line breaks reached SendGrid: subject %q, name %q", r.Subject, r.to().Name)
	}
	for name, value := range r.Headers {
		if strings.ContainsAny(value, "\r\n") || strings.EqualFold(name, "Bcc") {
			t.Fatalf("header %s: %q", name, value)
		}
	}
}

func TestHTMLInTitle_EscapedInHTMLPart(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	requester := e.person("Rita <i>Requester</i>", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	title := `<script>alert("x")</script> & <a href="https://evil.example">click</a>`
	tk := ticket(title, requester, &agent)
	e.handle(commented(t, tk, requester, false, `<img src=x onerror=alert(1)> please help`))
	e.handle(assigned(t, tk, agent, ""))

	eventually(t, 10*time.Second, "the e-mails sent", func() bool { return len(sg.sent()) == 2 })
	for _, r := range sg.sent() {
		html := r.content("text/html")
		for _, bad := range []string{"<script", "<a href=\"https://evil", "<img"} {
			if strings.Contains(html, bad) {
				t.Fatalf("HTML part carries %q:\n%s", bad, html)
			}
		}
		if !strings.Contains(html, "&lt;script&gt;") && !strings.Contains(html, "&lt;img") {
			t.Fatalf("HTML part lacks the escaped text:\n%s", html)
		}
		if link := `href="` + publicURL + "/tickets/" + tk.ID + `"`; !strings.Contains(html, link) {
			t.Fatalf("HTML part lacks the link %s:\n%s", link, html)
		}
		// The text part shows what people wrote, as they wrote it.
		if text := r.content("text/plain"); !strings.Contains(text, publicURL+"/tickets/"+tk.ID) {
			t.Fatalf("text part lacks the link:\n%s", text)
		}
	}
	if text := sg.sent()[0].content("text/plain"); !strings.Contains(text, "<img src=x onerror=alert(1)> please help") {
		t.Fatalf("text part of the comment:\n%s", text)
	}
}

func TestFileMailer_WritesParseableMessage(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mail")
	logs := &capturedLogs{}
	e := newEnv(t, notification.NewFileMailer(dir, slog.New(logs)))
	e.runSender()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Ängel Agent", authn.RoleAgent)
	tk := ticket("Café Wi-Fi ☕ is down", requester, &agent)
	e.handle(assigned(t, tk, agent, ""))

	var files []string
	eventually(t, 10*time.Second, "the .eml file", func() bool {
		files, _ = filepath.Glob(filepath.Join(dir, "*.eml"))
		return len(files) == 1
	})
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a message: %v\n%s", err, raw)
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != agent.email || to[0].Name != agent.name {
		t.Fatalf("To = %v, %v; want %s <%s>", to, err, agent.name, agent.email)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil || from.Address != "desk@example.com" || from.Name != "Ticketflow Desk" {
		t.Fatalf("From = %v, %v", from, err)
	}
	thread := fmt.Sprintf("<ticket-%s@%s>", tk.ID, mailHost)
	if subject != "Assigned to you: "+tk.Title || msg.Header.Get("In-Reply-To") != thread || msg.Header.Get("References") != thread ||
		!strings.HasPrefix(msg.Header.Get("Message-ID"), fmt.Sprintf("<ticket-%s-", tk.ID)) || msg.Header.Get("Date") == "" {
		t.Fatalf("headers = %v (subject %q)", msg.Header, subject)
	}
	parts := mimeParts(t, msg)
	if !strings.Contains(parts["text/plain"], "Café Wi-Fi ☕ is down") || !strings.Contains(parts["text/html"], "Café Wi-Fi ☕ is down") {
		t.Fatalf("parts = %v", parts)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".writing-*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	// The log says where the e-mail went: the file's absolute path.
	written := logs.withMessage("e-mail written to a file")
	if len(written) != 1 || written[0]["path"] != files[0] || written[0]["to"] != agent.email || !filepath.IsAbs(files[0]) {
		t.Fatalf("file mailer logged %v, want one record with path %s", written, files[0])
	}
}

// capturedLogs is a slog.Handler that keeps every record's attributes,
// for tests of what is logged.
type capturedLogs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *capturedLogs) Enabled(context.Context, slog.Level) bool { return true }

func (c *capturedLogs) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r.Clone())
	return nil
}

// The file mailer adds no attributes or groups of its own; these keep
// them out of the capture rather than pretend to.
func (c *capturedLogs) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *capturedLogs) WithGroup(string) slog.Handler      { return c }

// withMessage returns the attributes, as strings, of the records with
// the message msg.
func (c *capturedLogs) withMessage(msg string) []map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]string
	for _, r := range c.records {
		if r.Message != msg {
			continue
		}
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}

// mimeParts returns the decoded text parts of a multipart/alternative
// message by content type.
func mimeParts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, %v; want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = string(body)
	}
}

func TestNewSMTPMailer_ChecksTheURL(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"http://mail.example.com",
		"smtp://",
		"smtp://mail.example.com:99999",
		"smtp://user:pw@mail.example.com?starttls=maybe",
		"smtp://user:pw@mail.example.com?auth=xoauth3",
		"smtp://mail.example.com?auth=plain",
		"smtp://mail.example.com?tls=yes",
		"smtp://user:sekrit@mail.example.com:587/%zz",
	} {
		_, err := notification.NewSMTPMailer(notification.SMTPConfig{URL: bad})
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "sekrit") || strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%s: the error shows the password: %v", bad, err)
		}
	}
	for url, want := range map[string]string{
		"smtp://user:pw@smtp.example.com":                              "smtp://smtp.example.com:587 starttls=TLSMandatory auth=plain user=user",
		"smtp://user:pw@smtp.example.com:2525?starttls=opportunistic":  "smtp://smtp.example.com:2525 starttls=TLSOpportunistic auth=plain user=user",
		"smtps://user%40example.com:p%20w@smtp.example.com?auth=login": "smtps://smtp.example.com:465 auth=login user=user@example.com",
		"smtp://127.0.0.1:1025?starttls=off":                           "smtp://127.0.0.1:1025 starttls=NoTLS",
		"smtp://u:p@smtp.example.com?starttls=true&auth=scram-sha-256": "smtp://smtp.example.com:587 starttls=TLSMandatory auth=scram-sha-256 user=u",
	} {
		m, err := notification.NewSMTPMailer(notification.SMTPConfig{URL: url})
		if err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		if got := m.Server(); got != want {
			t.Errorf("%s: Server() = %q, want %q", url, got, want)
		}
	}
}

func TestNewMailer_PicksSendGridThenSMTPThenFiles(t *testing.T) {
	t.Parallel()
	log := testenv.Logger(t)
	for _, tc := range []struct {
		cfg  notification.MailConfig
		want string
	}{
		{notification.MailConfig{SendGridAPIKey: "k", SMTPURL: "smtp://h", Dir: "d"}, "*notification.SendGridMailer"},
		{notification.MailConfig{SMTPURL: "smtp://h", Dir: "d"}, "*notification.SMTPMailer"},
		{notification.MailConfig{Dir: "d"}, "*notification.FileMailer"},
	} {
		m, err := notification.NewMailer(tc.cfg, log)
		if err != nil || fmt.Sprintf("%T", m) != tc.want {
			t.Errorf("NewMailer(%+v) = %T, %v; want %s", tc.cfg, m, err, tc.want)
		}
	}
	if _, err := notification.NewMailer(notification.MailConfig{}, log); err == nil {
		t.Error("NewMailer without any transport succeeded")
	}
}

func TestSMTPMailer_RefusedSignInIsPermanent(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	wrong := strings.Replace(srv.url(), "app%20password", "wrong", 1)
	msg := notification.Message{
		From: notification.Address{Email: "desk@example.com"}, To: notification.Address{Email: "a@example.com"},
		Subject: "Hi", Text: "Hi", HTML: "<p>Hi</p>", MessageID: "<x@example.com>",
	}
	err := srv.mailerFor(t, wrong).Send(context.Background(), msg)
	if !errors.Is(err, notification.ErrPermanent) || !strings.Contains(err.Error(), "535") {
		t.Fatalf("Send with a wrong password = %v, want a permanent 535", err)
	}
	if err := srv.mailer(t).Send(context.Background(), msg); err != nil {
		t.Fatalf("Send with the right password = %v", err)
	}
}
