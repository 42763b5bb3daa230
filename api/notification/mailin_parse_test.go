package notification_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/apperr"
)

// sample reads a message from testdata/mail with its placeholders filled in.
func sample(t testing.TB, name string, vars map[string]string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	defaults := map[string]string{
		"FROM": "sender@example.org", "TO": "help@desk.example.com",
		"THREAD":   "ticket-00000000-0000-0000-0000-000000000001@desk.example.com",
		"REPLY_TO": "ticket-00000000-0000-0000-0000-000000000001-00000000-0000-0000-0000-000000000002@desk.example.com",
	}
	for k, v := range defaults {
		if _, ok := vars[k]; !ok {
			vars[k] = v
		}
	}
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return []byte(s)
}

func TestParseMail_ClientSamples(t *testing.T) {
	tests := []struct {
		file, messageID, fromName, subject string
		wantText, notText                  []string
		trimmed                            string
		attachments                        []string
		inReplyTo                          bool
	}{
		{
			file: "thunderbird_new.eml", messageID: "6f1c2a9e-1b7d-4c43-9a51-3e0c1f2d7a10@example.org",
			fromName: "Jürgen Müller", subject: "Drucker im 2. Stock druckt nicht – dringend",
			wantText: []string{"Papierstau", "Viele Grüße"}, trimmed: "Hallo zusammen,\n\nder Drucker im 2. Stock (Raum 2.14) zeigt seit heute früh\n\"Papierstau\" an, obwohl kein Papier klemmt. Fehlerprotokoll anbei.\n\nViele Grüße\nJürgen",
			attachments: []string{"Fehlerprotokoll.pdf"},
		},
		{
			file: "outlook_reply.eml", messageID: "AM0PR10MB30117F4C2D1E8B0A9C3D5E6FB9A12@AM0PR10MB3011.EURPRD10.PROD.OUTLOOK.COM",
			fromName: "Anna Schmidt", subject: "AW: Your ticket was received",
			wantText: []string{"Grüße", "Cache geleert"}, trimmed: "Hallo,\n\nder Fehler tritt weiterhin auf, auch nach dem Neustart. Ich habe den Cache geleert, ohne Erfolg.\n\nGrüße\nAnna",
			inReplyTo: true,
		},
		{
			file: "applemail_new.eml", messageID: "A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF@example.org",
			fromName: "Zoë Martin", subject: "VPN-Zugang für neue Kollegin 🔒",
			wantText: []string{"VPN-Zugang", "hängt an", "Zoë"}, trimmed: "Hi,\n\nunsere neue Kollegin (Start am 1.12.) braucht einen VPN-Zugang. Screenshot der Fehlermeldung hängt an.\n\nDanke & Gruß\nZoë",
			attachments: []string{"Bildschirmfoto 2026-11-27 um 11.03.55.png"},
		},
		{
			file: "gmail_reply.eml", messageID: "CAF3x9ZkQ7hLp2mT8yVJw0o1nRb5Xe_4uQ+sGd6Hc@mail.gmail.com",
			fromName: "Sam Lee", subject: "Re: New reply on “Laptop won’t boot”",
			wantText: []string{"fan is very loud", "> Hi Sam"}, trimmed: "Thanks! I tried holding the power button for 30 seconds and now it boots — but the fan is very loud.",
			inReplyTo: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pm, err := notification.ParseMail(sample(t, tt.file, map[string]string{}))
			if err != nil {
				t.Fatal(err)
			}
			if pm.MessageID != tt.messageID || pm.From.Name != tt.fromName || pm.From.Email != "sender@example.org" || pm.Subject != tt.subject {
				t.Errorf("got id %q from %q <%s> subject %q", pm.MessageID, pm.From.Name, pm.From.Email, pm.Subject)
			}
			if len(pm.Recipients) == 0 || pm.Recipients[0] != "help@desk.example.com" {
				t.Errorf("recipients %v", pm.Recipients)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(pm.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, pm.Text)
				}
			}
			if got := notification.TrimReply(pm.Text); got != tt.trimmed {
				t.Errorf("trimmed:\n%q\nwant\n%q", got, tt.trimmed)
			}
			var names []string
			for _, a := range pm.Attachments {
				names = append(names, a.Name)
				if len(a.Data) == 0 {
					t.Errorf("attachment %s is empty", a.Name)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.attachments, ",") {
				t.Errorf("attachments %v, want %v", names, tt.attachments)
			}
			if tt.inReplyTo != (len(pm.InReplyTo) == 1 && len(pm.References) == 2) {
				t.Errorf("in-reply-to %v references %v", pm.InReplyTo, pm.References)
			}
			if pm.AutoReason != "" {
				t.Errorf("a person's message taken for an automatic one: %s", pm.AutoReason)
			}
		})
	}
}

func TestParseMail_AutoReplyIsRecognised(t *testing.T) {
	pm, err := notification.ParseMail(sample(t, "autoreply.eml", map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pm.AutoReason, "Auto-Submitted") {
		t.Fatalf("auto reason %q", pm.AutoReason)
	}
	for _, h := range []string{"Precedence: bulk", "Precedence: junk", "Precedence: list", "List-Id: <x.example.org>"} {
		raw := "From: a@example.org\r\nSubject: s\r\n" + h + "\r\n\r\nbody\r\n"
		pm, err := notification.ParseMail([]byte(raw))
		if err != nil || pm.AutoReason == "" {
			t.Errorf("%s: reason %q, err %v", h, pm.AutoReason, err)
		}
	}
	pm, err = notification.ParseMail([]byte("From: a@example.org\r\nAuto-Submitted: no\r\n\r\nbody\r\n"))
	if err != nil || pm.AutoReason != "" {
		t.Errorf("Auto-Submitted: no is a person's mail: reason %q, err %v", pm.AutoReason, err)
	}
}

func TestParseMail_MalformedIsRefused(t *testing.T) {
	cases := map[string][]byte{
		"corrupt base64 part": sample(t, "malformed.eml", map[string]string{}),
		"no header":           []byte("just some text without any header\r\n"),
		"no From":             []byte("Subject: hi\r\n\r\nbody\r\n"),
		"unclosed multipart":  []byte("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\nContent-Type: text/plain\r\n\r\nhi\r\n"),
		"empty":               {},
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := notification.ParseMail(raw)
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("got %v, want an Unprocessable error", err)
			}
		})
	}
}

func TestParseMail_AttachmentPathIsStripped(t *testing.T) {
	pm, err := notification.ParseMail(sample(t, "path_attachment.eml", map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(pm.Attachments) != 1 || pm.Attachments[0].Name != "passwd" {
		t.Fatalf("attachments %+v", pm.Attachments)
	}
	for in, want := range map[string]string{
		"../../etc/passwd": "passwd", `..\..\windows\win.ini`: "win.ini", "/": "attachment-3",
		"..": "attachment-3", "a\x00b\r\n.txt": "ab.txt", "C:evil.txt": "Cevil.txt",
	} {
		if got := notification.SafeFileName(in, 3); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTrimReply(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"signature": {"Fixed, thanks.\n\n-- \nSam\nIT", "Fixed, thanks."},
		"thunderbird attribution": {
			"Still broken.\n\nOn 27.11.26 10:02, Ticketflow wrote:\n> Hi\n", "Still broken."},
		"german attribution":   {"Geht wieder.\n\nAm 27.11.2026 um 10:02 schrieb Ticketflow:\n> Hallo", "Geht wieder."},
		"outlook header block": {"Yes.\n\nFrom: Ticketflow <t@x>\nSent: Friday\nTo: me", "Yes."},
		"outlook separator":    {"Yes.\n-----Original Message-----\nFrom: x", "Yes."},
		"phone":                {"OK\n\nSent from my iPhone", "OK"},
		"only a quote":         {"> quoted only", "> quoted only"},
		"nothing to trim":      {"line one\nline two", "line one\nline two"},
	}
	for name, tt := range tests {
		if got := notification.TrimReply(tt.in); got != tt.want {
			t.Errorf("%s: got %q, want %q", name, got, tt.want)
		}
	}
}

func TestParseMail_MessageIDIsBoundedAndStable(t *testing.T) {
	long := "<" + strings.Repeat("a", 5000) + "@example.org>"
	raw := []byte("From: a@example.org\r\nMessage-ID: " + long + "\r\n\r\nbody\r\n")
	a, err := notification.ParseMail(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := notification.ParseMail(raw)
	if len(a.MessageID) > 250 || a.MessageID != b.MessageID {
		t.Fatalf("message ID %q, then %q", a.MessageID, b.MessageID)
	}
	none := []byte("From: a@example.org\r\n\r\nbody\r\n")
	c, _ := notification.ParseMail(none)
	d, _ := notification.ParseMail(none)
	if c.MessageID == "" || c.MessageID != d.MessageID || c.MessageID == a.MessageID {
		t.Fatalf("without a Message-ID: %q, then %q", c.MessageID, d.MessageID)
	}
}
