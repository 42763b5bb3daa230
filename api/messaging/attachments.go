package messaging

import (
	"context"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// maxFileNameRunes bounds the displayed name of an attachment.
const maxFileNameRunes = 200

// Attachment is a file attached to a ticket, as the API shows it.
type Attachment struct {
	ID         string `json:"id"`
	TicketID   string `json:"ticket_id"`
	UploaderID string `json:"uploader_id"`
	// FileName is the client's name for the file, sanitized, for display
	// and as the download's name only.
	FileName string `json:"file_name"`
	Size     int64  `json:"size"`
	// ContentType is what the bytes were sniffed to be, never what the
	// client claimed.
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// errNoAttachment is the one answer to an unknown attachment or one on a
// ticket the caller may not see.
var errNoAttachment = apperr.New(apperr.NotFound, "no such attachment")

// Upload attaches the file read from r, named fileName by the client, to
// the ticket. The caller's access to the ticket is checked before a byte
// of the file is read; the file must be of an allowed type and at most
// the configured size.
func (s *Service) Upload(ctx context.Context, caller authn.User, ticketID, fileName string, r io.Reader) (Attachment, error) {
	if _, err := s.access.check(ctx, ticketID, caller); err != nil {
		return Attachment{}, err
	}
	name := sanitizeFileName(fileName)
	f, err := s.files.put(r, s.cfg.MaxAttachmentBytes, name)
	if err != nil {
		return Attachment{}, err
	}
	a, err := insertAttachment(ctx, s.pool, Attachment{
		ID: newID(), TicketID: ticketID, UploaderID: caller.ID, FileName: name,
		Size: f.Size, ContentType: f.ContentType, SHA256: f.SHA256,
	})
	if err != nil {
		return Attachment{}, err
	}
	logging.FromContext(ctx, s.log).Info("attachment stored", "ticket_id", ticketID, "attachment_id", a.ID,
		"size", a.Size, "content_type", a.ContentType)
	return a, nil
}

// Attachment returns attachment id with its open file, when caller may see
// its ticket. The caller closes the file.
func (s *Service) Attachment(ctx context.Context, caller authn.User, id string) (Attachment, *os.File, error) {
	if !validID(id) {
		return Attachment{}, nil, errNoAttachment
	}
	a, err := attachmentByID(ctx, s.pool, id)
	if err != nil {
		return Attachment{}, nil, err
	}
	if _, err := s.access.check(ctx, a.TicketID, caller); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return Attachment{}, nil, errNoAttachment
		}
		return Attachment{}, nil, err
	}
	f, err := s.files.open(a.SHA256)
	if err != nil {
		return Attachment{}, nil, err
	}
	return a, f, nil
}

// Attachments returns a page of the ticket's attachments, oldest first,
// and where the next page starts (nil at the end).
func (s *Service) Attachments(ctx context.Context, caller authn.User, ticketID string, p Page) ([]Attachment, *Position, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.access.check(ctx, ticketID, caller); err != nil {
		return nil, nil, err
	}
	list, err := listAttachments(ctx, s.pool, ticketID, p.After, limit+1)
	if err != nil {
		return nil, nil, err
	}
	if len(list) <= limit {
		return list, nil, nil
	}
	list = list[:limit]
	last := list[limit-1]
	return list, &Position{At: last.CreatedAt, ID: last.ID}, nil
}

// sanitizeFileName turns a client's file name into one fit for display
// and downloads: the last element of any path (either slash), without
// control or formatting characters (which could hide a real extension
// behind a right-to-left override), without leading dots, at most
// maxFileNameRunes long with its extension kept; "attachment" when
// nothing is left.
func sanitizeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	name = strings.TrimRight(name, ". ")
	if utf8.RuneCountInString(name) > maxFileNameRunes {
		name = truncateKeepingExtension(name, maxFileNameRunes)
	}
	if name == "" {
		return "attachment"
	}
	return name
}

// truncateKeepingExtension shortens name to max runes, cutting the base
// rather than a short extension.
func truncateKeepingExtension(name string, max int) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && utf8.RuneCountInString(name[i:]) <= 16 {
		name, ext = name[:i], name[i:]
	}
	runes := []rune(name)
	keep := max - utf8.RuneCountInString(ext)
	return strings.TrimSpace(string(runes[:min(len(runes), keep)])) + ext
}
