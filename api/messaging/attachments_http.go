package messaging

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// uploadAttachment takes a multipart/form-data body whose field "file" is
// the file. The file streams to disk as it arrives; it is never held in
// memory or written under a name of the client's.
func (h *Handler) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	part, err := filePart(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer part.Close()
	a, err := h.svc.Upload(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), part.FileName(), part)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/attachments/"+a.ID)
	httpx.JSON(w, http.StatusCreated, a)
}

// filePart returns the part named "file" of a multipart body, its content
// not yet read.
func filePart(r *http.Request) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.New(apperr.UnsupportedType, "the upload must be multipart/form-data with the file in the field \"file\"")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, apperr.WithFields(apperr.Unprocessable, "the upload has no file",
				apperr.FieldError{Field: "file", Message: "is required"})
		}
		if err != nil {
			return nil, readError(&clientReadError{err: err})
		}
		if p.FormName() == "file" {
			return p, nil
		}
	}
}

func (h *Handler) listAttachments(w http.ResponseWriter, r *http.Request) {
	p, err := h.page(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, next, err := h.svc.Attachments(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeList(w, h, list, next)
}

// downloadAttachment serves a file as a download of the type it was
// sniffed to be, which the browser must neither guess otherwise (nosniff)
// nor render in our origin (attachment, and a sandboxing CSP for the case
// it is opened anyway).
func (h *Handler) downloadAttachment(w http.ResponseWriter, r *http.Request) {
	a, f, err := h.svc.Attachment(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", a.ContentType)
	hdr.Set("Content-Disposition", contentDisposition(a.FileName))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hdr.Set("Cache-Control", "private, no-cache")
	hdr.Set("ETag", `"`+a.SHA256+`"`)
	http.ServeContent(w, r, "", a.CreatedAt, f)
}

// contentDisposition returns an attachment disposition naming the file
// (RFC 6266): an ASCII filename for old clients and the exact UTF-8 name
// in filename* (RFC 5987 percent-encoding).
func contentDisposition(name string) string {
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, asciiFileName(name), encodeRFC5987(name))
}

// asciiFileName replaces what a quoted-string cannot safely hold.
func asciiFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			return '_'
		}
		return r
	}, name)
}

// encodeRFC5987 percent-encodes every byte of s that is not an attr-char.
func encodeRFC5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// isAttrChar reports whether c is an attr-char of RFC 5987.
func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
