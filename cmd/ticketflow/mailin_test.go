package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workers"
	"github.com/ticketflow/ticketflow/workflows"
)

// mailbox is the test's IMAP account, as a sender's mail client and the
// mail server deliver into it.
type mailbox struct {
	t *testing.T
	d *testenv.Dovecot
}

func (m mailbox) client() *imapclient.Client {
	m.t.Helper()
	c, err := imapclient.DialInsecure(m.d.Addr, nil)
	if err != nil {
		m.t.Fatal(err)
	}
	if err := c.Login(m.d.User, m.d.Password).Wait(); err != nil {
		m.t.Fatal(err)
	}
	return c
}

// deliver appends raw to INBOX and returns its UID.
func (m mailbox) deliver(raw []byte) imap.UID {
	m.t.Helper()
	c := m.client()
	defer c.Close()
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		m.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		m.t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		m.t.Fatal(err)
	}
	return data.UID
}

// flags returns the flags of message uid in INBOX.
func (m mailbox) flags(uid imap.UID) []imap.Flag {
	m.t.Helper()
	c := m.client()
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		m.t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{Flags: true, UID: true}).Collect()
	if err != nil || len(msgs) != 1 {
		m.t.Fatalf("fetch flags of %d: %v (%d messages)", uid, err, len(msgs))
	}
	return msgs[0].Flags
}

// waitDone waits until the poller is done with uid and returns its flags.
func (m mailbox) waitDone(uid imap.UID) []imap.Flag {
	m.t.Helper()
	var flags []imap.Flag
	eventually(m.t, 60*time.Second, fmt.Sprintf("message %d flagged as processed", uid), func() bool {
		flags = m.flags(uid)
		return slices.Contains(flags, "$TicketflowDone")
	})
	if !slices.Contains(flags, imap.FlagSeen) {
		m.t.Errorf("message %d processed but not \\Seen: %v", uid, flags)
	}
	return flags
}

// mailSample reads a message of api/notification/testdata/mail with its
// placeholders filled in.
func mailSample(t *testing.T, name string, vars map[string]string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "api", "notification", "testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return []byte(s)
}

// plainMail is a one-part message.
func plainMail(from, to, messageID, subject, body string, extra ...string) []byte {
	h := fmt.Sprintf("From: %s\r\nTo: %s\r\nMessage-ID: <%s>\r\nSubject: %s\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n", from, to, messageID, subject)
	for _, e := range extra {
		h += e + "\r\n"
	}
	return []byte(h + "\r\n" + body + "\r\n")
}

// inboundLog returns what mail-in recorded of each message it stored:
// Message-ID, status and reason.
func inboundLog(t *testing.T) []string {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT message_id, status, reason FROM notification.inbound_messages ORDER BY received_at`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var id, status, reason string
		if err := rows.Scan(&id, &status, &reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, id+" "+status+" "+reason)
	}
	return out
}

type mailTicket struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	CategoryID  string `json:"category_id"`
	RequesterID string `json:"requester_id"`
}

type mailComment struct {
	ID       string `json:"id"`
	AuthorID string `json:"author_id"`
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

// ticketsTitled returns the tickets whose title is title, as admin sees them.
func ticketsTitled(c *user, title string) []mailTicket {
	c.t.Helper()
	var page struct {
		Items []mailTicket `json:"items"`
	}
	c.call("GET", "/helpdesk/tickets", nil, 200, &page)
	var out []mailTicket
	for _, tk := range page.Items {
		if tk.Title == title {
			out = append(out, tk)
		}
	}
	return out
}

func comments(c *user, ticketID string) []mailComment {
	c.t.Helper()
	var page struct {
		Items []mailComment `json:"items"`
	}
	c.call("GET", "/messaging/tickets/"+ticketID+"/comments", nil, 200, &page)
	return page.Items
}

// sentMessageID returns the Message-ID of the e-mail notification wrote to
// to (MAIL_DIR), waiting for it.
func sentMessageID(t *testing.T, dir, to string) (id, thread string) {
	t.Helper()
	eventually(t, 60*time.Second, "an e-mail to "+to, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil || !strings.Contains(m.Header.Get("To"), to) {
				continue
			}
			id = strings.Trim(m.Header.Get("Message-ID"), "<>")
			thread = strings.Trim(strings.Fields(m.Header.Get("References"))[0], "<>")
			return true
		}
		return false
	})
	return id, thread
}

// postInbound posts raw as SendGrid's Inbound Parse does ("send raw" on),
// with secret as the Basic password.
func postInbound(t *testing.T, base, secret string, raw []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("to", "help@example.com")
	_ = mw.WriteField("envelope", `{"to":["help@example.com"],"from":"x@example.org"}`)
	w, _ := mw.CreateFormField("email")
	_, _ = w.Write(raw)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", base+"/notifications/inbound/sendgrid", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if secret != "" {
		req.SetBasicAuth("sendgrid", secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	return res.StatusCode, out.String()
}

func TestMailIn_MailboxAndInboundParseBecomeTicketsAndComments(t *testing.T) {
	d := testenv.StartDovecot(t)
	box := mailbox{t: t, d: d}
	secret := "inbound-parse-secret-0123456789"
	t.Setenv("IMAP_URL", d.URL())
	t.Setenv("IMAP_INTERVAL", "1s")
	t.Setenv("MAIL_IN_SENDGRID_SECRET", secret)
	base, amqpURL := startDev(t)
	mailDir := os.Getenv("MAIL_DIR")
	desk := setUpDesk(t, base, amqpURL)
	bob := register(t, base, "bob@example.org")

	// The admin maps the receiving address to the Hardware category.
	desk.admin.call("PUT", "/notifications/inbound/addresses/help@example.com", map[string]string{"category_id": desk.category}, 200, nil)
	desk.agent.call("PUT", "/notifications/inbound/addresses/help@example.com", map[string]string{"category_id": desk.category}, 403, nil)
	desk.admin.call("PUT", "/notifications/inbound/addresses/not-an-address", map[string]string{"category_id": desk.category}, 422, nil)
	desk.admin.call("PUT", "/notifications/inbound/addresses/x@example.com", map[string]string{"category_id": "nope"}, 422, nil)

	// A Thunderbird message from an unknown sender opens a ticket in the
	// mapped category, with its PDF, and gives the sender an account.
	from := "juergen@example.org"
	uid := box.deliver(mailSample(t, "thunderbird_new.eml", map[string]string{"FROM": from, "TO": "help@example.com"}))
	if f := box.waitDone(uid); slices.Contains(f, "$TicketflowRejected") {
		t.Fatalf("a good message was rejected: %v", f)
	}
	title := "Drucker im 2. Stock druckt nicht – dringend"
	found := ticketsTitled(desk.admin, title)
	if len(found) != 1 {
		t.Fatalf("tickets titled %q: %+v; inbound: %v", title, found, inboundLog(t))
	}
	tk := found[0]
	if tk.CategoryID != desk.category || !strings.Contains(tk.Description, "Papierstau") || strings.Contains(tk.Description, "Durchwahl") {
		t.Fatalf("ticket %+v (signature must be trimmed)", tk)
	}
	var users struct {
		Items []struct {
			ID, Email, Name, Role string
		} `json:"items"`
	}
	desk.admin.call("GET", "/auth/users?q=juergen", nil, 200, &users)
	if len(users.Items) != 1 || users.Items[0].ID != tk.RequesterID || users.Items[0].Role != "employee" || users.Items[0].Name != "Jürgen Müller" {
		t.Fatalf("sender's account: %+v, requester %s", users.Items, tk.RequesterID)
	}
	// Passwordless: nobody can sign in as the sender.
	if status, _ := (&user{t: t, base: base}).try("POST", "/auth/login", map[string]string{"email": from, "password": ""}, nil); status != 401 && status != 422 {
		t.Fatalf("signing in to a passwordless account: %d", status)
	}
	var files struct {
		Items []struct {
			FileName    string `json:"file_name"`
			ContentType string `json:"content_type"`
		} `json:"items"`
	}
	desk.admin.call("GET", "/messaging/tickets/"+tk.ID+"/attachments", nil, 200, &files)
	if len(files.Items) != 1 || files.Items[0].FileName != "Fehlerprotokoll.pdf" || files.Items[0].ContentType != "application/pdf" {
		t.Fatalf("attachments %+v", files.Items)
	}
	desk.waitForAssignee(t, desk.admin, tk.ID)

	// The Gmail reply to the notification e-mail becomes a public comment
	// of the sender, without the quoted history.
	replyTo, thread := sentMessageID(t, mailDir, from)
	uid = box.deliver(mailSample(t, "gmail_reply.eml", map[string]string{"FROM": from, "TO": "help@example.com", "REPLY_TO": replyTo, "THREAD": thread}))
	box.waitDone(uid)
	cs := comments(desk.admin, tk.ID)
	if len(cs) != 1 || cs[0].AuthorID != tk.RequesterID || cs[0].Internal ||
		cs[0].Body != "Thanks! I tried holding the power button for 30 seconds and now it boots — but the fan is very loud." {
		t.Fatalf("comments %+v", cs)
	}

	// Loops, refusals and bad input add nothing.
	loops := map[string][]byte{
		"auto-reply": mailSample(t, "autoreply.eml", map[string]string{"FROM": from, "TO": "help@example.com", "REPLY_TO": replyTo}),
		"our own mail": plainMail("Ticketflow <ticketflow@localhost>", "help@example.com", "own-1@localhost", "Re: x", "loop",
			"In-Reply-To: <"+replyTo+">"),
		"bulk": plainMail(from, "help@example.com", "bulk-1@example.org", "Newsletter", "hi", "Precedence: bulk", "In-Reply-To: <"+replyTo+">"),
		"token of a ticket the sender may not see": plainMail("bob@example.org", "help@example.com", "bob-1@example.org",
			"[ticket:"+tk.ID+"] me too", "I want in"),
		"reply whose token is for another ticket": plainMail(from, "help@example.com", "juergen-2@example.org",
			"Re: [ticket:"+desk.open(t, bob, "Bob's own ticket")+"] x", "wrong ticket", "In-Reply-To: <"+replyTo+">"),
		"malformed MIME": mailSample(t, "malformed.eml", map[string]string{"FROM": from, "TO": "help@example.com"}),
		// From is forged easily: a staff address must answer mail sent to it.
		"agent's address with only a token": plainMail("agent@example.com", "help@example.com", "agent-1@example.org",
			"[ticket:"+tk.ID+"] resolved", "Closing this."),
		"over the size limit": plainMail(from, "help@example.com", "big-1@example.org", "Big one",
			strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\r\n", 30<<20/77)),
	}
	rejected := map[string]bool{"token of a ticket the sender may not see": true, "reply whose token is for another ticket": true,
		"malformed MIME": true, "over the size limit": true, "agent's address with only a token": true}
	for name, raw := range loops {
		uid := box.deliver(raw)
		f := box.waitDone(uid)
		if rejected[name] != slices.Contains(f, "$TicketflowRejected") {
			t.Errorf("%s: flags %v, rejected should be %v", name, f, rejected[name])
		}
	}
	if cs := comments(desk.admin, tk.ID); len(cs) != 1 {
		t.Fatalf("loops or refused replies added comments: %+v", cs)
	}
	for _, title := range []string{"Newsletter", "Big one", "broken attachment", "me too", "x"} {
		if got := ticketsTitled(desk.admin, title); len(got) != 0 {
			t.Errorf("a ticket was opened for %q: %+v", title, got)
		}
	}

	// An attachment named ../../etc/passwd is stored as "passwd".
	uid = box.deliver(mailSample(t, "path_attachment.eml", map[string]string{"FROM": "mallory@example.org", "TO": "help@example.com"}))
	box.waitDone(uid)
	found = ticketsTitled(desk.admin, "please look at this file")
	if len(found) != 1 {
		t.Fatalf("path attachment ticket: %+v", found)
	}
	desk.admin.call("GET", "/messaging/tickets/"+found[0].ID+"/attachments", nil, 200, &files)
	if len(files.Items) != 1 || files.Items[0].FileName != "passwd" {
		t.Fatalf("attachments %+v", files.Items)
	}

	// Inbound Parse: a forged post is refused and stores nothing; a real
	// one opens a ticket once, however often it is posted.
	apple := mailSample(t, "applemail_new.eml", map[string]string{"FROM": "zoe@example.org", "TO": "it@example.com"})
	for _, s := range []string{"", "wrong-secret-0123456789"} {
		if status, body := postInbound(t, base, s, apple); status != 401 || !strings.Contains(body, "unauthorized") {
			t.Fatalf("forged post with %q: %d %s", s, status, body)
		}
	}
	appleTitle := "VPN-Zugang für neue Kollegin 🔒"
	if got := ticketsTitled(desk.admin, appleTitle); len(got) != 0 {
		t.Fatalf("a forged post opened a ticket: %+v", got)
	}
	if status, body := postInbound(t, base, secret, apple); status != 200 || !strings.Contains(body, `"duplicate":false`) {
		t.Fatalf("inbound parse: %d %s", status, body)
	}
	if status, body := postInbound(t, base, secret, apple); status != 200 || !strings.Contains(body, `"duplicate":true`) {
		t.Fatalf("inbound parse again: %d %s", status, body)
	}
	eventually(t, 60*time.Second, "the Inbound Parse ticket", func() bool { return len(ticketsTitled(desk.admin, appleTitle)) == 1 })
	zoe := ticketsTitled(desk.admin, appleTitle)[0]
	if zoe.CategoryID != desk.category { // the only active category is the default
		t.Errorf("unmapped address: category %s", zoe.CategoryID)
	}
	eventually(t, 30*time.Second, "the screenshot attached", func() bool {
		desk.admin.call("GET", "/messaging/tickets/"+zoe.ID+"/attachments", nil, 200, &files)
		return len(files.Items) == 1 && files.Items[0].ContentType == "image/png"
	})
	if status, body := postInbound(t, base, secret, mailSample(t, "malformed.eml", map[string]string{"FROM": from, "TO": "help@example.com"})); status != 422 {
		t.Fatalf("malformed post: %d %s", status, body)
	}
	big := plainMail(from, "help@example.com", "big-2@example.org", "Huge", strings.Repeat("x", 30<<20))
	if status, body := postInbound(t, base, secret, big); status != 413 {
		t.Fatalf("30 MiB post: %d %s", status, body)
	}
	time.Sleep(time.Second)
	if got := ticketsTitled(desk.admin, appleTitle); len(got) != 1 {
		t.Fatalf("the duplicate post opened another ticket: %+v", got)
	}
	if got := ticketsTitled(desk.admin, "Huge"); len(got) != 0 {
		t.Fatalf("the 30 MiB post opened a ticket: %+v", got)
	}

	// Each stored message has its outcome and reason; refused input
	// (malformed, too large) was never stored.
	log := strings.Join(inboundLog(t), "\n")
	t.Logf("mail-in log:\n%s", log)
	for _, want := range []string{
		"6f1c2a9e-1b7d-4c43-9a51-3e0c1f2d7a10@example.org ticket",
		"caf3x9zkq7hlp2mt8yvjw0o1nrb5xe_4uq+sgd6hc@mail.gmail.com comment",
		"ooo-7731@example.org ignored automatic mail (Auto-Submitted: auto-replied)",
		"own-1@localhost ignored our own mail",
		"bulk-1@example.org ignored automatic mail (Precedence: bulk)",
		"bob-1@example.org rejected a comment on ticket " + tk.ID + " refused (404)",
		"juergen-2@example.org rejected the reply answers ticket " + tk.ID + " but its token names ticket",
		"path-1@example.org ticket",
		"agent-1@example.org rejected a reply from an agent's or admin's address must answer an e-mail sent to that address",
		"a1b2c3d4-e5f6-4711-8899-aabbccddeeff@example.org ticket",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("mail-in log lacks %q", want)
		}
	}
	for _, never := range []string{"broken-1@", "big-1@", "big-2@"} {
		if strings.Contains(log, never) {
			t.Errorf("refused message %s was stored", never)
		}
	}
	recordMailHistory(t, "6f1c2a9e-1b7d-4c43-9a51-3e0c1f2d7a10@example.org", "inbound-mail-ticket-with-file-v1")
	recordMailHistory(t, "bob-1@example.org", "inbound-mail-refused-reply-v1")
	recordMailHistory(t, "caf3x9zkq7hlp2mt8yvjw0o1nrb5xe_4uq+sgd6hc@mail.gmail.com", "inbound-mail-reply-comment-v1")
}

// recordMailHistory writes the history of a message's run under
// workers/testdata/histories when RECORD_HISTORIES is set, for the replay
// test.
func recordMailHistory(t *testing.T, messageID, name string) {
	if os.Getenv("RECORD_HISTORIES") == "" {
		return
	}
	ctx := context.Background()
	tc, err := temporalx.Dial(ctx, testenv.TemporalAddress(), "default", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	path := filepath.Join("..", "..", "workers", "testdata", "histories", name+".json")
	id := workflows.InboundMailWorkflowID(os.Getenv("TEMPORAL_TASK_QUEUE"), messageID)
	if err := workers.RecordHistory(ctx, tc, id, "", path); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s", path)
}
