package helpdesk

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// Prefix is where the helpdesk API lives, behind the gateway and in
// `ticketflow dev`.
const Prefix = "/helpdesk"

// InternalPrefix, under Prefix, holds the routes only services may call.
const InternalPrefix = "/internal"

// Handler serves the helpdesk API.
type Handler struct {
	svc      *Service
	verifier *authn.Verifier
	cursors  *cursor.Codec
	log      *slog.Logger
}

// NewHandler returns the HTTP handler of svc; cursors signs the list
// cursors and must share its secret with every replica.
func NewHandler(svc *Service, verifier *authn.Verifier, cursors *cursor.Codec, log *slog.Logger) *Handler {
	return &Handler{svc: svc, verifier: verifier, cursors: cursors, log: log}
}

// Routes returns the helpdesk API, to be mounted at Prefix. Every route
// needs a valid access token.
//
//	GET   /categories              signed in (admins: ?all=true for inactive ones)
//	GET   /categories/{id}         signed in
//	POST  /categories              admin
//	PATCH /categories/{id}         admin (active: false archives it)
//	DELETE /categories/{id}        admin: only a category no ticket uses, else 409
//	POST  /tickets                 employee, agent, admin
//	GET   /tickets                 signed in; employees see their own tickets
//	GET   /tickets/{id}            requester, agent, admin, service
//	GET   /tickets/{id}/history    requester, agent, admin, service
//	PATCH /tickets/{id}            requester (title, description), agent and admin (priority, category_id)
//	GET   /internal/tickets/{id}          service
//	GET   /internal/tickets/{id}/access   service: ?user_id=&role=
//	PUT   /internal/tickets/{id}/state    service: the workflow engine
//	POST  /internal/tickets/{id}/survey   service: the workflow engine asks for a rating
//	GET   /tickets/{id}/survey, POST same, GET /surveys/report, POST /surveys/rate (no token): see surveys_http.go
//	POST  /internal/mail-tickets          service: mail-in opens the ticket of an e-mail (idempotent by id)
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	// Groups, not r.Use, so that unknown paths answer 404 without a token.
	r.Group(func(r chi.Router) {
		r.Use(h.verifier.Middleware(h.log))
		h.categoryRoutes(r)
		h.ticketRoutes(r)
		h.surveyRoutes(r)
		r.Route(InternalPrefix, func(r chi.Router) {
			r.Use(authn.RequireRole(h.log, authn.RoleService))
			r.Get("/tickets/{id}", h.getTicket)
			r.Get("/tickets/{id}/access", h.ticketAccess)
			r.Put("/tickets/{id}/state", h.putTicketState)
			r.Post("/tickets/{id}/survey", h.requestSurvey)
			r.With(httpx.LimitBody(maxTicketRequestSize)).Post("/mail-tickets", h.postMailTicket)
		})
	})
	// A survey link works without signing in: its token is the credential.
	h.publicSurveyRoutes(r)
	return r
}

func (h *Handler) categoryRoutes(r chi.Router) {
	r.Get("/categories", h.listCategories)
	r.Get("/categories/{id}", h.getCategory)
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleAdmin))
		r.Post("/categories", h.createCategory)
		r.Patch("/categories/{id}", h.patchCategory)
		r.Delete("/categories/{id}", h.deleteCategory)
	})
}

func (h *Handler) ticketRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		// Services read tickets here too; they write only through the
		// internal state route.
		r.Use(authn.RequireRole(h.log, authn.RoleEmployee, authn.RoleAgent, authn.RoleAdmin, authn.RoleService))
		r.Get("/tickets", h.listTickets)
		r.Get("/tickets/{id}", h.getTicket)
		r.Get("/tickets/{id}/history", h.ticketHistory)
	})
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleEmployee, authn.RoleAgent, authn.RoleAdmin))
		// Room for a 64 KiB description even if every character of it is
		// JSON-escaped; the description's own limit is checked after decoding.
		r.Use(httpx.LimitBody(maxTicketRequestSize))
		r.Post("/tickets", h.createTicket)
		r.Patch("/tickets/{id}", h.patchTicket)
	})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, h.log, err)
}
