package notification

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// MailInHandler serves mail-in's HTTP routes under Prefix + "/inbound".
type MailInHandler struct {
	mail     *MailIn
	secret   string
	verifier *authn.Verifier
	log      *slog.Logger
}

// NewMailInHandler returns the routes of mail. secret is the shared
// secret of SendGrid's Inbound Parse posts; empty turns the endpoint off.
func NewMailInHandler(mail *MailIn, secret string, verifier *authn.Verifier, log *slog.Logger) *MailInHandler {
	return &MailInHandler{mail: mail, secret: secret, verifier: verifier, log: log}
}

// WithMailIn has h serve mail-in's routes beside the notification API:
//
//	POST   /inbound/sendgrid               SendGrid Inbound Parse (HTTP Basic, password = the shared secret)
//	GET    /inbound/addresses              admin: the receiving address → category mappings
//	PUT    /inbound/addresses/{address}    admin: {category_id}; "*" is the default
//	DELETE /inbound/addresses/{address}    admin
func (h *Handler) WithMailIn(mi *MailInHandler) *Handler {
	h.mailIn = mi
	return h
}

// mount adds mail-in's routes to r.
func (mi *MailInHandler) mount(r chi.Router) {
	r.Route("/inbound", func(r chi.Router) {
		r.With(httpx.WithBodyLimit(mi.mail.MaxBytes()+multipartOverhead)).Post("/sendgrid", mi.sendGrid)
		r.Group(func(r chi.Router) {
			r.Use(mi.verifier.Middleware(mi.log))
			r.Use(authn.RequireRole(mi.log, authn.RoleAdmin))
			r.Get("/addresses", mi.listAddresses)
			r.Put("/addresses/{address}", mi.putAddress)
			r.Delete("/addresses/{address}", mi.deleteAddress)
		})
	})
}

// multipartOverhead is what an Inbound Parse post holds besides the raw
// message: SendGrid's other fields (headers, envelope, spam report).
const multipartOverhead = 1 << 20

// errForged answers an Inbound Parse post without the shared secret.
var errForged = &apperr.Error{Code: apperr.Unauthorized, Message: "the Inbound Parse secret is missing or wrong"}

// authorized reports whether r carries the shared secret as its HTTP Basic
// password, compared in constant time (of hashes, so not even the
// secret's length leaks).
func (h *MailInHandler) authorized(r *http.Request) bool {
	_, pass, ok := r.BasicAuth()
	if !ok || h.secret == "" {
		return false
	}
	got, want := sha256.Sum256([]byte(pass)), sha256.Sum256([]byte(h.secret))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// sendGrid takes an Inbound Parse post with "POST the raw, full MIME
// message" on: multipart/form-data whose "email" field is the message.
// It answers 200 once the message is stored and its run started (SendGrid
// retries anything else), 413 for a message over the limit and 422 for
// one that is not readable MIME; nothing is stored then.
func (h *MailInHandler) sendGrid(w http.ResponseWriter, r *http.Request) {
	if h.secret == "" {
		h.fail(w, r, apperr.New(apperr.NotFound, "Inbound Parse is not enabled (set MAIL_IN_SENDGRID_SECRET)"))
		return
	}
	if !h.authorized(r) {
		logging.FromContext(r.Context(), h.log).Warn("forged Inbound Parse post refused", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Basic realm="inbound-parse"`)
		h.fail(w, r, errForged)
		return
	}
	raw, err := h.rawEmail(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, err := h.mail.Ingest(r.Context(), raw, SourceSendGrid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"message_id": in.MessageID, "workflow_id": in.WorkflowID, "duplicate": in.Duplicate})
}

// rawEmail reads the "email" field of the multipart post, refusing one
// over the size limit before reading it all.
func (h *MailInHandler) rawEmail(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, apperr.New(apperr.UnsupportedType, "Inbound Parse posts multipart/form-data")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "malformed multipart body")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, apperr.WithFields(apperr.Unprocessable, "the post has no raw message",
				apperr.FieldError{Field: "email", Message: "is required: turn on \"POST the raw, full MIME message\""})
		}
		if err != nil {
			return nil, tooLargeOr(err, h.mail, apperr.New(apperr.Invalid, "malformed multipart body"))
		}
		if p.FormName() != "email" {
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(p, h.mail.MaxBytes()+1))
		if err != nil {
			return nil, tooLargeOr(err, h.mail, apperr.New(apperr.Invalid, "malformed multipart body"))
		}
		if int64(len(raw)) > h.mail.MaxBytes() {
			logging.FromContext(r.Context(), h.log).Warn("inbound e-mail refused: too large", "source", SourceSendGrid, "max", h.mail.MaxBytes())
			return nil, h.mail.errTooLarge(int64(len(raw)))
		}
		return raw, nil
	}
}

// tooLargeOr returns a TooLarge error when err is the body limit's, else
// fallback.
func tooLargeOr(err error, m *MailIn, fallback error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apperr.New(apperr.TooLarge, "the post is larger than the %d bytes of a message allow", m.MaxBytes())
	}
	return fallback
}

func (h *MailInHandler) listAddresses(w http.ResponseWriter, r *http.Request) {
	list, err := listInboundAddresses(r.Context(), h.mail.pool)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if list == nil {
		list = []InboundAddress{}
	}
	httpx.JSON(w, http.StatusOK, httpx.List[InboundAddress]{Items: list})
}

// addressParam returns the {address} of the path, lower case: "*" or an
// e-mail address. The router matches the escaped path when it has escapes
// (a client's encodeURIComponent sends "@" as %40), so it is unescaped here.
func addressParam(r *http.Request) (string, error) {
	invalid := apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
		apperr.FieldError{Field: "address", Message: "must be an e-mail address or *"})
	a, err := url.PathUnescape(chi.URLParam(r, "address"))
	if err != nil {
		return "", invalid
	}
	a = strings.ToLower(strings.TrimSpace(a))
	if a == "*" {
		return a, nil
	}
	p, err := netmail.ParseAddress(a)
	if err != nil || p.Address != a || len(a) > 254 {
		return "", invalid
	}
	return a, nil
}

func (h *MailInHandler) putAddress(w http.ResponseWriter, r *http.Request) {
	address, err := addressParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in struct {
		CategoryID string `json:"category_id"`
	}
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if !validID(in.CategoryID) {
		h.fail(w, r, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
			apperr.FieldError{Field: "category_id", Message: "must be a UUID"}))
		return
	}
	a, err := putInboundAddress(r.Context(), h.mail.pool, address, in.CategoryID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, a)
}

func (h *MailInHandler) deleteAddress(w http.ResponseWriter, r *http.Request) {
	address, err := addressParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	found, err := deleteInboundAddress(r.Context(), h.mail.pool, address)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.fail(w, r, apperr.New(apperr.NotFound, "no mapping for this address"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *MailInHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, h.log, err)
}
