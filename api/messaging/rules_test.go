package messaging

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSanitizeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                     "report.pdf",
		"../../etc/passwd":               "passwd",
		`C:\Users\ana\report.pdf`:        "report.pdf",
		".htaccess":                      "htaccess",
		"...":                            "attachment",
		"":                               "attachment",
		"  spaced out .txt  ":            "spaced out .txt",
		"name.":                          "name",
		"a\x00b\x1fc\u202ed\u200be.txt":  "abcde.txt",
		"résumé 2026.docx":               "résumé 2026.docx",
		strings.Repeat("é", 250) + ".7z": strings.Repeat("é", 197) + ".7z",
		strings.Repeat("x", 250):         strings.Repeat("x", 200),
	} {
		if got := sanitizeFileName(in); got != want {
			t.Errorf("sanitizeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContentDisposition_EscapesForRFC6266(t *testing.T) {
	for name, want := range map[string]string{
		"report.pdf":      `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
		"ünï cødé.txt":    `attachment; filename="_n_ c_d_.txt"; filename*=UTF-8''%C3%BCn%C3%AF%20c%C3%B8d%C3%A9.txt`,
		`a"b\c%d;e'f.txt`: `attachment; filename="a_b_c_d;e'f.txt"; filename*=UTF-8''a%22b%5Cc%25d%3Be%27f.txt`,
	} {
		if got := contentDisposition(name); got != want {
			t.Errorf("contentDisposition(%q) =\n %s\nwant\n %s", name, got, want)
		}
	}
}

// zipWith returns a ZIP archive whose first entry is name, stored
// uncompressed with content.
func zipWith(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(content))
	if w, err = zw.Create("content.xml"); err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("<doc/>"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipStored returns a ZIP archive whose first entry is name with content,
// its sizes in the local header as OpenDocument writers put them.
func zipStored(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(content)),
		CompressedSize64: uint64(len(content)), UncompressedSize64: uint64(len(content)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSniffContentType_AllowsOnlyKnownTypes(t *testing.T) {
	odt := zipWith(t, "mimetype", "application/vnd.oasis.opendocument.text")
	odtSized := zipStored(t, "mimetype", "application/vnd.oasis.opendocument.spreadsheet")
	docx := zipWith(t, "[Content_Types].xml", "<Types/>")
	for _, c := range []struct {
		name string
		head []byte
		file string
		want string // "" when refused
	}{
		{"png", []byte("\x89PNG\r\n\x1a\n...."), "a.png", "image/png"},
		{"jpeg", []byte("\xff\xd8\xff\xe0...."), "a.jpg", "image/jpeg"},
		{"gif", []byte("GIF89a...."), "a.gif", "image/gif"},
		{"webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "a.webp", "image/webp"},
		{"pdf", []byte("%PDF-1.7\n"), "a.pdf", "application/pdf"},
		{"text", []byte("hello"), "a.txt", "text/plain; charset=utf-8"},
		{"text named .html", []byte("hello"), "a.html", "text/plain; charset=utf-8"},
		{"zip", zipWith(t, "readme.txt", "hi"), "a.zip", "application/zip"},
		{"odt", odt, "a.odt", "application/vnd.oasis.opendocument.text"},
		{"ods with sizes in the header", odtSized, "a.ods", "application/vnd.oasis.opendocument.spreadsheet"},
		{"docx", docx, "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"office zip without its extension", docx, "a.zip", "application/zip"},
		{"html", []byte("<html><body>"), "a.txt", ""},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">`), "a.svg", ""},
		// Without a prolog SVG sniffs as text, and is served as text/plain:
		// with nosniff and as a download, a browser never runs it.
		{"svg without a prolog", []byte(`<svg xmlns="http://www.w3.org/2000/svg">`), "a.svg", "text/plain; charset=utf-8"},
		{"exe", []byte("MZ\x90\x00\x03"), "a.pdf", ""},
		{"elf", []byte("\x7fELF\x02\x01"), "a", ""},
		{"javascript-looking text is text", []byte("alert(1)"), "a.js", "text/plain; charset=utf-8"},
	} {
		got, ok := sniffContentType(c.head, c.file)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("%s: %q %v, want %q", c.name, got, ok, c.want)
		}
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Desk.Example.com":      "https://desk.example.com",
		"https://desk.example.com:443":  "https://desk.example.com",
		"http://127.0.0.1:8080/":        "http://127.0.0.1:8080",
		"http://[::1]:8080":             "http://[::1]:8080",
		"null":                          "",
		"https://desk.example.com/app":  "",
		"ftp://desk.example.com":        "",
		"https://user@desk.example.com": "",
	} {
		got, ok := normalizeOrigin(in)
		if ok != (want != "") || got != want {
			t.Errorf("normalizeOrigin(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestFrameBudget_AllowsBurstsThenTheRate(t *testing.T) {
	b := frameBudget{rate: 10, burst: 3}
	now := time.Now()
	for i := range 3 {
		if !b.take(now) {
			t.Fatalf("frame %d of the burst refused", i)
		}
	}
	if b.take(now) {
		t.Fatal("a fourth frame at once was allowed")
	}
	if !b.take(now.Add(100 * time.Millisecond)) {
		t.Fatal("a frame after a tenth of a second was refused")
	}
}

func TestEnqueue_SlowClientIsDroppedNotWaitedFor(t *testing.T) {
	c := &wsConn{send: make(chan []byte, 2), done: make(chan struct{})}
	for range 3 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.enqueue([]byte("{}"))
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatal("enqueue blocked on a full buffer")
		}
	}
	if !c.closing() || c.closeCode != websocket.ClosePolicyViolation {
		t.Fatalf("closing %v with %d, want a 1008 close", c.closing(), c.closeCode)
	}
}

func TestIsInternalComment_FailsClosed(t *testing.T) {
	frame := func(typ, data string) Frame { return Frame{Type: typ, Data: json.RawMessage(data)} }
	for _, c := range []struct {
		f    Frame
		want bool
	}{
		{frame(FrameCommentCreated, `{"internal":false}`), false},
		{frame(FrameCommentCreated, `{"internal":true}`), true},
		{frame(FrameCommentUpdated, `{}`), true},
		{frame(FrameCommentCreated, `nonsense`), true},
		{frame(FramePresence, `{}`), false},
	} {
		if got := isInternalComment(c.f); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.f.Type, c.f.Data, got, c.want)
		}
	}
}
