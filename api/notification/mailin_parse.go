package notification

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-x, Windows-125x and the like
	"github.com/emersion/go-message/mail"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// ParsedMail is an inbound e-mail as mail-in reads it: the header fields it
// acts on, the text of the body and the attachments. It is derived from the
// stored raw message, so parsing again always gives the same.
type ParsedMail struct {
	// MessageID is the Message-ID without angle brackets; for a message
	// without one, a name derived from the content, so that the same
	// message is still recognised when it comes again.
	MessageID string
	From      Address
	// Recipients are the addresses the message was sent to (To, Cc,
	// Delivered-To, X-Original-To), lower case, for the category mapping
	// and the ticket token in an address.
	Recipients []string
	Subject    string
	// InReplyTo and References are Message-IDs without angle brackets.
	InReplyTo  []string
	References []string
	// AutoReason is why the message is machine-made and must not be
	// answered (Auto-Submitted, Precedence, a mailer daemon), or empty.
	AutoReason string
	// Text is the body as plain text: the text/plain part, or the HTML
	// part reduced to text when there is none.
	Text        string
	Attachments []ParsedAttachment
}

// ParsedAttachment is a file carried by an inbound e-mail.
type ParsedAttachment struct {
	// Name is the sender's file name reduced to a base name without
	// directories or control characters, never empty.
	Name        string
	ContentType string
	Data        []byte
}

// errMalformedMail answers a message that is not MIME that mail-in can read.
func errMalformedMail(format string, args ...any) error {
	return apperr.New(apperr.Unprocessable, "malformed e-mail: "+format, args...)
}

// maxMessageIDBytes bounds a Message-ID kept as it is; a longer one (no
// mail client writes one) is replaced by its hash.
const maxMessageIDBytes = 250

// maxParts bounds the parts of one message, so that a message of a
// thousand empty parts cannot keep a worker busy.
const maxParts = 200

// ParseMail reads the raw MIME message. A message it cannot read (no
// headers, no sender, a broken multipart structure, a part whose transfer
// encoding is corrupt) gives an Unprocessable error naming the fault.
func ParseMail(raw []byte) (ParsedMail, error) {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		return ParsedMail{}, errMalformedMail("%v", err)
	}
	defer mr.Close()
	h := mr.Header
	if h.Len() == 0 {
		return ParsedMail{}, errMalformedMail("no header fields")
	}
	var pm ParsedMail
	from, err := h.AddressList("From")
	if err != nil || len(from) == 0 {
		return ParsedMail{}, errMalformedMail("no valid From address")
	}
	pm.From = Address{Name: oneLine(from[0].Name, maxNameRunes), Email: strings.ToLower(from[0].Address)}
	switch id, err := h.MessageID(); {
	case err == nil && id != "" && len(id) <= maxMessageIDBytes:
		pm.MessageID = id
	case err == nil && id != "":
		// Too long to index: named by its hash, still the same each time.
		sum := sha256.Sum256([]byte(id))
		pm.MessageID = hex.EncodeToString(sum[:16]) + "@long-message-id.invalid"
	default:
		sum := sha256.Sum256(raw)
		pm.MessageID = hex.EncodeToString(sum[:16]) + "@no-message-id.invalid"
	}
	for _, key := range []string{"To", "Cc", "Delivered-To", "X-Original-To"} {
		list, _ := h.AddressList(key)
		for _, a := range list {
			pm.Recipients = appendUnique(pm.Recipients, strings.ToLower(a.Address))
		}
	}
	if s, err := h.Subject(); err == nil {
		pm.Subject = oneLine(s, 500)
	} else {
		pm.Subject = oneLine(h.Get("Subject"), 500)
	}
	pm.InReplyTo, _ = h.MsgIDList("In-Reply-To")
	pm.References, _ = h.MsgIDList("References")
	pm.AutoReason = autoReason(h.Header, pm.From.Email)

	var plain, htmlText string
	for n := 0; ; n++ {
		if n >= maxParts {
			return ParsedMail{}, errMalformedMail("more than %d parts", maxParts)
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			return ParsedMail{}, errMalformedMail("%v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return ParsedMail{}, errMalformedMail("part %d: %v", n+1, err)
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := ph.ContentType()
			_, disp, _ := ph.ContentDisposition()
			if name := disp["filename"]; name != "" || (ct != "" && !strings.HasPrefix(ct, "text/")) {
				// An inline image (Apple Mail puts screenshots so) is a file too.
				pm.Attachments = append(pm.Attachments, ParsedAttachment{
					Name: SafeFileName(name, len(pm.Attachments)+1), ContentType: ct, Data: body,
				})
				continue
			}
			switch {
			case ct == "text/html" && htmlText == "":
				htmlText = htmlToText(string(body))
			case (ct == "text/plain" || ct == "") && plain == "":
				plain = string(body)
			}
		case *mail.AttachmentHeader:
			name, _ := ph.Filename()
			ct, _, _ := ph.ContentType()
			pm.Attachments = append(pm.Attachments, ParsedAttachment{
				Name: SafeFileName(name, len(pm.Attachments)+1), ContentType: ct, Data: body,
			})
		}
	}
	text := plain
	if strings.TrimSpace(text) == "" {
		text = htmlText
	}
	pm.Text = strings.ToValidUTF8(strings.ReplaceAll(text, "\r\n", "\n"), "\uFFFD")
	pm.Text = strings.ReplaceAll(pm.Text, "\x00", "")
	return pm, nil
}

// autoReason says why a message with header h from sender is machine-made
// (RFC 3834 Auto-Submitted, Precedence bulk/junk/list, mailing-list and
// auto-responder headers, a mailer daemon), or returns "".
func autoReason(h message.Header, sender string) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && !strings.HasPrefix(v, "no") {
		return "Auto-Submitted: " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + v
	}
	for _, key := range []string{"X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"} {
		if v := h.Get(key); v != "" {
			if key == "X-Auto-Response-Suppress" && !strings.Contains(strings.ToLower(v), "all") && !strings.Contains(strings.ToLower(v), "autoreply") {
				continue
			}
			return key + ": " + oneLine(v, 100)
		}
	}
	local, _, _ := strings.Cut(sender, "@")
	switch local {
	case "mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply":
		return "sender " + sender
	}
	return ""
}

// SafeFileName reduces a sender's attachment name to a base name fit to
// show and store: no directories (../../etc/passwd becomes passwd), no
// control or path characters, at most 200 characters; an empty result
// becomes attachment-<n>.
func SafeFileName(name string, n int) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(path.Clean("/" + name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == ':' || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if r := []rune(name); len(r) > 200 {
		name = string(r[len(r)-200:])
	}
	if name == "" {
		return fmt.Sprintf("attachment-%d", n)
	}
	return name
}

var (
	htmlBlock   = regexp.MustCompile(`(?is)<(script|style|head)[^>]*>.*?</(script|style|head)>`)
	htmlQuote   = regexp.MustCompile(`(?is)<blockquote[^>]*>.*?</blockquote>`)
	htmlBreak   = regexp.MustCompile(`(?i)<(br|/p|/div|/li|/tr|/h[1-6])[^>]*>`)
	htmlTag     = regexp.MustCompile(`(?s)<[^>]*>`)
	blankLines  = regexp.MustCompile(`\n{3,}`)
	spaceRuns   = regexp.MustCompile(`[ \t\x{a0}]+`)
	gmailQuote  = regexp.MustCompile(`(?is)<div[^>]*class="?gmail_quote[^>]*>.*$`)
	appendQuote = regexp.MustCompile(`(?is)<div[^>]*id="?(appendonsend|divRplyFwdMsg)[^>]*>.*$`)
)

// htmlToText reduces an HTML body to its text, dropping quoted replies
// that mail clients mark up (blockquote, Gmail's and Outlook's markers).
func htmlToText(s string) string {
	s = htmlBlock.ReplaceAllString(s, "")
	s = gmailQuote.ReplaceAllString(s, "")
	s = appendQuote.ReplaceAllString(s, "")
	s = htmlQuote.ReplaceAllString(s, "")
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(spaceRuns.ReplaceAllString(l, " "))
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
