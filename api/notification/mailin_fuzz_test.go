package notification_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/apperr"
)

// FuzzParseMail feeds mail-in's MIME reader hostile messages: it must
// never panic, refuse what it cannot read with an Unprocessable error, and
// hand on only text fit to store and file names without a path.
func FuzzParseMail(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "mail", "*.eml"))
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Disposition: attachment; filename*=UTF-8''..%2F..%2Fx\r\n\r\nhi\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		pm, err := notification.ParseMail(raw)
		if err != nil {
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		if pm.MessageID == "" || len(pm.MessageID) > 250 || pm.From.Email == "" {
			t.Fatalf("message ID %q, sender %q", pm.MessageID, pm.From.Email)
		}
		if !utf8.ValidString(pm.Text) || strings.ContainsRune(pm.Text, 0) {
			t.Fatalf("text not fit to store: %q", pm.Text)
		}
		for _, a := range pm.Attachments {
			if a.Name == "" || strings.ContainsAny(a.Name, "/\\\x00") || a.Name == "." || a.Name == ".." {
				t.Fatalf("attachment name %q", a.Name)
			}
		}
		trimmed := notification.TrimReply(pm.Text)
		if len(trimmed) > len(pm.Text) {
			t.Fatalf("trimming grew the text: %q from %q", trimmed, pm.Text)
		}
	})
}
