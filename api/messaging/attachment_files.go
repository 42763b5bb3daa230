package messaging

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// fileStore keeps attachments' bytes on disk, named by their SHA-256 in a
// two-level fan-out (ab/cd/abcd…), so no directory grows too large and
// identical uploads share one file. Nothing of a client's file name ever
// reaches a path. Files are never deleted here: a file may be shared by
// several attachments, and one whose metadata failed to commit is only
// an orphan to sweep, never a broken download.
type fileStore struct {
	dir string
}

func newFileStore(dir string) *fileStore { return &fileStore{dir: dir} }

// storedFile is an upload that is safely on disk.
type storedFile struct {
	SHA256      string
	Size        int64
	ContentType string
}

var (
	errFileTooLarge   = apperr.New(apperr.TooLarge, "the file is too large")
	errFileType       = apperr.New(apperr.UnsupportedType, "this type of file cannot be attached; allowed are images (PNG, JPEG, GIF, WebP), PDF, plain text, ZIP and office documents")
	errFileEmpty      = apperr.WithFields(apperr.Unprocessable, "the file is empty", apperr.FieldError{Field: "file", Message: "must not be empty"})
	errFileUnreadable = apperr.New(apperr.Invalid, "the upload could not be read")
)

// path is where the file of a SHA-256 (in hex) lives.
func (fs *fileStore) path(sum string) string {
	return filepath.Join(fs.dir, sum[0:2], sum[2:4], sum)
}

// put streams r to disk while hashing it: at most limit bytes, of an
// allowed type sniffed from its first bytes (name only refines a ZIP into
// the office format it holds). It is written to a temporary file, synced,
// and renamed into place only when complete, so a reader never sees half a
// file; on any failure nothing remains.
func (fs *fileStore) put(r io.Reader, limit int64, name string) (storedFile, error) {
	r = clientReader{r}
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return storedFile{}, readError(err)
	}
	head = head[:n]
	if n == 0 {
		return storedFile{}, errFileEmpty
	}
	contentType, ok := sniffContentType(head, name)
	if !ok {
		return storedFile{}, errFileType
	}
	tmp, err := fs.createTemp()
	if err != nil {
		return storedFile{}, err
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name()) // fails harmlessly once renamed
	}()
	sum, size, err := copyHashed(tmp, io.MultiReader(bytes.NewReader(head), r), limit)
	if err != nil {
		return storedFile{}, err
	}
	if err := tmp.Sync(); err != nil {
		return storedFile{}, fmt.Errorf("sync upload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return storedFile{}, fmt.Errorf("close upload: %w", err)
	}
	if err := fs.place(tmp.Name(), sum); err != nil {
		return storedFile{}, err
	}
	return storedFile{SHA256: sum, Size: size, ContentType: contentType}, nil
}

// createTemp makes a temporary file in the store, on the file system of
// the final paths, so that the rename is atomic.
func (fs *fileStore) createTemp() (*os.File, error) {
	dir := filepath.Join(fs.dir, "tmp")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("attachments directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create upload file: %w", err)
	}
	return f, nil
}

// copyHashed copies src to dst up to limit bytes and returns the SHA-256
// of what it copied, and how much; more than limit is errFileTooLarge.
func copyHashed(dst io.Writer, src io.Reader, limit int64) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), io.LimitReader(src, limit+1))
	if err != nil {
		return "", 0, readError(err)
	}
	if n > limit {
		return "", 0, errFileTooLarge
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// place renames a complete temporary file to the path of its hash, unless
// the same content is already there.
func (fs *fileStore) place(tmp, sum string) error {
	final := fs.path(sum)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return fmt.Errorf("attachments directory: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("store upload %s: %w", sum, err)
	}
	return nil
}

// open opens the file of a SHA-256.
func (fs *fileStore) open(sum string) (*os.File, error) {
	if len(sum) != sha256.Size*2 {
		return nil, fmt.Errorf("open attachment file: bad hash %q", sum)
	}
	f, err := os.Open(fs.path(sum))
	if err != nil {
		return nil, fmt.Errorf("open attachment file: %w", err)
	}
	return f, nil
}

// clientReader marks the errors of reading the client's upload, so that
// they are not mistaken for ours (a full disk) when a copy fails.
type clientReader struct{ r io.Reader }

// clientReadError is a failure to read what the client sent.
type clientReadError struct{ err error }

func (e *clientReadError) Error() string { return "read upload: " + e.err.Error() }
func (e *clientReadError) Unwrap() error { return e.err }

func (c clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = &clientReadError{err: err}
	}
	return n, err
}

// readError tells a body over the request limit, 413, from a client that
// sent a broken or truncated upload, 400; anything else is ours.
func readError(err error) error {
	var (
		mbe    *http.MaxBytesError
		client *clientReadError
	)
	switch {
	case errors.As(err, &mbe):
		return errFileTooLarge
	case errors.As(err, &client):
		return fmt.Errorf("%w: %w", errFileUnreadable, err)
	}
	return fmt.Errorf("store upload: %w", err)
}

// allowedTypes are the media types, as http.DetectContentType names them,
// that may be attached. HTML, SVG, scripts and executables are not: even
// served as downloads, they are what an attacker would upload.
var allowedTypes = map[string]bool{
	"image/png":       true,
	"image/jpeg":      true,
	"image/gif":       true,
	"image/webp":      true,
	"application/pdf": true,
	"text/plain":      true,
	"application/zip": true,
}

// sniffContentType returns the content type of a file from its first
// bytes, and whether it may be attached.
func sniffContentType(head []byte, name string) (string, bool) {
	ct := http.DetectContentType(head)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !allowedTypes[mt] {
		return "", false
	}
	if mt == "application/zip" {
		return officeType(head, name), true
	}
	return ct, true
}

// Office documents are ZIP archives; these are the types of the common ones.
var (
	openDocumentTypes = map[string]bool{
		"application/vnd.oasis.opendocument.text":         true,
		"application/vnd.oasis.opendocument.spreadsheet":  true,
		"application/vnd.oasis.opendocument.presentation": true,
	}
	officeOpenXMLTypes = map[string]string{
		".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	}
)

// officeType names the office format a ZIP holds, when its first entry
// says so, or application/zip. An OpenDocument file starts with an
// uncompressed entry "mimetype" holding its type; an Office Open XML file
// with "[Content_Types].xml", which does not tell a document from a
// spreadsheet, so only there the name's extension picks the label.
func officeType(head []byte, name string) string {
	entry, content, ok := firstZipEntry(head)
	switch {
	case ok && entry == "mimetype" && openDocumentTypes[content]:
		return content
	case ok && entry == "[Content_Types].xml":
		if t, known := officeOpenXMLTypes[strings.ToLower(filepath.Ext(name))]; known {
			return t
		}
	}
	return "application/zip"
}

// firstZipEntry reads the name of a ZIP's first entry from its local file
// header and, when the entry is stored uncompressed, the start of its
// content: all of it when the header gives its size, else up to the next
// ZIP signature (the entry then ends with a data descriptor).
func firstZipEntry(b []byte) (name, content string, ok bool) {
	const header = 30
	if len(b) < header || string(b[:4]) != "PK\x03\x04" {
		return "", "", false
	}
	method := binary.LittleEndian.Uint16(b[8:])
	size := int(binary.LittleEndian.Uint32(b[18:]))
	nameLen := int(binary.LittleEndian.Uint16(b[26:]))
	extraLen := int(binary.LittleEndian.Uint16(b[28:]))
	if header+nameLen > len(b) {
		return "", "", false
	}
	name = string(b[header : header+nameLen])
	start := header + nameLen + extraLen
	if method != 0 || start > len(b) {
		return name, "", true
	}
	rest := b[start:]
	if size > 0 && size <= len(rest) {
		return name, string(rest[:size]), true
	}
	if i := bytes.Index(rest, []byte("PK")); i >= 0 {
		rest = rest[:i]
	}
	return name, string(rest), true
}
