package notification

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// Prefix is where the notification API lives, behind the gateway and in
// `ticketflow dev`.
const Prefix = "/notifications"

// Handler serves the notification API.
type Handler struct {
	svc      *Service
	verifier *authn.Verifier
	cursors  *cursor.Codec
	log      *slog.Logger
	// mailIn, when set (WithMailIn), adds mail-in's routes under /inbound.
	mailIn *MailInHandler
}

// NewHandler returns the HTTP handler of svc; cursors signs the list
// cursors and must share its secret with every replica.
func NewHandler(svc *Service, verifier *authn.Verifier, cursors *cursor.Codec, log *slog.Logger) *Handler {
	return &Handler{svc: svc, verifier: verifier, cursors: cursors, log: log}
}

// Routes returns the notification API, to be mounted at Prefix. Every
// route needs a person's access token and concerns only the caller's own
// notifications.
//
//	GET  /                  ?unread=true&limit=&cursor=  {items,next_cursor,unread_count}
//	POST /{id}/read         the notification, marked read; 404 for another's
//	POST /read-all          204
//	GET  /preferences       {email:{<kind>:bool}}
//	PUT  /preferences       {email:{<kind>:bool}}: the kinds named change
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	if h.mailIn != nil {
		h.mailIn.mount(r)
	}
	// A group, not r.Use, so that unknown paths answer 404 without a token.
	r.Group(func(r chi.Router) {
		r.Use(h.verifier.Middleware(h.log))
		r.Use(authn.RequireRole(h.log, authn.RoleEmployee, authn.RoleAgent, authn.RoleAdmin))
		r.Get("/", h.list)
		r.Post("/read-all", h.readAll)
		r.Post("/{id}/read", h.read)
		r.Get("/preferences", h.preferences)
		r.Put("/preferences", h.setPreferences)
	})
	return r
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, h.log, err)
}
