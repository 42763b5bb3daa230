package messaging

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// Prefix is where the messaging API lives, behind the gateway and in
// `ticketflow dev`.
const Prefix = "/messaging"

// multipartOverhead is what an upload's body may hold beyond the file:
// part headers, boundaries, small fields.
const multipartOverhead = 64 << 10

// Handler serves the messaging API and its WebSocket.
type Handler struct {
	svc      *Service
	verifier *authn.Verifier
	cursors  *cursor.Codec
	log      *slog.Logger
	origins  map[string]bool
	upgrader websocket.Upgrader
}

// NewHandler returns the HTTP handler of svc; cursors signs the list
// cursors and must share its secret with every replica.
func NewHandler(svc *Service, verifier *authn.Verifier, cursors *cursor.Codec, log *slog.Logger) *Handler {
	h := &Handler{svc: svc, verifier: verifier, cursors: cursors, log: log, origins: map[string]bool{}}
	for _, o := range svc.cfg.AllowedOrigins {
		if n, ok := normalizeOrigin(o); ok {
			h.origins[n] = true
		}
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Small read buffers and pooled write buffers: an idle connection
		// holds no write buffer at all, which is most of what 5,000 idle
		// connections would otherwise cost.
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(r *http.Request) bool { return h.originAllowed(r.Header.Get("Origin")) },
		Error:           h.upgradeError,
	}
	return h
}

// Routes returns the messaging API, to be mounted at Prefix.
//
//	GET    /tickets/{id}/comments      requester (public only), agent, admin; ?limit=&cursor=
//	POST   /tickets/{id}/comments      requester (public only), agent, admin
//	PATCH  /comments/{id}              the author, within the edit window
//	DELETE /comments/{id}              the author, within the edit window
//	POST   /tickets/{id}/attachments   requester, agent, admin; multipart field "file"
//	GET    /tickets/{id}/attachments   requester, agent, admin; ?limit=&cursor=
//	GET    /attachments/{id}           requester, agent, admin of its ticket
//	POST   /ws-tickets                 signed in: a one-time ticket for the WebSocket
//	GET    /ws?ticket=                 the WebSocket
//	POST   /internal/tickets/{id}/comments     service: mail-in, a reply by e-mail (idempotent by id)
//	POST   /internal/tickets/{id}/attachments  service: mail-in, a file of an e-mail; ?id=&uploader_id=&uploader_role=
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	// The WebSocket is authenticated by its one-time ticket: browsers
	// cannot send an Authorization header on it.
	r.Get("/ws", h.serveWS)
	// A group, not r.Use, so that unknown paths answer 404 without a token.
	r.Group(func(r chi.Router) {
		r.Use(h.verifier.Middleware(h.log))
		r.Use(authn.RequireRole(h.log, authn.RoleEmployee, authn.RoleAgent, authn.RoleAdmin))
		r.Get("/tickets/{id}/comments", h.listComments)
		r.Group(func(r chi.Router) {
			r.Use(httpx.LimitBody(maxCommentRequestSize))
			r.Post("/tickets/{id}/comments", h.createComment)
			r.Patch("/comments/{id}", h.editComment)
		})
		r.Delete("/comments/{id}", h.deleteComment)
		r.With(httpx.WithBodyLimit(h.svc.cfg.MaxAttachmentBytes+multipartOverhead)).
			Post("/tickets/{id}/attachments", h.uploadAttachment)
		r.Get("/tickets/{id}/attachments", h.listAttachments)
		r.Get("/attachments/{id}", h.downloadAttachment)
		r.Post("/ws-tickets", h.issueWSTicket)
	})
	// Only services: mail-in adds replies and files of e-mails for their
	// senders, whose access is checked like a caller's.
	r.Group(func(r chi.Router) {
		r.Use(h.verifier.Middleware(h.log))
		r.Use(authn.RequireRole(h.log, authn.RoleService))
		r.With(httpx.LimitBody(maxCommentRequestSize)).Post("/internal/tickets/{id}/comments", h.postMailComment)
		r.With(httpx.WithBodyLimit(h.svc.cfg.MaxAttachmentBytes+multipartOverhead)).
			Post("/internal/tickets/{id}/attachments", h.postMailAttachment)
	})
	return r
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, h.log, err)
}

// page reads ?limit= and ?cursor=.
func (h *Handler) page(q url.Values) (Page, error) {
	var p Page
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Page{}, apperr.WithFields(apperr.Invalid, "invalid query",
				apperr.FieldError{Field: "limit", Message: "must be a positive number"})
		}
		p.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		var pos Position
		if err := h.cursors.Decode(v, &pos); err != nil {
			return Page{}, err
		}
		p.After = &pos
	}
	return p, nil
}

// writeList writes a page as {items, next_cursor}.
func writeList[T any](w http.ResponseWriter, h *Handler, items []T, next *Position) {
	list := httpx.List[T]{Items: items}
	if list.Items == nil {
		list.Items = []T{}
	}
	if next != nil {
		list.NextCursor = h.cursors.Encode(next)
	}
	httpx.JSON(w, http.StatusOK, list)
}

// originAllowed reports whether a WebSocket may be opened from origin.
// Only browsers send Origin, and only browsers carry a user's credentials
// to a site they did not choose; a request without one is not a
// cross-site attack.
func (h *Handler) originAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	n, ok := normalizeOrigin(origin)
	return ok && h.origins[n]
}

// normalizeOrigin returns scheme://host[:port] in lower case, without the
// default port, or false for anything else ("null", paths, no host).
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, true
}
