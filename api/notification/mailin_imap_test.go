package notification_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// imapBox is a private dovecot account as a mail server and a mail client
// see it.
type imapBox struct {
	t *testing.T
	d *testenv.Dovecot
}

func (b imapBox) client() *imapclient.Client {
	b.t.Helper()
	c, err := imapclient.DialInsecure(b.d.Addr, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := c.Login(b.d.User, b.d.Password).Wait(); err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (b imapBox) deliver(raw []byte) {
	b.t.Helper()
	cmd := b.client().Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		b.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		b.t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		b.t.Fatal(err)
	}
}

// flags returns the flags of every message in folder, by subject.
func (b imapBox) flags(folder string) map[string][]imap.Flag {
	b.t.Helper()
	c := b.client()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		b.t.Fatal(err)
	}
	out := map[string][]imap.Flag{}
	if sel.NumMessages == 0 {
		return out
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil {
		b.t.Fatal(err)
	}
	for _, m := range msgs {
		out[m.Envelope.Subject] = m.Flags
	}
	return out
}

func TestPoller_FlagsOnlyWhatIsDone(t *testing.T) {
	d := testenv.StartDovecot(t)
	box := imapBox{t: t, d: d}
	if err := box.client().Create("Processed", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	m := newMailEnv(t, 100) // MaxBytes 3 MiB; no worker runs the workflows
	p, err := notification.NewPoller(m.mail, notification.PollerConfig{
		URL: d.URL(), ProcessedFolder: "Processed", WaitTimeout: time.Second,
	}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	box.deliver(sample(t, "malformed.eml", map[string]string{}))
	box.deliver(append(mailFromTo("a@example.org", "help@example.com", "far too big"), bytes.Repeat([]byte("z\r\n"), 1<<20+10)...))
	box.deliver(mailFromTo("a@example.org", "help@example.com", "a good one"))

	n, err := p.Poll(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("poll: %d done, %v; want the 2 refused ones", n, err)
	}
	// The refused ones are moved, flagged rejected, and were never stored;
	// the good one is stored, but its run has not finished (no worker), so
	// it stays in the inbox, unflagged, for the next poll.
	done := box.flags("Processed")
	for _, subject := range []string{"broken attachment", "far too big"} {
		if f := done[subject]; !slices.Contains(f, "$TicketflowRejected") || !slices.Contains(f, imap.FlagSeen) {
			t.Errorf("%q in Processed with flags %v", subject, f)
		}
	}
	inbox := box.flags("INBOX")
	if f, ok := inbox["a good one"]; !ok || len(f) != 0 || len(inbox) != 1 {
		t.Fatalf("inbox %v", inbox)
	}
	if got := m.count(`SELECT count(*) FROM inbound_messages`); got != 1 {
		t.Fatalf("%d messages stored, want 1", got)
	}
	// Polled again, it finds its stored row and its run: nothing new.
	if n, err := p.Poll(context.Background()); err != nil || n != 0 {
		t.Fatalf("second poll: %d, %v", n, err)
	}
	if got := m.count(`SELECT count(*) FROM inbound_messages`); got != 1 {
		t.Fatalf("%d messages stored after polling twice, want 1", got)
	}
}

func TestPoller_RefusesAPasswordInClearToAnotherHost(t *testing.T) {
	m := newMailEnv(t, 100)
	for _, u := range []string{
		"imap://desk:pw@mail.example.com?starttls=off",
		"pop3://desk:pw@127.0.0.1",
		"imap://127.0.0.1",
		"imaps://",
	} {
		if _, err := notification.NewPoller(m.mail, notification.PollerConfig{URL: u}, testenv.Logger(t)); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"imap://desk:pw@127.0.0.1:1143?starttls=off", "imaps://desk:pw@mail.example.com", "imap://desk:pw@mail.example.com"} {
		if _, err := notification.NewPoller(m.mail, notification.PollerConfig{URL: u}, testenv.Logger(t)); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
