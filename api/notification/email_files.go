package notification

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ticketflow/ticketflow/internal/logging"
)

// FileMailer writes each message as an .eml file into a directory: the
// development default, for working without a mail server. Any mail client
// opens the files.
type FileMailer struct {
	dir string
	log *slog.Logger
}

// NewFileMailer returns a transport that writes into dir, created when the
// first message is written.
func NewFileMailer(dir string, log *slog.Logger) *FileMailer {
	return &FileMailer{dir: dir, log: log}
}

// unsafeFileChars are the characters a file name made of a Message-ID
// does without.
var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Send writes m to <dir>/<time>-<Message-ID>.eml and logs where. The file
// appears whole or not at all: it is written under a temporary name and
// renamed.
func (f *FileMailer) Send(ctx context.Context, m Message) error {
	msg, err := mimeMessage(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.dir, 0o750); err != nil {
		return fmt.Errorf("mail directory: %w", err)
	}
	// Not named *.eml until renamed: a reader listing the .eml files (Go's
	// Glob matches dot files too) never sees one half written.
	tmp, err := os.CreateTemp(f.dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := msg.WriteTo(tmp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	id := unsafeFileChars.ReplaceAllString(strings.Trim(m.MessageID, "<>"), "_")
	name := time.Now().UTC().Format("20060102T150405.000000000") + "-" + id + ".eml"
	path := filepath.Join(f.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	logging.FromContext(ctx, f.log).Info("e-mail written to a file", "path", path, "to", m.To.Email, "subject", m.Subject)
	return nil
}
