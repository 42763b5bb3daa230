package messaging

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// FuzzUpload runs a hostile multipart body through what an upload goes
// through before the file store: finding the "file" part, sanitizing the
// client's file name, sniffing the content and writing the download's
// Content-Disposition. Nothing panics; failures are client errors; the
// stored name is safe (see checkFileName); a sniffed type is one of the
// allowed ones.
func FuzzUpload(f *testing.F) {
	add := func(name, content string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.SetBoundary("fuzzboundary")
		part, _ := mw.CreateFormFile("file", name)
		_, _ = part.Write([]byte(content))
		_ = mw.Close()
		f.Add(buf.Bytes(), name)
	}
	add("report.pdf", "%PDF-1.7\n...")
	add("../../etc/passwd", "root:x:0:0")
	add(`..\..\windows\win.ini`, "[fonts]")
	add("<img src=x onerror=alert(1)>.png", "\x89PNG\r\n\x1a\n")
	add("evil\u202egnp.exe", "MZ\x90\x00")
	add("a\x00b\r\nc.txt", "hello")
	add(strings.Repeat("ab", 300)+".docx", "PK\x03\x04\x14\x00\x00\x00\x00\x00")
	add("..", "x")
	add("", "GIF89a")
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%2e%2e%2fx\r\n\r\nx\r\n--fuzzboundary--\r\n"), "")
	f.Add([]byte("--fuzzboundary\r\n\r\n"), "x")
	f.Fuzz(func(t *testing.T, body []byte, rawName string) {
		// The name the multipart header carries.
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=fuzzboundary")
		part, err := filePart(req)
		if err != nil {
			checkClientError(t, err)
		} else {
			name := sanitizeFileName(part.FileName())
			checkFileName(t, part.FileName(), name)
			head := make([]byte, 512)
			n, err := io.ReadFull(clientReader{part}, head)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				checkClientError(t, readError(err))
			}
			checkSniff(t, head[:n], name)
			checkDisposition(t, name)
		}
		// And any name at all, as another client might send it.
		name := sanitizeFileName(rawName)
		checkFileName(t, rawName, name)
		checkSniff(t, body, name)
		checkDisposition(t, name)
	})
}

func checkClientError(t *testing.T, err error) {
	t.Helper()
	var ae *apperr.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case apperr.Invalid, apperr.TooLarge, apperr.UnsupportedType, apperr.Unprocessable:
			return
		}
	}
	if errors.Is(err, errFileUnreadable) || errors.Is(err, errFileTooLarge) {
		return
	}
	t.Fatalf("upload failed with %v (%T), want a client error", err, err)
}

// checkFileName asserts what a sanitized name promises: valid UTF-8, no
// slash or backslash, no NUL, control or formatting character, never
// "." or ".." (nor a leading dot), at most maxFileNameRunes runes.
func checkFileName(t *testing.T, raw, name string) {
	t.Helper()
	switch {
	case name == "":
		t.Fatalf("sanitizeFileName(%q) is empty", raw)
	case !utf8.ValidString(name):
		t.Fatalf("sanitizeFileName(%q) = %q: invalid UTF-8", raw, name)
	case strings.ContainsAny(name, "/\\\x00"):
		t.Fatalf("sanitizeFileName(%q) = %q: holds a separator or NUL", raw, name)
	case name == "." || name == ".." || strings.HasPrefix(name, "."):
		t.Fatalf("sanitizeFileName(%q) = %q: a dot name", raw, name)
	case utf8.RuneCountInString(name) > maxFileNameRunes:
		t.Fatalf("sanitizeFileName(%q) = %q: %d runes, over %d", raw, name, utf8.RuneCountInString(name), maxFileNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Fatalf("sanitizeFileName(%q) = %q: holds %U", raw, name, r)
		}
	}
}

func checkSniff(t *testing.T, head []byte, name string) {
	t.Helper()
	ct, ok := sniffContentType(head, name)
	if !ok {
		return
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("sniffed %q: %v", ct, err)
	}
	if !allowedTypes[mt] && !openDocumentTypes[mt] && !isOfficeOpenXML(mt) {
		t.Fatalf("sniffed %q for %q, which is not an allowed type", ct, head)
	}
}

func isOfficeOpenXML(mt string) bool {
	for _, v := range officeOpenXMLTypes {
		if v == mt {
			return true
		}
	}
	return false
}

// checkDisposition asserts the header value cannot be split or end its
// quoted filename early.
func checkDisposition(t *testing.T, name string) {
	t.Helper()
	cd := contentDisposition(name)
	if strings.ContainsAny(cd, "\r\n\x00") {
		t.Fatalf("Content-Disposition for %q holds a line break or NUL: %q", name, cd)
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		t.Fatalf("Content-Disposition %q does not parse: %v", cd, err)
	}
	if params["filename"] != name {
		// filename* carries the exact name; Go's parser prefers it.
		t.Fatalf("Content-Disposition %q names %q, want %q", cd, params["filename"], name)
	}
}
